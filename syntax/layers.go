package syntax

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// lowerLinear lowers linear(x, out) and linear(x, in, out), PyTorch's
// Linear(in, out): weight [out, in], bias [out], named as in its state_dict.
func lowerLinear(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 3, "linear(x, out) or linear(x, in, out)")
	keywords, keywordsOK := l.keywords(c, "bias")
	if !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "linear's input")
	out, outOK := l.sizeArg(args[len(args)-1], "linear's output size")
	bias, biasOK := true, true
	if a, ok := keywords["bias"]; ok {
		bias, biasOK = l.boolArg(a)
	}
	declaredIn, inOK := 0, true
	if len(args) == 3 {
		declaredIn, inOK = l.sizeArg(args[1], "linear's input size")
	}
	if !xOK || !outOK || !biasOK || !inOK {
		return nil
	}
	if len(x.Shape) < 2 {
		l.errorf(args[0].value.pos, "linear's input %s must have features, found a scalar per sample", args[0].value.text)
		return nil
	}
	in := x.Shape[len(x.Shape)-1] // linear acts on the last axis, as nn.Linear
	outShape := slices.Clone(x.Shape)
	outShape[len(outShape)-1] = out
	if len(args) == 3 && declaredIn != in {
		l.errorf(args[1].value.pos, "%s: linear expects %d input features but %s has %d", name.text, declaredIn, args[0].value.text, in)
		return nil
	}
	if !l.fits(name, name.text+".weight", ir.Shape{out, in}) || !l.fits(name, name.text, outShape) {
		return nil
	}
	// Parameters come before their layer, in state_dict order.
	operands := []*ir.Value{x, l.param(name, ".weight", ir.Shape{out, in})}
	if bias {
		operands = append(operands, l.param(name, ".bias", ir.Shape{out}))
	}
	// x·wᵀ + b, which the layers pass makes one linear for a matrix x.
	for _, p := range operands[1:] {
		p.FanIn = in
	}
	var b *ir.Value
	if bias {
		b = operands[2]
	}
	return l.linearND(name, x, operands[1], b)
}

// activation lowers an elementwise op of one value, such as sigmoid(x).
func activation(op ir.Op) layerRule {
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 1, 1, string(op)+"(x)")
		if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
			return nil
		}
		x, ok := l.valueArg(args[0], string(op)+"'s input")
		if !ok {
			return nil
		}
		return l.add(name, op, ir.Attrs{}, x)
	}
}

// lowerLeakyReLU lowers leaky_relu(x), leaky_relu(x, 0.2) and
// leaky_relu(x, negative_slope=0.2), PyTorch's F.leaky_relu. The slope may
// not be negative: the gradient is computed from the output (dy where
// y > 0, else slope·dy), which takes y's sign to be x's.
func lowerLeakyReLU(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 2, "leaky_relu(x) or leaky_relu(x, negative_slope)")
	keywords, keywordsOK := l.keywords(c, "negative_slope")
	if !ok || !keywordsOK {
		return nil
	}
	slope := 0.01 // F.leaky_relu's default
	a, given, slopeOK := l.optionalArg(c, args, 1, keywords, "negative_slope")
	if given {
		slope, slopeOK = l.number(a, "negative_slope")
		if slopeOK && !(slope >= 0 && !math.IsInf(slope, 1)) {
			l.errorf(a.value.pos, "negative_slope must be finite and at least 0, found %s: nngen computes leaky_relu's gradient from its output, "+
				"which needs the output to have the input's sign", a)
			slopeOK = false
		}
		if slope == 0 {
			slope = 0 // not -0, which would print as such
		}
	}
	x, xOK := l.valueArg(args[0], "leaky_relu's input")
	if !slopeOK || !xOK {
		return nil
	}
	return l.add(name, ir.OpLeakyReLU, ir.Attrs{Alpha: slope}, x)
}

// lowerGELU lowers gelu(x) and gelu(x, approximate=tanh), PyTorch's
// F.gelu(x, approximate='none'|'tanh').
func lowerGELU(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 1, "gelu(x) or gelu(x, approximate=tanh)")
	keywords, keywordsOK := l.keywords(c, "approximate")
	if !ok || !keywordsOK {
		return nil
	}
	approximate, approximateOK := "none", true
	if a, ok := keywords["approximate"]; ok {
		approximate, approximateOK = l.choice(a, "none", "tanh")
	}
	x, xOK := l.valueArg(args[0], "gelu's input")
	if !approximateOK || !xOK {
		return nil
	}
	var attrs ir.Attrs
	if approximate == "tanh" {
		attrs.Approx = ir.ApproxTanh
	}
	return l.add(name, ir.OpGELU, attrs, x)
}

