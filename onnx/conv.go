package onnx

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// Convolutions and pooling, as torch.onnx.export writes nn.Conv1d/2d,
// max_pool, avg_pool and adaptive_avg_pool(1): Conv, MaxPool,
// AveragePool (after a Pad where PyTorch pads with count_include_pad) and
// GlobalAveragePool, on X [N, C, *spatial].

// spatial checks that x is a computed [N, C, length] or [N, C, height,
// width] held as it is, and returns the number of spatial axes.
func spatial(x *tensor, what string) (int, error) {
	d, err := exact(x, what)
	if err != nil {
		return 0, err
	}
	if d != 0 || len(x.shape) != 3 && len(x.shape) != 4 {
		return 0, fmt.Errorf("%s is %v; nngen convolves and pools [batch, channels, length] or [batch, channels, height, width]", what, x.shape)
	}
	return len(x.shape) - 2, nil
}

// window reads the strides, pads and dilations of a Conv or pool over d
// spatial axes: ONNX's defaults (1, 0, 1), the pads the same at both ends
// of each axis (PyTorch's padding), auto_pad NOTSET or VALID.
func window(n *node, d int, dilations bool) (stride, pad, dilation []int, err error) {
	read := func(name string, def int) ([]int, error) {
		v, err := intsAttr(n.NodeProto, name)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return slices.Repeat([]int{def}, d), nil
		}
		return toInts(v), nil
	}
	autoPad, err1 := stringAttr(n.NodeProto, "auto_pad", "NOTSET")
	stride, err2 := read("strides", 1)
	pads, err3 := read("pads", 0)
	dilation, err4 := read("dilations", 1)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, nil, nil, err
	}
	if autoPad != "NOTSET" && autoPad != "VALID" {
		return nil, nil, nil, fmt.Errorf("auto_pad %s: nngen takes explicit pads (PyTorch's padding)", autoPad)
	}
	if autoPad == "VALID" {
		pads = make([]int, 2*d)
	}
	if len(stride) != d || len(dilation) != d || len(pads) != 2*d {
		return nil, nil, nil, fmt.Errorf("strides %v, dilations %v, pads %v for %d spatial axes", stride, dilation, pads, d)
	}
	if !slices.Equal(pads[:d], pads[d:]) {
		return nil, nil, nil, fmt.Errorf("pads %v: nngen pads both ends of an axis alike, as PyTorch's padding does", pads)
	}
	if !dilations && slices.ContainsFunc(dilation, func(x int) bool { return x != 1 }) {
		return nil, nil, nil, fmt.Errorf("dilations %v: not supported for this op", dilation)
	}
	return stride, pads[:d], dilation, nil
}

