package syntax

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// loss lowers "loss mse(y, target[N], reduction=mean)", PyTorch's
// MSELoss(reduction=...)(y, target). target[N] declares the target input,
// which only the loss phase reads.
func (l *lowerer) loss(s lossStmt) {
	c := s.call
	if !l.once(s.keyword) {
		l.poisonDeclarations(c)
		return
	}
	op, ok := losses[c.fn.text]
	if !ok {
		l.unknown("loss", c.fn, slices.Sorted(maps.Keys(losses)))
		l.poisonDeclarations(c)
		return
	}
	args, ok := l.positional(c, 2, 2, c.fn.text+"(y, target[N])")
	keywords, keywordsOK := l.keywords(c, "reduction")
	if !ok || !keywordsOK {
		l.poisonDeclarations(c)
		return
	}
	reduction, reductionOK := "mean", true
	if a, ok := keywords["reduction"]; ok {
		reduction, reductionOK = l.choice(a, "mean", "sum")
	}
	y, yOK := l.valueArg(args[0], c.fn.text+"'s output")
	target := args[1]
	if !target.declares() {
		l.errorf(target.value.pos, "%s's target must be declared with its size, like target[3], found %s", c.fn.text, target)
		l.poisonDeclarations(c)
		return
	}
	n, nOK := l.size(target.size, "the size of "+target.value.text)
	shape := ir.Shape{l.g.Batch, n}
	if yOK && nOK && y.Shape[1] != n {
		l.errorf(target.size.pos, "loss: output %s has %d features but target has %d", args[0].value.text, y.Shape[1], n)
		yOK = false
	}
	if !reductionOK || !yOK || !nOK || !l.fits(target.value, target.value.text, shape) {
		l.poison(target.value)
		return
	}
	t := l.g.Leaf(ir.OpInput, target.value.text, shape, ir.Attrs{})
	t.Pos, t.Phase = target.value.pos, ir.Loss
	l.define(target.value, t)
	v, err := l.g.Add(op, ir.Attrs{Reduction: reduction}, y, t)
	if err != nil {
		l.errorf(s.keyword.pos, "loss: %v", err)
		return
	}
	v.Name, v.Pos, v.Phase = "loss", s.keyword.pos, ir.Loss
	l.g.Loss = v
}

func (l *lowerer) poisonDeclarations(c call) {
	for _, a := range c.args {
		if a.declares() {
			l.poison(a.value)
		}
	}
}

// optimizer lowers "optimizer sgd(lr=0.3)", PyTorch's SGD(params, lr=0.3);
// the ir package knows each optimizer's settings and their defaults.
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
	for i, setting := range settings {
		names[i] = setting.Name
	}
	_, ok = l.positional(c, 0, 0, c.fn.text+"("+strings.Join(names, "=..., ")+"=...)")
	keywords, keywordsOK := l.keywords(c, names...)
	if !ok || !keywordsOK {
		return
	}
	given := map[string]float64{}
	for key, a := range keywords {
		if a.value.kind != number {
			l.errorf(a.value.pos, "%s must be a number, found %s", key, a.value)
			ok = false
			continue
		}
		given[key], _ = strconv.ParseFloat(a.value.text, 64) // the scanner checked it
	}
	if !ok {
		return
	}
	opt, errs := ir.NewOptimizer(c.fn.text, given, s.keyword.pos)
	for _, err := range errs {
		l.errorf(settingPos(err.Error(), c, s.keyword.pos), "%v", err)
	}
	l.g.Optimizer = opt
}

// settingPos finds the keyword argument that an ir.NewOptimizer error is
// about. Its messages name the setting, quoted when it is unknown, bare
// otherwise; an error about a missing setting falls back to the statement.
func settingPos(msg string, c call, fallback ir.Pos) ir.Pos {
	for _, a := range c.args {
		if strings.Contains(msg, strconv.Quote(a.key.text)) {
			return a.key.pos
		}
	}
	for _, a := range c.args {
		if a.key.text != c.fn.text && containsWord(msg, a.key.text) {
			return a.key.pos
		}
	}
	return fallback
}

// containsWord reports whether word occurs in s but not inside a longer name.
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !isNameByte(s[start-1])) && (end == len(s) || !isNameByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isNameByte(c byte) bool { return isLetter(c) || isDigit(c) }
