package syntax

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// Expressions and the ops on tensors of any rank. A value's IR shape always
// starts with the batch axis (of 1 in a model without a batch line); sizes
// in the source are one sample's, and dims count axes as PyTorch does:
// from the batch axis in a batched model, from the sample's first axis
// otherwise.

// addTensorOps adds the ops on tensors of any rank to layerOps.
func addTensorOps() {
	for name, rule := range map[string]layerRule{
		"add":         binaryCall(ir.OpAdd),
		"sub":         binaryCall(ir.OpSub),
		"mul":         binaryCall(ir.OpMul),
		"div":         binaryCall(ir.OpDiv),
		"elu":         lowerELU,
		"pow":         lowerPow,
		"clamp":       lowerClamp,
		"log_softmax": lowerSoftmax,
		"sum":         lowerReduce(ir.OpSum),
		"mean":        lowerReduce(ir.OpMean),
		"max":         lowerReduce(ir.OpMax),
		"reshape":     lowerReshape,
		"flatten":     lowerFlatten,
		"squeeze":     lowerSqueeze,
		"unsqueeze":   lowerUnsqueeze,
		"transpose":   lowerTranspose,
		"permute":     lowerPermute,
		"cat":         lowerConcat,
		"concat":      lowerConcat,
		"slice":       lowerSlice,
		"matmul":      lowerMatMul,
	} {
		layerOps[name] = rule
	}
	// Every other unary function of the op table, by its name.
	for _, u := range ir.UnaryOps() {
		if _, ok := layerOps[string(u.Op)]; !ok {
			layerOps[string(u.Op)] = activation(u.Op)
		}
	}
}

// shape is the IR shape of a value declared with one sample's sizes.
func (l *lowerer) shape(sizes []token, what string) (ir.Shape, bool) {
	shape := ir.Shape{l.g.Batch}
	ok := true
	for _, t := range sizes {
		n, nOK := l.size(t, "the size of "+what)
		shape = append(shape, n)
		ok = ok && nOK
	}
	return shape, ok
}

// sampleShape is one sample's shape, for messages.
func (l *lowerer) sampleShape(s ir.Shape) ir.Shape {
	if len(s) == 0 {
		return s
	}
	return s[1:]
}

// constant is a scalar constant.
func (l *lowerer) constant(x float64, pos ir.Pos) *ir.Value {
	c := l.g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: x})
	c.Pos = pos
	return c
}

// declareParam lowers param NAME[N, ...] = ones|zeros|uniform: a
// parameter with the shape as written (no batch axis), named as in the
// state_dict. uniform draws it in ±1/√(its last size), as a layer would.
// buffer NAME[N, ...] = zeros|ones is a buffer of the state_dict (PyTorch's
// register_buffer): read like a parameter, never trained.
func (l *lowerer) declareParam(s paramStmt) *ir.Value {
	op, what := ir.OpParam, "a parameter starts as ones, zeros or uniform"
	if s.keyword.text == "buffer" {
		op, what = ir.OpBuffer, "a buffer starts as zeros or ones"
	}
	shape := ir.Shape{}
	ok := true
	for _, t := range s.sizes {
		n, nOK := l.size(t, "the size of "+s.name.text)
		shape = append(shape, n)
		ok = ok && nOK
	}
	attrs := ir.Attrs{}
	switch s.init.text {
	case "ones":
		attrs.Init = ir.InitOnes
	case "zeros":
		attrs.Init = ir.InitZeros
	case "uniform":
		if op == ir.OpBuffer {
			l.errorf(s.init.pos, "%s, found %s", what, s.init)
			ok = false
		} else if ok {
			attrs.FanIn = shape[len(shape)-1]
		}
	default:
		l.errorf(s.init.pos, "%s, found %s", what, s.init)
		ok = false
	}
	if !ok || !l.fits(s.name, s.name.text, shape) {
		return nil
	}
	p := l.g.Leaf(op, s.name.text, shape, attrs)
	p.Pos = s.name.pos
	return p
}

