package syntax

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// lowerConv lowers conv1d and conv2d (d spatial axes), PyTorch's
// nn.Conv1d and nn.Conv2d on x [batch, in, *spatial]:
//
//	c1 = conv2d(x, 16, kernel=5, stride=1, padding=2, dilation=1, groups=1, bias=true)
//
// or conv2d(x, in, out, kernel=...) stating the input channels. kernel,
// stride, padding and dilation take an integer, or a tuple of one per
// spatial axis; padding also same (stride 1, an odd reach) or valid. The
// parameters NAME.weight [out, in/groups, *kernel] and NAME.bias [out] are
// drawn as PyTorch draws them: uniform in ±1/√fan_in, fan_in = in/groups
// times the kernel's size.
func lowerConv(d int) layerRule {
	fn := fmt.Sprintf("conv%dd", d)
	usage := fn + "(x, out, kernel=3) or " + fn + "(x, in, out, kernel=3)"
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 2, 3, usage)
		keywords, keywordsOK := l.keywords(c, "kernel", "stride", "padding", "dilation", "groups", "bias")
		if !ok || !keywordsOK {
			return nil
		}
		x, xOK := l.valueArg(args[0], fn+"'s input")
		out, outOK := l.sizeArg(args[len(args)-1], fn+"'s output channels")
		declaredIn, inOK := 0, true
		if len(args) == 3 {
			declaredIn, inOK = l.sizeArg(args[1], fn+"'s input channels")
		}
		kernelArg, hasKernel := keywords["kernel"]
		if !hasKernel {
			l.errorf(c.fn.pos, "%s needs its kernel size, as in %s", fn, usage)
		}
		attrs := ir.Attrs{Stride: ones(d), Pad: make([]int, d), Dilation: ones(d), Groups: 1}
		var kernel []int
		kernelOK, windowOK := true, true
		if hasKernel {
			kernel, kernelOK = l.window(kernelArg, d, 1)
		}
		for key, dst := range map[string]*[]int{"stride": &attrs.Stride, "dilation": &attrs.Dilation} {
			if a, ok := keywords[key]; ok {
				*dst, ok = l.window(a, d, 1)
				windowOK = windowOK && ok
			}
		}
		if a, ok := keywords["groups"]; ok {
			attrs.Groups, ok = l.sizeArg(a, fn+"'s groups")
			windowOK = windowOK && ok
		}
		bias, biasOK := true, true
		if a, ok := keywords["bias"]; ok {
			bias, biasOK = l.boolArg(a)
		}
		padOK := true
		if a, ok := keywords["padding"]; ok && hasKernel && kernelOK {
			attrs.Pad, padOK = l.padding(a, fn, kernel, attrs)
		}
		if !xOK || !outOK || !inOK || !hasKernel || !kernelOK || !windowOK || !biasOK || !padOK {
			return nil
		}
		if !l.spatialInput(args[0], x, fn, d) {
			return nil
		}
		in := x.Shape[1]
		if len(args) == 3 && declaredIn != in {
			l.errorf(args[1].value.pos, "%s: %s expects %d input channels but %s has %d", name.text, fn, declaredIn, args[0].value.text, in)
			return nil
		}
		if in%attrs.Groups != 0 || out%attrs.Groups != 0 {
			l.errorf(keywords["groups"].value.pos, "%s: %d groups must divide the input channels (%d) and the output channels (%d)", name.text, attrs.Groups, in, out)
			return nil
		}
		wShape := append(ir.Shape{out, in / attrs.Groups}, kernel...)
		if !l.fits(name, name.text+".weight", wShape) {
			return nil
		}
		fanIn := wShape[1:].Size()
		operands := []*ir.Value{x, l.param(name, ".weight", wShape)}
		if bias {
			operands = append(operands, l.param(name, ".bias", ir.Shape{out}))
		}
		for _, p := range operands[1:] {
			p.FanIn = fanIn
		}
		return l.add(name, ir.OpConv, attrs, operands...)
	}
}