// lowerConv lowers Conv: W a constant [M, C/group, *kernel] (the layer's
// weight, under its initializer's name), B an optional constant [M].
func lowerConv(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	x, w := n.in[0], n.in[1]
	d, err := spatial(x, "X")
	if err != nil {
		return nil, err
	}
	if w == nil || w.c == nil || len(w.shape) != 2+d {
		return nil, fmt.Errorf("W must be a constant of rank %d (a layer's weight)", 2+d)
	}
	group, err := intAttr(n.NodeProto, "group", 1)
	if err != nil {
		return nil, err
	}
	if kernel, err := intsAttr(n.NodeProto, "kernel_shape"); err != nil {
		return nil, err
	} else if kernel != nil && !slices.Equal(toInts(kernel), w.shape[2:]) {
		return nil, fmt.Errorf("kernel_shape %v, but W is %v", kernel, w.shape)
	}
	stride, pad, dilation, err := window(n, d, true)
	if err != nil {
		return nil, err
	}
	wp, err := l.param(w.c.name, ir.Shape(slices.Clone(w.shape)), w.c.data)
	if err != nil {
		return nil, err
	}
	args := []*ir.Value{x.v, wp}
	if len(n.in) == 3 && n.in[2] != nil {
		b := n.in[2]
		if b.c == nil || len(b.shape) != 1 {
			return nil, fmt.Errorf("B must be a constant vector (the layer's bias)")
		}
		bp, err := l.param(b.c.name, ir.Shape{b.shape[0]}, b.c.data)
		if err != nil {
			return nil, err
		}
		args = append(args, bp)
	}
	y, err := l.add(ir.OpConv, ir.Attrs{Stride: stride, Pad: pad, Dilation: dilation, Groups: int(group)}, args...)
	if err != nil {
		return nil, err
	}
	return result(slices.Clone(y.Shape), y), nil
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// lowerPool lowers MaxPool and AveragePool: kernel_shape, strides, pads
// (and MaxPool's dilations), ceil_mode 0, MaxPool's indices unused. An
// AveragePool counts the padding in its divisor, as PyTorch's
// count_include_pad, which torch.onnx.export writes as a Pad before it
// (see lowerPad).
func lowerPool(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	op := ir.OpMaxPool
	if n.GetOpType() == "AveragePool" {
		op = ir.OpAvgPool
	}
	if outs := n.GetOutput(); len(outs) > 1 && outs[1] != "" && len(l.consumers[outs[1]]) > 0 {
		return nil, fmt.Errorf("its indices are used; nngen computes the pooled values only")
	}
	x := n.in[0]
	var padded []int // a Pad's zeros before it (lowerPad)
	if x.padded != nil {
		padded = x.padded.pads
		x = &tensor{shape: x.padded.unpadded, v: x.v}
	}
	d, err := spatial(x, "X")
	if err != nil {
		return nil, err
	}
	kernel, err1 := intsAttr(n.NodeProto, "kernel_shape")
	ceil, err2 := intAttr(n.NodeProto, "ceil_mode", 0)
	include, err3 := intAttr(n.NodeProto, "count_include_pad", 0)
	order, err4 := intAttr(n.NodeProto, "storage_order", 0)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	if len(kernel) != d || ceil != 0 || order != 0 {
		return nil, fmt.Errorf("kernel_shape %v, ceil_mode %d, storage_order %d: nngen pools with a kernel of %d sizes, ceil_mode 0", kernel, ceil, order, d)
	}
	stride, pad, dilation, err := window(n, d, op == ir.OpMaxPool)
	if err != nil {
		return nil, err
	}
	if op == ir.OpAvgPool && include == 0 && slices.ContainsFunc(pad, func(p int) bool { return p != 0 }) {
		return nil, fmt.Errorf("pads %v with count_include_pad 0: nngen counts the padding in the divisor, as PyTorch's default", pad)
	}
	for i := range padded {
		pad[i] += padded[i]
	}
	y, err := l.add(op, ir.Attrs{Kernel: toInts(kernel), Stride: stride, Pad: pad, Dilation: dilation}, x.v)
	if err != nil {
		return nil, err
	}
	return result(slices.Clone(y.Shape), y), nil
}

// lowerPad lowers a Pad of zeros on the spatial axes, both ends alike,
// whose one reader is an AveragePool: what torch.onnx.export writes for
// avg_pool's padding with count_include_pad. The pool takes it as its own
// padding; the padded tensor itself is never made.
func lowerPad(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 4); err != nil {
		return nil, err
	}
	x := n.in[0]
	d, err := spatial(x, "data")
	if err != nil {
		return nil, err
	}
	mode, err := stringAttr(n.NodeProto, "mode", "constant")
	if err != nil {
		return nil, err
	}
	var pads []int
	if l.opset < 11 {
		p, err := intsAttr(n.NodeProto, "pads")
		if err != nil {
			return nil, err
		}
		pads = toInts(p)
	} else {
		if len(n.in) < 2 || n.in[1] == nil {
			return nil, fmt.Errorf("pads is missing")
		}
		if pads, err = ints(n.in[1], "pads"); err != nil {
			return nil, err
		}
	}
	value := 0.0
	if len(n.in) >= 3 && n.in[2] != nil {
		if n.in[2].c == nil || len(n.in[2].c.data) != 1 {
			return nil, fmt.Errorf("constant_value must be a constant number")
		}
		value = n.in[2].c.data[0]
	}
	rank := 2 + d
	users := l.consumers[n.GetOutput()[0]]
	if mode != "constant" || value != 0 || len(pads) != 2*rank || len(users) != 1 || users[0].GetOpType() != "AveragePool" || l.outputs[n.GetOutput()[0]] {
		return nil, fmt.Errorf("pads a tensor otherwise than with zeros read by an AveragePool alone (mode %s, value %g, read by %d nodes); nngen takes Pad only as average pooling's padding", mode, value, len(users))
	}
	begin, end := pads[:rank], pads[rank:]
	if !slices.Equal(begin, end) || begin[0] != 0 || begin[1] != 0 {
		return nil, fmt.Errorf("pads %v: nngen pads the spatial axes only, both ends alike", pads)
	}
	shape := slices.Clone(x.shape)
	for i := range d {
		shape[2+i] += 2 * begin[2+i]
	}
	return []*tensor{{shape: shape, v: x.v, padded: &padding{pads: begin[2:], unpadded: slices.Clone(x.shape)}}}, nil
}

// lowerGlobalAveragePool lowers GlobalAveragePool, PyTorch's
// adaptive_avg_pool(1): the mean over the spatial axes, kept as 1s.
func lowerGlobalAveragePool(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	x := n.in[0]
	d, err := spatial(x, "X")
	if err != nil {
		return nil, err
	}
	axes := []int{2}
	if d == 2 {
		axes = append(axes, 3)
	}
	y, err := l.add(ir.OpMean, ir.Attrs{Axes: axes, KeepDims: true}, x.v)
	if err != nil {
		return nil, err
	}
	return result(slices.Clone(y.Shape), y), nil
}