// assign lowers the right-hand side of NAME = EXPR.
func (l *lowerer) assign(name token, e expr) *ir.Value {
	if c, ok := e.(callExpr); ok {
		if cell, recurrent := recurrentOps[c.fn.text]; recurrent {
			results := map[ir.Cell]string{ir.GRU: "out, h", ir.LSTM: "out, h, c"}[cell]
			l.errorf(c.fn.pos, "%s returns the sequence output and the final states: name each, as in %s = %s(...)", c.fn.text, results, c.fn.text)
			return nil
		}
		if _, several := multiOps[c.fn.text]; several {
			l.errorf(c.fn.pos, "%s returns several tensors: name each, as in %s, %s_2 = %s(...)", c.fn.text, name.text, name.text, c.fn.text)
			return nil
		}
		rule, known := layerOps[c.fn.text]
		if !known {
			l.unknown("op", c.fn, sortedOps())
			return nil
		}
		return rule(l, name, c.call)
	}
	return l.expr(e)
}

func sortedOps() []string {
	var ops []string
	for name := range layerOps {
		ops = append(ops, name)
	}
	for name := range multiOps {
		ops = append(ops, name)
	}
	for name := range recurrentOps {
		ops = append(ops, name)
	}
	slices.Sort(ops)
	return ops
}

// expr lowers an expression inside a statement; its values are unnamed.
func (l *lowerer) expr(e expr) *ir.Value {
	switch e := e.(type) {
	case nameExpr:
		v, ok := l.valueArg(arg{value: e.tok}, "an operand")
		if !ok {
			return nil
		}
		return v
	case numberExpr:
		f, ok := l.number(arg{value: e.tok}, "the constant")
		if !ok {
			return nil
		}
		return l.constant(f, e.tok.pos)
	case negExpr:
		x := l.expr(e.x)
		if x == nil {
			return nil
		}
		return l.add(token{pos: e.op.pos}, ir.OpNeg, ir.Attrs{}, x)
	case binaryExpr:
		x, y := l.expr(e.x), l.expr(e.y)
		if x == nil || y == nil {
			return nil
		}
		op := map[string]ir.Op{"+": ir.OpAdd, "-": ir.OpSub, "*": ir.OpMul, "/": ir.OpDiv}[e.op.text]
		return l.add(token{pos: e.op.pos}, op, ir.Attrs{}, x, y)
	case callExpr:
		if e.fn.text == "linear" {
			l.errorf(e.fn.pos, "linear must be the whole right-hand side of an assignment, which names its parameters: h = linear(x, 8)")
			return nil
		}
		rule, known := layerOps[e.fn.text]
		if !known {
			l.unknown("op", e.fn, sortedOps())
			return nil
		}
		return rule(l, token{pos: e.fn.pos}, e.call)
	}
	return nil
}

// binaryCall lowers add(a, b) and the like, as a + b.
func binaryCall(op ir.Op) layerRule {
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 2, 2, string(op)+"(a, b)")
		if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
			return nil
		}
		a, aOK := l.operand(args[0])
		b, bOK := l.operand(args[1])
		if !aOK || !bOK {
			return nil
		}
		return l.add(name, op, ir.Attrs{}, a, b)
	}
}

// operand is a value or a number.
func (l *lowerer) operand(a arg) (*ir.Value, bool) {
	if a.value.kind == number && a.expr == nil && !a.declares() {
		f, ok := l.number(a, "the constant")
		return l.constant(f, a.value.pos), ok
	}
	return l.valueArg(a, "an operand")
}

// intArg reads an integer argument.
func (l *lowerer) intArg(a arg, what string) (int, bool) {
	n, err := strconv.Atoi(a.value.text)
	if a.value.kind != number || a.expr != nil || a.declares() || err != nil {
		l.errorf(a.value.pos, "%s must be an integer, found %s", what, a)
		return 0, false
	}
	return n, true
}

// axis converts a dim as PyTorch counts it into an axis of x's IR shape.
func (l *lowerer) axis(a arg, x *ir.Value, what string) (int, bool) {
	d, ok := l.intArg(a, what)
	if !ok {
		return 0, false
	}
	return l.axisOf(d, a.value.pos, len(x.Shape), what)
}

func (l *lowerer) axisOf(d int, pos ir.Pos, rank int, what string) (int, bool) {
	first, dims := 0, rank
	if l.g.Unbatched {
		first, dims = 1, rank-1
	}
	switch {
	case d < 0 && d >= -dims:
		return rank + d, true
	case d >= 0 && d < dims:
		return d + first, true
	}
	l.errorf(pos, "%s %d is out of range for a tensor of %d dimension%s (from %d to %d)", what, d, dims, plural(dims), -dims, dims-1)
	return 0, false
}