// lowerSoftmax lowers softmax(x, dim=-1) and log_softmax(x, dim=-1),
// PyTorch's F.softmax and F.log_softmax. Over another axis than the last,
// the axis is swapped to the end and back.
func lowerSoftmax(l *lowerer, name token, c call) *ir.Value {
	op := ir.Op(c.fn.text)
	args, ok := l.positional(c, 1, 2, c.fn.text+"(x) or "+c.fn.text+"(x, dim=-1)")
	keywords, keywordsOK := l.keywords(c, "dim")
	if !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], c.fn.text+"'s input")
	if !xOK {
		return nil
	}
	last := len(x.Shape) - 1
	ax := last
	if a, given, dimOK := l.optionalArg(c, args, 1, keywords, "dim"); !dimOK {
		return nil
	} else if given {
		if ax, ok = l.axis(a, x, "dim"); !ok {
			return nil
		}
	}
	if ax == last {
		return l.add(name, op, ir.Attrs{}, x)
	}
	perm := make([]int, len(x.Shape))
	for i := range perm {
		perm[i] = i
	}
	perm[ax], perm[last] = last, ax
	t := l.add(token{pos: name.pos}, ir.OpPermute, ir.Attrs{Perm: perm}, x)
	if t == nil {
		return nil
	}
	y := l.add(token{pos: name.pos}, op, ir.Attrs{}, t)
	if y == nil {
		return nil
	}
	return l.add(name, ir.OpPermute, ir.Attrs{Perm: perm}, y)
}

// lowerIdentity lowers identity(x), PyTorch's nn.Identity: it computes
// nothing, and its name becomes another name for x's value.
func lowerIdentity(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 1, "identity(x)")
	if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
		return nil
	}
	x, _ := l.valueArg(args[0], "identity's input")
	return x
}

func (l *lowerer) param(layer token, suffix string, shape ir.Shape) *ir.Value {
	p := l.g.Leaf(ir.OpParam, layer.text+suffix, shape, ir.Attrs{})
	p.Pos = layer.pos
	return p
}

func (l *lowerer) add(name token, op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
	v, err := l.g.Add(op, attrs, args...)
	if err != nil && name.text == "" { // inside an expression
		l.errorf(name.pos, "%v", err)
		return nil
	}
	if err != nil {
		l.errorf(name.pos, "%s: %v", name.text, err)
		return nil
	}
	v.Name, v.Pos = name.text, name.pos
	return v
}

// positional returns a call's positional arguments, if their number is
// between least and most.
func (l *lowerer) positional(c call, least, most int, usage string) ([]arg, bool) {
	var args []arg
	for _, a := range c.args {
		if !a.isKeyword() {
			args = append(args, a)
		}
	}
	if most == 0 && len(args) > 0 {
		l.errorf(args[0].value.pos, "%s takes keyword arguments only, as in %s; found %s", c.fn.text, usage, args[0])
		return nil, false
	}
	if len(args) < least || len(args) > most {
		count := fmt.Sprint(least)
		if most > least {
			count += fmt.Sprintf(" or %d", most)
		}
		plural := "s"
		if most == 1 {
			plural = ""
		}
		l.errorf(c.fn.pos, "%s takes %s argument%s, as in %s; got %d", c.fn.text, count, plural, usage, len(args))
		return nil, false
	}
	return args, true
}

// keywords returns a call's keyword arguments, reporting any not allowed.
func (l *lowerer) keywords(c call, allowed ...string) (map[string]arg, bool) {
	found := map[string]arg{}
	ok := true
	for _, a := range c.args {
		key := a.key
		switch {
		case !a.isKeyword():
			continue
		case found[key.text].isKeyword():
			l.errorf(key.pos, "duplicate argument %s", key.text)
		case len(allowed) == 0:
			l.errorf(key.pos, "%s takes no keyword arguments, found %s", c.fn.text, key)
		case !slices.Contains(allowed, key.text):
			if s := closest(key.text, allowed, nil); s != "" {
				l.errorf(key.pos, "%s has no argument %s; did you mean %q?", c.fn.text, key, s)
			} else {
				l.errorf(key.pos, "%s has no argument %s (it takes: %s)", c.fn.text, key, strings.Join(allowed, ", "))
			}
		default:
			found[key.text] = a
			continue
		}
		ok = false
	}
	return found, ok
}