// spatialInput reports whether x, fn's input, is [batch, channels, *d
// spatial axes], and says so where it is not.
func (l *lowerer) spatialInput(a arg, x *ir.Value, fn string, d int) bool {
	if len(x.Shape) == 2+d {
		return true
	}
	l.errorf(a.value.pos, "%s's input %s must be [batch, channels, %s], found one sample of %v",
		fn, a.value.text, map[int]string{1: "length", 2: "height, width"}[d], l.sampleShape(x.Shape))
	return false
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// window reads a kernel size, stride or dilation: an integer of at least
// least, or a tuple of d of them.
func (l *lowerer) window(a arg, d, least int) ([]int, bool) {
	toks := []token{a.value}
	if a.isTuple() {
		toks = a.tuple
	}
	if len(toks) != 1 && len(toks) != d {
		l.errorf(a.value.pos, "%s must be an integer or a tuple of %d, found %s", a.key.text, d, a)
		return nil, false
	}
	var out []int
	for _, t := range toks {
		n, ok := l.intArg(arg{value: t}, a.key.text)
		if !ok {
			return nil, false
		}
		if n < least || n > maxDim {
			l.errorf(t.pos, "%s must be from %d to %d, found %s", a.key.text, least, maxDim, t.text)
			return nil, false
		}
		out = append(out, n)
	}
	for len(out) < d {
		out = append(out, out[0])
	}
	return out, true
}

// padding reads padding=: an integer or tuple of them (0 allowed), valid
// (none) or same (the output as large as the input: stride 1, and on each
// axis a reach dilation·(kernel-1) that is even, so that the padding is
// the same on both sides, as PyTorch's is).
func (l *lowerer) padding(a arg, fn string, kernel []int, attrs ir.Attrs) ([]int, bool) {
	d := len(kernel)
	if a.value.kind == identifier || a.value.kind == quoted {
		word := a.value.text
		if word != "same" && word != "valid" {
			l.errorf(a.value.pos, "padding must be an integer, a tuple of %d, same or valid, found %s", d, a)
			return nil, false
		}
		pad := make([]int, d)
		if word == "valid" {
			return pad, true
		}
		for i := range d {
			reach := attrs.Dilation[i] * (kernel[i] - 1)
			if attrs.Stride[i] != 1 || reach%2 != 0 {
				l.errorf(a.value.pos, "%s: padding=same needs stride 1 and an odd kernel (or an even reach, dilation·(kernel-1)), found kernel %v, stride %v, dilation %v",
					fn, ir.Shape(kernel), ir.Shape(attrs.Stride), ir.Shape(attrs.Dilation))
				return nil, false
			}
			pad[i] = reach / 2
		}
		return pad, true
	}
	return l.window(a, d, 0)
}

// lowerPool lowers max_pool1d/2d and avg_pool1d/2d (d spatial axes),
// PyTorch's F.max_pool2d(x, kernel, stride=kernel, padding=0, dilation=1)
// and F.avg_pool2d(x, kernel, stride=kernel, padding=0) on x [batch,
// channels, *spatial]: the kernel by position or keyword, each setting an
// integer or a tuple of one per spatial axis.
func lowerPool(op ir.Op, d int) layerRule {
	kind := map[ir.Op]string{ir.OpMaxPool: "max", ir.OpAvgPool: "avg"}[op]
	fn := fmt.Sprintf("%s_pool%dd", kind, d)
	allowed := []string{"kernel", "stride", "padding"}
	if op == ir.OpMaxPool {
		allowed = append(allowed, "dilation")
	}
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 1, 2, fn+"(x, 2) or "+fn+"(x, kernel=2, stride=2)")
		keywords, keywordsOK := l.keywords(c, allowed...)
		if !ok || !keywordsOK {
			return nil
		}
		x, xOK := l.valueArg(args[0], fn+"'s input")
		kernelArg, given, kernelOK := l.optionalArg(c, args, 1, keywords, "kernel")
		if kernelOK && !given {
			l.errorf(c.fn.pos, "%s needs its kernel size, as in %s(x, 2)", fn, fn)
			kernelOK = false
		}
		attrs := ir.Attrs{Pad: make([]int, d), Dilation: ones(d)}
		if kernelOK {
			if kernelArg.key.text == "" {
				kernelArg.key = token{text: "kernel"}
			}
			attrs.Kernel, kernelOK = l.window(kernelArg, d, 1)
		}
		attrs.Stride = attrs.Kernel
		windowOK := true
		for key, dst := range map[string]*[]int{"stride": &attrs.Stride, "dilation": &attrs.Dilation} {
			if a, ok := keywords[key]; ok {
				*dst, ok = l.window(a, d, 1)
				windowOK = windowOK && ok
			}
		}
		if a, ok := keywords["padding"]; ok {
			attrs.Pad, ok = l.window(a, d, 0)
			windowOK = windowOK && ok
		}
		if !xOK || !kernelOK || !windowOK {
			return nil
		}
		if !l.spatialInput(args[0], x, fn, d) {
			return nil
		}
		return l.add(name, op, attrs, x)
	}
}

// lowerAdaptiveAvgPool lowers adaptive_avg_pool1d(x, 1) and
// adaptive_avg_pool2d(x, 1), global average pooling: the mean over the
// spatial axes, kept as 1s as PyTorch keeps them. Other output sizes are
// not supported yet.
func lowerAdaptiveAvgPool(d int) layerRule {
	fn := fmt.Sprintf("adaptive_avg_pool%dd", d)
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 2, 2, fn+"(x, 1)")
		if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
			return nil
		}
		x, xOK := l.valueArg(args[0], fn+"'s input")
		size, sizeOK := l.sizeArg(args[1], fn+"'s output size")
		if !xOK || !sizeOK {
			return nil
		}
		if size != 1 {
			l.errorf(args[1].value.pos, "%s: only an output size of 1 (global average pooling) is supported, found %d", fn, size)
			return nil
		}
		if !l.spatialInput(args[0], x, fn, d) {
			return nil
		}
		axes := []int{2}
		if d == 2 {
			axes = append(axes, 3)
		}
		return l.add(name, ir.OpMean, ir.Attrs{Axes: axes, KeepDims: true}, x)
	}
}