// lowerELU lowers elu(x) and elu(x, alpha=1.0), F.elu.
func lowerELU(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 2, "elu(x) or elu(x, alpha=1.0)")
	keywords, keywordsOK := l.keywords(c, "alpha")
	if !ok || !keywordsOK {
		return nil
	}
	alpha, alphaOK := 1.0, true
	if a, given, argOK := l.optionalArg(c, args, 1, keywords, "alpha"); !argOK {
		alphaOK = false
	} else if given {
		alpha, alphaOK = l.number(a, "alpha")
	}
	x, xOK := l.valueArg(args[0], "elu's input")
	if !alphaOK || !xOK {
		return nil
	}
	return l.add(name, ir.OpELU, ir.Attrs{Alpha: alpha}, x)
}

// lowerPow lowers pow(x, 2.0), torch.pow with a constant exponent.
func lowerPow(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 2, "pow(x, exponent)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	p, pOK := l.number(args[1], "pow's exponent")
	x, xOK := l.valueArg(args[0], "pow's input")
	if !pOK || !xOK {
		return nil
	}
	return l.add(name, ir.OpPow, ir.Attrs{Exponent: p}, x)
}

// lowerClamp lowers clamp(x, min=a, max=b), torch.clamp; either bound may
// be left out.
func lowerClamp(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 3, "clamp(x, min=-1, max=1)")
	keywords, keywordsOK := l.keywords(c, "min", "max")
	if !ok || !keywordsOK {
		return nil
	}
	bounds := []float64{-inf, inf}
	for i, key := range []string{"min", "max"} {
		a, given, argOK := l.optionalArg(c, args, 1+i, keywords, key)
		if !argOK {
			return nil
		}
		if given {
			var bOK bool
			if bounds[i], bOK = l.number(a, key); !bOK {
				return nil
			}
		}
	}
	if bounds[0] == -inf && bounds[1] == inf {
		l.errorf(c.fn.pos, "clamp needs min, max or both")
		return nil
	}
	x, xOK := l.valueArg(args[0], "clamp's input")
	if !xOK {
		return nil
	}
	return l.add(name, ir.OpClamp, ir.Attrs{Min: bounds[0], Max: bounds[1]}, x)
}

// dims reads a dim argument: one integer, or a tuple of them.
func (l *lowerer) dims(a arg, x *ir.Value, what string) ([]int, bool) {
	toks := []token{a.value}
	if a.isTuple() {
		toks = a.tuple
	}
	var axes []int
	for _, t := range toks {
		ax, ok := l.axis(arg{value: t}, x, what)
		if !ok {
			return nil, false
		}
		if slices.Contains(axes, ax) {
			l.errorf(t.pos, "%s %s is given twice", what, t.text)
			return nil, false
		}
		axes = append(axes, ax)
	}
	slices.Sort(axes)
	return axes, true
}

// lowerReduce lowers sum(x, dim=1, keepdim=false) and mean and max alike;
// without dim, over every axis.
func lowerReduce(op ir.Op) layerRule {
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 1, 2, string(op)+"(x, dim=1, keepdim=false)")
		keywords, keywordsOK := l.keywords(c, "dim", "keepdim")
		if !ok || !keywordsOK {
			return nil
		}
		x, xOK := l.valueArg(args[0], string(op)+"'s input")
		if !xOK {
			return nil
		}
		keep := false
		if a, given := keywords["keepdim"]; given {
			if keep, ok = l.boolArg(a); !ok {
				return nil
			}
		}
		var axes []int
		a, given, argOK := l.optionalArg(c, args, 1, keywords, "dim")
		switch {
		case !argOK:
			return nil
		case given:
			if axes, ok = l.dims(a, x, "dim"); !ok {
				return nil
			}
		default:
			for ax := range x.Shape {
				axes = append(axes, ax)
			}
		}
		return l.add(name, op, ir.Attrs{Axes: axes, KeepDims: keep}, x)
	}
}

// reshapeTo reshapes x to one sample's shape, the batch axis kept.
func (l *lowerer) reshapeTo(name token, x *ir.Value, sample []int) *ir.Value {
	to := append(ir.Shape{x.Shape[0]}, sample...)
	if len(to) == len(x.Shape) && slices.Equal(to, x.Shape) {
		return x
	}
	return l.add(name, ir.OpReshape, ir.Attrs{To: to}, x)
}