// valueArg resolves an argument that names a value, or computes one
// (relu(x + h)).
func (l *lowerer) valueArg(a arg, what string) (*ir.Value, bool) {
	if a.expr != nil {
		v := l.expr(a.expr)
		return v, v != nil
	}
	if a.value.kind != identifier || a.declares() {
		l.errorf(a.value.pos, "%s must be a value name, found %s", what, a)
		return nil, false
	}
	v, ok := l.lookup(a.value)
	if ok && v.DType == ir.Int {
		if v.Phase == ir.Forward {
			l.errorf(a.value.pos, "%s cannot be %s: it holds integer ids, which only embedding and embedding_bag read", what, a.value.text)
		} else {
			l.errorf(a.value.pos, "%s cannot be %s: it holds the class indices that only the loss reads", what, a.value.text)
		}
		return nil, false
	}
	return v, ok
}

// optionalArg returns an argument that may be given by position (at index
// among the positional ones) or by keyword, as PyTorch's leaky_relu(x, 0.2)
// and leaky_relu(x, negative_slope=0.2); given says whether it was. ok is
// false if it was given both ways.
func (l *lowerer) optionalArg(c call, positional []arg, index int, keywords map[string]arg, key string) (a arg, given, ok bool) {
	byKey, byKeyword := keywords[key]
	if index >= len(positional) {
		return byKey, byKeyword, true
	}
	if byKeyword {
		l.errorf(byKey.key.pos, "%s got %s twice, by position and by keyword", c.fn.text, key)
		return arg{}, false, false
	}
	return positional[index], true, true
}

// number reads a numeric argument; the scanner has checked its syntax.
func (l *lowerer) number(a arg, what string) (float64, bool) {
	if a.value.kind != number || a.declares() {
		l.errorf(a.value.pos, "%s must be a number, found %s", what, a)
		return 0, false
	}
	f, err := strconv.ParseFloat(a.value.text, 64)
	if err != nil {
		return 0, false
	}
	// Generated code writes the number as a constant of the model's type,
	// which Go refuses to compile when the type cannot hold it.
	if l.g.DType == ir.F32 && math.IsInf(float64(float32(f)), 0) {
		l.errorf(a.value.pos, "%s %s does not fit float32, the model's dtype (largest %g); use a smaller value or dtype float64",
			what, a.value.text, float32(math.MaxFloat32))
		return f, false
	}
	return f, true
}

// boolArg reads a keyword argument that is true or false, also spelt as in
// Python.
func (l *lowerer) boolArg(a arg) (bool, bool) {
	if a.value.kind == identifier {
		switch a.value.text {
		case "true", "True":
			return true, true
		case "false", "False":
			return false, true
		}
	}
	l.errorf(a.value.pos, "%s must be true or false, found %s", a.key.text, a)
	return false, false
}

func (l *lowerer) sizeArg(a arg, what string) (int, bool) {
	if a.declares() {
		l.errorf(a.value.pos, "%s must be an integer from 1 to %d, found %s", what, maxDim, a)
		return 0, false
	}
	return l.size(a.value, what)
}

// choice reads a keyword argument whose value is one of a few words, bare
// or quoted as in Python: reduction=sum or reduction="sum".
func (l *lowerer) choice(a arg, choices ...string) (string, bool) {
	if !slices.Contains(choices, a.value.text) || a.value.kind != identifier && a.value.kind != quoted {
		l.errorf(a.value.pos, "%s must be %s, found %s", a.key.text, alternatives(choices), a)
		return "", false
	}
	return a.value.text, true
}

// reduction reads a loss's reduction=mean|sum.
func (l *lowerer) reduction(a arg) (ir.Reduce, bool) {
	name, ok := l.choice(a, "mean", "sum")
	if !ok {
		return 0, false
	}
	r, _ := ir.ParseReduce(name)
	return r, true
}

