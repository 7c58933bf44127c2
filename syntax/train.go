package syntax

import (
	"maps"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// loss lowers "loss mse(y, target[N], reduction=mean)", PyTorch's
// MSELoss(reduction=...)(y, target), and the other losses alike; or a sum
// of losses, each maybe scaled by a number: mse(a, t) + 0.5 * l1(b, u).
// Each target is a new input, which only the loss phase reads, or one of
// the network's inputs (an autoencoder's mse(recon, x)).
func (l *lowerer) loss(s lossStmt) {
	if !l.once(s.keyword) {
		l.poisonDeclarations(s.value)
		return
	}
	v := l.lossExpr(s.value, s.keyword)
	if v == nil {
		return
	}
	v.Name, v.Pos, v.Phase = "loss", s.keyword.pos, ir.Loss
	l.g.Loss = v
}

// lossExpr lowers a loss statement's expression.
func (l *lowerer) lossExpr(e expr, keyword token) *ir.Value {
	switch e := e.(type) {
	case callExpr:
		return l.lossCall(e.call, keyword)
	case binaryExpr:
		switch {
		case e.op.text == "+":
			x, y := l.lossExpr(e.x, keyword), l.lossExpr(e.y, keyword)
			if x == nil || y == nil {
				return nil
			}
			return l.add(token{pos: e.op.pos}, ir.OpAdd, ir.Attrs{}, x, y)
		case e.op.text == "*":
			scale, term := e.x, e.y
			if _, ok := scale.(numberExpr); !ok {
				scale, term = term, scale
			}
			if n, ok := scale.(numberExpr); ok {
				f, fOK := l.number(arg{value: n.tok}, "the loss's scale")
				x := l.lossExpr(term, keyword)
				if !fOK || x == nil {
					return nil
				}
				return l.add(token{pos: e.op.pos}, ir.OpMul, ir.Attrs{}, x, l.constant(f, n.tok.pos))
			}
		}
	}
	l.poisonDeclarations(e)
	l.errorf(e.start().pos, "a loss is a loss function's call, like mse(y, target), or a sum of them each maybe scaled by a number, like mse(a, t) + 0.5 * mse(b, u)")
	return nil
}

// lossCall lowers one loss function's call.
func (l *lowerer) lossCall(c call, keyword token) *ir.Value {
	op, ok := losses[c.fn.text]
	if !ok {
		l.unknown("loss", c.fn, slices.Sorted(maps.Keys(losses)))
		l.poisonCall(c)
		return nil
	}
	usage, output := c.fn.text+"(y, target) or "+c.fn.text+"(y, target[N])", c.fn.text+"'s output"
	switch op {
	case ir.OpCrossEntropy:
		usage, output = "cross_entropy(logits, label)", "cross_entropy's logits"
	case ir.OpNLL:
		usage, output = "nll_loss(logp, label)", "nll_loss's log-probabilities"
	}
	args, ok := l.positional(c, 2, 2, usage)
	keywords, keywordsOK := l.keywords(c, lossKeywords(op)...)
	if !ok || !keywordsOK {
		l.poisonCall(c)
		return nil
	}
	attrs, reductionOK := l.lossAttrs(op, keywords)
	y, yOK := l.valueArg(args[0], output)
	if a, given := keywords["weight"]; given && yOK && attrs.Weight != nil && len(y.Shape) == 2 && len(attrs.Weight) != y.Shape[1] {
		l.errorf(a.value.pos, "%s's weight has %d numbers, one per class, but %s has %d classes", c.fn.text, len(attrs.Weight), args[0].value.text, y.Shape[1])
		reductionOK = false
	}
	t := l.target(op, c.fn.text, args[1], args[0].value.text, y, yOK && reductionOK)
	if t == nil || !yOK || !reductionOK {
		return nil
	}
	if op == ir.OpSmoothL1 && attrs.Delta == 0 {
		op = ir.OpL1 // beta=0: PyTorch's smooth_l1_loss is l1_loss
	}
	v, err := l.g.Add(op, attrs, y, t)
	if err != nil {
		l.errorf(keyword.pos, "loss: %v", err)
		return nil
	}
	v.Pos, v.Phase = c.fn.pos, ir.Loss
	return v
}

// lossKeywords are the keyword arguments of the loss op, PyTorch's names.
func lossKeywords(op ir.Op) []string {
	switch op {
	case ir.OpCrossEntropy:
		return []string{"reduction", "weight", "ignore_index", "label_smoothing"}
	case ir.OpNLL:
		return []string{"reduction", "weight", "ignore_index"}
	case ir.OpSmoothL1:
		return []string{"reduction", "beta"}
	case ir.OpHuber:
		return []string{"reduction", "delta"}
	}
	return []string{"reduction"}
}

// lossAttrs reads a loss's keyword arguments with PyTorch's defaults:
// reduction mean; for the losses of class indices ignore_index=-100, no
// weights (weight=(1, 2, 0.5) gives one per class) and no label smoothing;
// beta and delta 1. ok is false after an error.
func (l *lowerer) lossAttrs(op ir.Op, keywords map[string]arg) (attrs ir.Attrs, ok bool) {
	attrs.Reduction, ok = ir.ReduceMean, true
	if a, given := keywords["reduction"]; given {
		attrs.Reduction, ok = l.reduction(a)
	}
	if op == ir.OpCrossEntropy || op == ir.OpNLL {
		attrs.Ignores, attrs.IgnoreIndex = true, -100
	}
	if a, given := keywords["ignore_index"]; given {
		n, nOK := l.intArg(a, "ignore_index")
		attrs.IgnoreIndex, ok = n, ok && nOK
	}
	if a, given := keywords["weight"]; given {
		switch {
		case !a.isTuple():
			l.errorf(a.value.pos, "weight takes a number per class, like (1, 2, 0.5); found %s", a)
			ok = false
		default:
			for _, t := range a.tuple {
				w, wOK := l.number(arg{value: t}, "weight")
				attrs.Weight, ok = append(attrs.Weight, w), ok && wOK
			}
		}
	}
	if a, given := keywords["label_smoothing"]; given {
		eps, epsOK := l.number(a, "label_smoothing")
		if epsOK && !(eps >= 0 && eps <= 1) {
			l.errorf(a.value.pos, "label_smoothing must be between 0 and 1, found %s", a)
			epsOK = false
		}
		attrs.LabelSmoothing, ok = eps, ok && epsOK
	}
	for _, key := range []string{"beta", "delta"} {
		if !slices.Contains(lossKeywords(op), key) {
			continue
		}
		attrs.Delta = 1
		a, given := keywords[key]
		if !given {
			continue
		}
		d, dOK := l.number(a, key)
		switch {
		case dOK && key == "beta" && d < 0:
			l.errorf(a.value.pos, "beta must not be negative, found %s", a)
			dOK = false
		case dOK && key == "delta" && !(d > 0):
			l.errorf(a.value.pos, "delta must be positive, found %s", a)
			dOK = false
		}
		attrs.Delta, ok = d, ok && dOK
	}
	return attrs, ok
}

// target declares a loss's target input: [batch, N] like the output y
// (named yName in the source), its size written as target[N] or taken from
// y; for cross_entropy, one class index per sample, [batch] of ir.Int. It
// returns nil, with the name poisoned, when it cannot, or when ok says the
// statement failed already.
func (l *lowerer) target(op ir.Op, fn string, a arg, yName string, y *ir.Value, ok bool) *ir.Value {
	name := a.value
	if name.kind != identifier {
		l.errorf(name.pos, "%s's target must be a new name, like target or target[3], found %s", fn, a)
		return nil
	}
	if b, taken := l.names[name.text]; taken {
		if in := b.value; in != nil && in.Op == ir.OpInput && in.Phase == ir.Forward && !a.declares() && !ir.ClassLoss(op) {
			if y != nil && !slices.Equal(y.Shape, in.Shape) {
				l.errorf(name.pos, "%s: output %s has shape %v but its target %s has %v", fn, yName, l.sampleShape(y.Shape), name.text, l.sampleShape(in.Shape))
				return nil
			}
			return in // an input the network reads is the target too
		}
		l.errorf(name.pos, "%s's target must be a new name: the loss declares it as an input, but %s is defined at %s", fn, name.text, b.pos)
		return nil
	}
	var shape ir.Shape
	switch {
	case ir.ClassLoss(op) && a.declares():
		l.errorf(name.pos, "%s's target holds class indices, one per row of the output: write %s without a size", fn, name.text)
		ok = false
	case ir.ClassLoss(op) && y != nil && len(y.Shape) > 2:
		shape = slices.Clone(y.Shape[:len(y.Shape)-1]) // a class index per position: [batch, seq]
	case ir.ClassLoss(op):
		shape = ir.Shape{l.g.Batch}
	case a.declares():
		var nOK bool
		shape, nOK = l.shape(a.sizes, name.text)
		if y != nil && nOK && !slices.Equal(y.Shape, shape) {
			if len(y.Shape) == 2 && len(shape) == 2 {
				l.errorf(a.size.pos, "loss: output %s has %d features but target has %d", yName, y.Shape[1], shape[1])
			} else {
				l.errorf(a.size.pos, "loss: output %s has shape %v but target has %v", yName, l.sampleShape(y.Shape), l.sampleShape(shape))
			}
			nOK = false
		}
		ok = ok && nOK && y != nil && l.fits(name, name.text, shape)
	default:
		ok = ok && y != nil
		if ok {
			shape = slices.Clone(y.Shape)
		}
	}
	if !ok {
		l.poison(name)
		return nil
	}
	t := l.g.Leaf(ir.OpInput, name.text, shape, ir.Attrs{})
	if ir.ClassLoss(op) {
		t.DType = ir.Int
	}
	t.Pos, t.Phase = name.pos, ir.Loss
	l.define(name, t)
	return t
}

// lossDeclarations are the names a loss statement declares: each loss's
// target, bare or with a size, and any other NAME[N] written by mistake.
func lossDeclarations(e expr) []token {
	var names []token
	walkCalls(e, func(c call) {
		positional := 0
		for _, a := range c.args {
			if a.isKeyword() {
				continue
			}
			positional++
			if a.declares() || positional == 2 && a.value.kind == identifier && a.expr == nil {
				names = append(names, a.value)
			}
		}
	})
	return names
}

// walkCalls calls f with every call in e, outermost first.
func walkCalls(e expr, f func(call)) {
	switch e := e.(type) {
	case callExpr:
		f(e.call)
		for _, a := range e.args {
			if a.expr != nil {
				walkCalls(a.expr, f)
			}
		}
	case binaryExpr:
		walkCalls(e.x, f)
		walkCalls(e.y, f)
	case negExpr:
		walkCalls(e.x, f)
	}
}

func (l *lowerer) poisonDeclarations(e expr) {
	for _, t := range lossDeclarations(e) {
		if _, taken := l.names[t.text]; !taken {
			l.poison(t)
		}
	}
}

func (l *lowerer) poisonCall(c call) { l.poisonDeclarations(callExpr{c}) }

// optimizer lowers "optimizer sgd(lr=0.3)", PyTorch's SGD(params, lr=0.3).
// The ir package knows each optimizer's settings, their kinds, defaults and
// ranges; this checks that each value is of its setting's kind, so that
// the error can point at the value.
func (l *lowerer) optimizer(s optimizerStmt) {
	c := s.call
	if !l.once(s.keyword) {
		return
	}
	settings, ok := ir.OptimizerSettings[c.fn.text]
	if !ok {
		l.unknown("optimizer", c.fn, slices.Sorted(maps.Keys(ir.OptimizerSettings)))
		return
	}
	names := make([]string, len(settings))
	example := settings[0].Name // the usage shows the required settings, or the first
	for i, setting := range settings {
		names[i] = setting.Name
		if setting.Required {
			example = setting.Name
		}
	}
	_, ok = l.positional(c, 0, 0, c.fn.text+"("+example+"=...)")
	keywords, keywordsOK := l.keywords(c, names...)
	if !ok || !keywordsOK {
		return
	}
	given := map[string][]float64{}
	for _, setting := range settings {
		if a, found := keywords[setting.Name]; found {
			values, valueOK := l.setting(setting, a)
			given[setting.Name] = values
			ok = ok && valueOK
		}
	}
	if !ok {
		return
	}
	opt, errs := ir.NewOptimizer(c.fn.text, given, s.keyword.pos)
	errs = append(errs, opt.CheckFor(l.g.DType)...)
	for _, err := range errs {
		l.errorf(settingPos(err.Error(), c, settings, s.keyword.pos), "%v", err)
	}
	l.g.Optimizer = opt
}

// setting reads one optimizer setting's value as ir.NewOptimizer takes it:
// one number, 1 or 0 for a Bool, two numbers for a Pair.
func (l *lowerer) setting(s ir.Setting, a arg) ([]float64, bool) {
	switch s.Kind {
	case ir.Bool:
		b, ok := l.boolArg(a)
		if b {
			return []float64{1}, ok
		}
		return []float64{0}, ok
	case ir.Pair:
		if !a.isTuple() || len(a.tuple) != 2 {
			l.errorf(a.value.pos, "%s takes two numbers, like (0.9, 0.999); found %s", s.Name, a)
			return nil, false
		}
		first, firstOK := l.number(arg{value: a.tuple[0]}, s.Name)
		second, secondOK := l.number(arg{value: a.tuple[1]}, s.Name)
		return []float64{first, second}, firstOK && secondOK
	}
	n, ok := l.number(a, s.Name)
	return []float64{n}, ok
}

// settingPos finds the keyword argument that an ir.NewOptimizer error is
// about: the one whose setting the message names first, by its own name or
// by one of the names a Pair becomes (betas' beta1). An error about a
// missing setting falls back to the statement.
func settingPos(msg string, c call, settings []ir.Setting, fallback ir.Pos) ir.Pos {
	msg = strings.TrimPrefix(msg, c.fn.text) // the optimizer's name is no setting's
	pos, first := fallback, len(msg)
	for _, a := range c.args {
		i := slices.IndexFunc(settings, func(s ir.Setting) bool { return s.Name == a.key.text })
		if i < 0 {
			continue
		}
		for _, word := range append([]string{a.key.text}, settings[i].Names...) {
			if at := wordIndex(msg, word); at >= 0 && at < first {
				pos, first = a.key.pos, at
			}
		}
	}
	return pos
}

// wordIndex is where word first occurs in s, not inside a longer name, or -1.
func wordIndex(s, word string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return -1
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isNameByte(s[start-1])) && (end == len(s) || !isNameByte(s[end])) {
			return start
		}
		i = start + 1
	}
}

func isNameByte(c byte) bool { return isLetter(c) || isDigit(c) }