// lowerReshape lowers reshape(x, 4, 8), one sample's new shape (one size
// may be -1), as x.reshape(batch, 4, 8).
func lowerReshape(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 64, "reshape(x, 4, 8)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "reshape's input")
	if !xOK {
		return nil
	}
	per := x.Shape[1:].Size()
	sample, free := []int{}, -1
	known := 1
	for _, a := range args[1:] {
		n, nOK := l.intArg(a, "a size")
		switch {
		case !nOK:
			return nil
		case n == -1 && free < 0:
			free = len(sample)
		case n < 1:
			l.errorf(a.value.pos, "a size must be at least 1, or -1 once, found %s", a)
			return nil
		default:
			known *= n
		}
		sample = append(sample, n)
	}
	if free >= 0 && per%known == 0 {
		sample[free] = per / known
		known = per
	}
	if known != per {
		l.errorf(c.fn.pos, "reshape: one sample of %s has %d elements, which do not make %v", args[0].value.text, per, sample)
		return nil
	}
	return l.reshapeTo(name, x, sample)
}

// lowerFlatten lowers flatten(x), torch.flatten(x, 1): each sample as one row.
func lowerFlatten(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 1, "flatten(x)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "flatten's input")
	if !xOK {
		return nil
	}
	return l.reshapeTo(name, x, []int{x.Shape[1:].Size()})
}

// lowerSqueeze lowers squeeze(x, dim), which drops an axis of size 1.
func lowerSqueeze(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 2, "squeeze(x, dim)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "squeeze's input")
	if !xOK {
		return nil
	}
	ax, axOK := l.axis(args[1], x, "dim")
	if !axOK {
		return nil
	}
	if ax == 0 {
		l.errorf(args[1].value.pos, "squeeze cannot drop the batch axis")
		return nil
	}
	if x.Shape[ax] != 1 {
		return x // PyTorch leaves an axis larger than 1
	}
	sample := slices.Delete(slices.Clone(x.Shape), ax, ax+1)[1:]
	return l.reshapeTo(name, x, sample)
}

// lowerUnsqueeze lowers unsqueeze(x, dim), which inserts an axis of 1.
func lowerUnsqueeze(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 2, "unsqueeze(x, dim)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "unsqueeze's input")
	if !xOK {
		return nil
	}
	d, dOK := l.intArg(args[1], "dim")
	if !dOK {
		return nil
	}
	ax, axOK := l.axisOf(d, args[1].value.pos, len(x.Shape)+1, "dim")
	if !axOK || ax == 0 {
		if axOK {
			l.errorf(args[1].value.pos, "unsqueeze cannot insert an axis before the batch axis")
		}
		return nil
	}
	sample := slices.Insert(slices.Clone(x.Shape), ax, 1)[1:]
	return l.reshapeTo(name, x, sample)
}

// permuteBy permutes x's axes; the batch axis must stay first.
func (l *lowerer) permuteBy(name token, x *ir.Value, perm []int, pos ir.Pos) *ir.Value {
	if perm[0] != 0 {
		l.errorf(pos, "the batch axis must stay first")
		return nil
	}
	identity := true
	for i, p := range perm {
		identity = identity && i == p
	}
	if identity {
		return x
	}
	return l.add(name, ir.OpPermute, ir.Attrs{Perm: perm}, x)
}

// lowerTranspose lowers transpose(x, dim0, dim1).
func lowerTranspose(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 3, 3, "transpose(x, dim0, dim1)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "transpose's input")
	if !xOK {
		return nil
	}
	a, aOK := l.axis(args[1], x, "dim0")
	b, bOK := l.axis(args[2], x, "dim1")
	if !aOK || !bOK {
		return nil
	}
	perm := make([]int, len(x.Shape))
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = b, a
	return l.permuteBy(name, x, perm, c.fn.pos)
}

// lowerPermute lowers permute(x, 0, 2, 1), every dim in its new order.
func lowerPermute(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 64, "permute(x, 0, 2, 1)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "permute's input")
	if !xOK {
		return nil
	}
	var perm []int
	if l.g.Unbatched {
		perm = []int{0}
	}
	for _, a := range args[1:] {
		ax, axOK := l.axis(a, x, "dim")
		if !axOK {
			return nil
		}
		perm = append(perm, ax)
	}
	if len(perm) != len(x.Shape) || !ir.IsPermutation(perm) {
		dims := len(x.Shape)
		if l.g.Unbatched {
			dims--
		}
		l.errorf(c.fn.pos, "permute needs each of the %d dims of %s once, as in permute(x, %s)", dims, args[0].value.text, identityDims(dims))
		return nil
	}
	return l.permuteBy(name, x, perm, c.fn.pos)
}