// lowerLayerNorm lowers layer_norm(x, 16) and layer_norm(x, (8, 16),
// eps=1e-5, elementwise_affine=true), PyTorch's nn.LayerNorm(normalized_shape,
// eps, elementwise_affine): over the trailing axes normalized_shape names,
// (x - mean)/√(var + eps), then ·NAME.weight (ones) + NAME.bias (zeros),
// parameters in that state_dict order, unless elementwise_affine=false:
// one layer_norm op, with the weight and bias as its arguments.
func lowerLayerNorm(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 2, "layer_norm(x, 16) or layer_norm(x, (8, 16))")
	keywords, keywordsOK := l.keywords(c, "eps", "elementwise_affine")
	if !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "layer_norm's input")
	toks := []token{args[1].value}
	if args[1].isTuple() {
		toks = args[1].tuple
	}
	var norm ir.Shape
	normOK := true
	if args[1].expr != nil || args[1].declares() {
		l.errorf(args[1].value.pos, "layer_norm's normalized_shape must be a size or a tuple of sizes, found %s", args[1])
		normOK, toks = false, nil
	}
	for _, t := range toks {
		n, nOK := l.size(t, "normalized_shape")
		norm = append(norm, n)
		normOK = normOK && nOK
	}
	eps, epsOK := 1e-5, true // nn.LayerNorm's default
	if a, given := keywords["eps"]; given {
		eps, epsOK = l.number(a, "eps")
		if epsOK && !(eps > 0 && !math.IsInf(eps, 1)) {
			l.errorf(a.value.pos, "eps must be a positive finite number, found %s", a)
			epsOK = false
		}
	}
	affine, affineOK := true, true
	if a, given := keywords["elementwise_affine"]; given {
		affine, affineOK = l.boolArg(a)
	}
	if !xOK || !normOK || !epsOK || !affineOK {
		return nil
	}
	sample := l.sampleShape(x.Shape)
	if len(norm) > len(sample) || !slices.Equal(sample[len(sample)-len(norm):], norm) {
		l.errorf(args[1].value.pos, "%s: layer_norm's normalized_shape %v must be the last sizes of one sample of %s, which is %v",
			name.text, norm, args[0].value.text, sample)
		return nil
	}
	axes := make([]int, len(norm))
	for i := range axes {
		axes[i] = len(x.Shape) - len(norm) + i
	}
	if !affine {
		return l.add(name, ir.OpLayerNorm, ir.Attrs{Axes: axes, Eps: eps}, x)
	}
	if name.text == "" {
		l.errorf(c.fn.pos, "layer_norm with its weight and bias must be the whole right-hand side of an assignment, which names them: y = layer_norm(x, 16)")
		return nil
	}
	// Parameters come before their layer, in state_dict order.
	weight, bias := l.param(name, ".weight", norm), l.param(name, ".bias", norm)
	weight.Init, bias.Init = ir.InitOnes, ir.InitZeros
	return l.add(name, ir.OpLayerNorm, ir.Attrs{Axes: axes, Eps: eps}, x, weight, bias)
}

// lowerDropout lowers dropout(x), dropout(x, 0.2) and dropout(x, p=0.2),
// PyTorch's nn.Dropout(p) (default 0.5): in training mode x·mask with
// mask 0 with probability p, else 1/(1-p); in evaluation mode x. The mask
// is a value of its own, NAME.mask, which the model's DropoutMasks hook
// knows the layer by (NAME).
func lowerDropout(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 1, 2, "dropout(x) or dropout(x, p)")
	keywords, keywordsOK := l.keywords(c, "p")
	if !ok || !keywordsOK {
		return nil
	}
	p := 0.5 // nn.Dropout's default
	a, given, pOK := l.optionalArg(c, args, 1, keywords, "p")
	if given {
		p, pOK = l.number(a, "p")
		if pOK && !(p >= 0 && p <= 1) {
			l.errorf(a.value.pos, "p must be a probability from 0 to 1, found %s", a)
			pOK = false
		}
	}
	x, xOK := l.valueArg(args[0], "dropout's input")
	if !pOK || !xOK {
		return nil
	}
	if name.text == "" {
		l.errorf(c.fn.pos, "dropout must be the whole right-hand side of an assignment, which names the layer for its masks: y = dropout(x, 0.5)")
		return nil
	}
	mask := l.add(token{pos: name.pos}, ir.OpDropoutMask, ir.Attrs{P: p}, x)
	if mask == nil {
		return nil
	}
	mask.Name = name.text + ".mask"
	return l.add(name, ir.OpMul, ir.Attrs{}, x, mask)
}