// identityDims writes 0, 1, ..., n-1.
func identityDims(n int) string {
	dims := make([]string, n)
	for i := range dims {
		dims[i] = strconv.Itoa(i)
	}
	return strings.Join(dims, ", ")
}

// lowerConcat lowers cat(a, b, ..., dim=1), torch.cat.
func lowerConcat(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 1<<16, "cat(a, b, dim=1)")
	keywords, keywordsOK := l.keywords(c, "dim")
	if !ok || !keywordsOK {
		return nil
	}
	var xs []*ir.Value
	for _, a := range args {
		x, xOK := l.valueArg(a, "cat's input")
		if !xOK {
			return nil
		}
		xs = append(xs, x)
	}
	ax := len(xs[0].Shape) - 1
	if a, given := keywords["dim"]; given {
		if ax, ok = l.axis(a, xs[0], "dim"); !ok {
			return nil
		}
	}
	return l.add(name, ir.OpConcat, ir.Attrs{Axis: ax}, xs...)
}

// lowerSlice lowers slice(x, dim=1, start=0, end=4), x[:, 0:4].
func lowerSlice(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 1, "slice(x, dim=1, start=0, end=4)")
	keywords, keywordsOK := l.keywords(c, "dim", "start", "end")
	if !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "slice's input")
	if !xOK {
		return nil
	}
	ax := len(x.Shape) - 1
	if a, given := keywords["dim"]; given {
		if ax, ok = l.axis(a, x, "dim"); !ok {
			return nil
		}
	}
	bounds := []int{0, x.Shape[ax]}
	for i, key := range []string{"start", "end"} {
		if a, given := keywords[key]; given {
			n, nOK := l.intArg(a, key)
			if !nOK {
				return nil
			}
			if n < 0 {
				n += x.Shape[ax]
			}
			bounds[i] = min(max(n, 0), x.Shape[ax]) // as Python's slices
		}
	}
	if bounds[1] <= bounds[0] {
		l.errorf(c.fn.pos, "slice of %s is empty: start %d, end %d", args[0].value.text, bounds[0], bounds[1])
		return nil
	}
	if bounds[0] == 0 && bounds[1] == x.Shape[ax] {
		return x
	}
	return l.add(name, ir.OpSlice, ir.Attrs{Axis: ax, Start: bounds[0], End: bounds[1]}, x)
}

// lowerMatMul lowers matmul(a, b), torch.matmul of two tensors of at least
// two dimensions, batched over the leading ones.
func lowerMatMul(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 2, "matmul(a, b)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	a, aOK := l.valueArg(args[0], "matmul's first input")
	b, bOK := l.valueArg(args[1], "matmul's second input")
	if !aOK || !bOK {
		return nil
	}
	return l.add(name, ir.OpMatMul, ir.Attrs{}, a, b)
}

// linearND lowers linear over the last axis of x, as nn.Linear does:
// x·wᵀ + b, the bias broadcast over the leading axes.
func (l *lowerer) linearND(name token, x, w, b *ir.Value) *ir.Value {
	v := l.add(token{pos: name.pos}, ir.OpMatMul, ir.Attrs{TransB: true}, x, w)
	if v == nil || b == nil {
		return v
	}
	return l.add(name, ir.OpAdd, ir.Attrs{}, v, b)
}

var inf = math.Inf(1)

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// multiOps are the ops that return several tensors, each named by the
// statement: a, b = split(x, 4, dim=1). A rule returns the sizes of the
// pieces along the axis, or nil after reporting an error.
var multiOps = map[string]func(l *lowerer, c call, x *ir.Value, ax int) []int{
	"split": splitSizes,
	"chunk": chunkSizes,
}

// assignMany lowers NAME, NAME, ... = split(...) or chunk(...): each
// piece is a slice of the input along one axis.
func (l *lowerer) assignMany(names []token, e expr) []*ir.Value {
	c, ok := e.(callExpr)
	if cell, recurrent := recurrentOps[c.fn.text]; ok && recurrent {
		return l.lowerRecurrent(names, c.call, cell)
	}
	rule, several := multiOps[c.fn.text]
	if !ok || !several {
		l.errorf(e.start().pos, "only split, chunk, gru and lstm return several tensors; %d names need one of them after =", len(names))
		return nil
	}
	x, ax, ok := l.pieceInput(c.call)
	if !ok {
		return nil
	}
	sizes := rule(l, c.call, x, ax)
	if sizes == nil {
		return nil
	}
	if len(sizes) != len(names) {
		l.errorf(c.fn.pos, "%s gives %d pieces of %s's %d elements along dim (sizes %v), but %d names receive them", c.fn.text, len(sizes), c.args[0].value.text, x.Shape[ax], sizes, len(names))
		return nil
	}
	var pieces []*ir.Value
	start := 0
	for i, size := range sizes {
		v := l.add(names[i], ir.OpSlice, ir.Attrs{Axis: ax, Start: start, End: start + size}, x)
		if v == nil {
			return nil
		}
		pieces = append(pieces, v)
		start += size
	}
	return pieces
}

// pieceInput reads the tensor and the dim of a split or chunk; dim is the
// last axis unless given, as for cat and slice.
func (l *lowerer) pieceInput(c call) (*ir.Value, int, bool) {
	if len(c.args) == 0 || c.args[0].isKeyword() {
		l.errorf(c.fn.pos, "%s needs the tensor to divide first, as in %s(x, 2, dim=1)", c.fn.text, c.fn.text)
		return nil, 0, false
	}
	x, ok := l.valueArg(c.args[0], c.fn.text+"'s input")
	if !ok {
		return nil, 0, false
	}
	ax := len(x.Shape) - 1
	for _, a := range c.args {
		if a.key.text == "dim" {
			if ax, ok = l.axis(a, x, "dim"); !ok {
				return nil, 0, false
			}
		}
	}
	return x, ax, true
}

// splitSizes reads split(x, 4, dim=1), torch.split with a size: pieces of
// 4, the last one smaller if the size does not divide the axis; or
// split(x, sizes=(2, 3, 3), dim=1), torch.split with a list of sizes.
func splitSizes(l *lowerer, c call, x *ir.Value, ax int) []int {
	args, ok := l.positional(c, 1, 2, "split(x, 4, dim=1) or split(x, sizes=(2, 3, 3), dim=1)")
	keywords, keywordsOK := l.keywords(c, "dim", "sizes")
	if !ok || !keywordsOK {
		return nil
	}
	n := x.Shape[ax]
	list, listed := keywords["sizes"]
	switch {
	case listed == (len(args) == 2):
		l.errorf(c.fn.pos, "split takes a size or sizes=(...), one of them: split(x, 4, dim=1) or split(x, sizes=(2, 3, 3), dim=1)")
		return nil
	case listed:
		if !list.isTuple() {
			l.errorf(list.value.pos, "sizes must be a tuple of sizes, as in sizes=(2, 3, 3), found %s", list)
			return nil
		}
		var sizes []int
		total := 0
		for _, t := range list.tuple {
			size, ok := l.intArg(arg{value: t}, "a size")
			if !ok {
				return nil
			}
			if size < 1 {
				l.errorf(t.pos, "a size must be at least 1, found %s", t.text)
				return nil
			}
			sizes = append(sizes, size)
			total += size
		}
		if total != n {
			l.errorf(list.value.pos, "sizes %v add up to %d, but %s has %d elements along dim", sizes, total, args[0].value.text, n)
			return nil
		}
		return sizes
	}
	size, ok := l.intArg(args[1], "split's size")
	if !ok {
		return nil
	}
	if size < 1 {
		l.errorf(args[1].value.pos, "split's size must be at least 1, found %d", size)
		return nil
	}
	return pieces(n, size)
}

// chunkSizes reads chunk(x, 2, dim=1), torch.chunk: pieces of
// ⌈n/chunks⌉ elements, the last one smaller, which can make fewer pieces
// than asked for (as in PyTorch).
func chunkSizes(l *lowerer, c call, x *ir.Value, ax int) []int {
	args, ok := l.positional(c, 2, 2, "chunk(x, 2, dim=1)")
	if _, keywordsOK := l.keywords(c, "dim"); !ok || !keywordsOK {
		return nil
	}
	chunks, ok := l.intArg(args[1], "chunk's count")
	if !ok {
		return nil
	}
	if chunks < 1 {
		l.errorf(args[1].value.pos, "chunk's count must be at least 1, found %d", chunks)
		return nil
	}
	n := x.Shape[ax]
	size := (n + chunks - 1) / chunks
	return pieces(n, size)
}

// pieces are the sizes of n elements cut in pieces of size, the last one
// smaller if size does not divide n.
func pieces(n, size int) []int {
	var sizes []int
	for start := 0; start < n; start += size {
		sizes = append(sizes, min(size, n-start))
	}
	return sizes
}
