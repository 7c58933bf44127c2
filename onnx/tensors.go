package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/nngen/nngen/ir"
)

// The ops on computed tensors of any rank. A computed tensor's IR value
// has the ONNX shape, with a leading axis of 1 when the model takes one
// sample without a batch axis (lead 1), or holds it as [rows, features]
// (the layout of the MLP front end, lead -1), which these ops do not read.

// lead is how many IR axes come before t's ONNX axes: 0 or 1, or -1 when
// the IR holds t in another layout.
func lead(t *tensor) int {
	if t.v == nil || t.transposed {
		return -1
	}
	d := len(t.v.Shape) - len(t.shape)
	if d < 0 || d > 1 || d == 1 && t.v.Shape[0] != 1 {
		return -1
	}
	for i, s := range t.shape {
		if t.v.Shape[d+i] != s {
			return -1
		}
	}
	return d
}

// exact checks that the IR holds t axis for axis, and returns its lead.
func exact(t *tensor, what string) (int, error) {
	if err := computed(t, what); err != nil {
		return 0, err
	}
	d := lead(t)
	if d < 0 {
		return 0, fmt.Errorf("%s is %v, which nngen holds as %v here; it reads it only as the MLP layers do", what, t.shape, t.v.Shape)
	}
	return d, nil
}

// result is a computed tensor of the given ONNX shape, with d leading IR axes.
func result(shape []int, v *ir.Value) []*tensor { return []*tensor{{shape: shape, v: v}} }

// irShape is the IR shape of an ONNX shape with d leading axes of 1.
func irShape(d int, shape []int) ir.Shape {
	return append(slices.Repeat(ir.Shape{1}, d), shape...)
}

// axesInput reads an op's axes: from the attribute before the opset that
// made them an input (13 for most, 18 for the reductions but ReduceSum).
func axesInput(n *node, opset, inputFrom int64, index int) ([]int, bool, error) {
	if opset >= inputFrom {
		if len(n.in) <= index || n.in[index] == nil {
			return nil, false, nil
		}
		axes, err := ints(n.in[index], "axes")
		return axes, true, err
	}
	axes, err := intsAttr(n.NodeProto, "axes")
	if err != nil || axes == nil {
		return nil, false, err
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = int(a)
	}
	return out, true, nil
}

// normAxes normalises axes of a tensor of the given rank, sorted.
func normAxes(axes []int, rank int) ([]int, error) {
	out := make([]int, len(axes))
	for i, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out[:i], n) {
			return nil, fmt.Errorf("axis %d is given twice", a)
		}
		out[i] = n
	}
	slices.Sort(out)
	return out, nil
}

// reshaped is x given another ONNX shape, the same elements in order.
func (l *lowerer) reshaped(x *tensor, d int, shape []int) ([]*tensor, error) {
	if slices.Equal(shape, x.shape) {
		return []*tensor{x}, nil
	}
	if x.c != nil {
		return []*tensor{{shape: shape, c: &constant{name: x.c.name, data: x.c.data, integer: x.c.integer}}}, nil
	}
	v, err := l.add(ir.OpReshape, ir.Attrs{To: irShape(d, shape)}, x.v)
	if err != nil {
		return nil, err
	}
	return result(shape, v), nil
}

// lowerReshape lowers Reshape to a constant shape (0 copies the input's
// size, -1 takes what is left, allowzero unsupported).
func lowerReshape(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	target, err := ints(n.in[1], "the shape")
	if err != nil {
		return nil, err
	}
	d := 0
	if x.c == nil {
		if d, err = exact(x, "the input"); err != nil {
			return nil, err
		}
	}
	shape, free, known := slices.Clone(target), -1, 1
	for i, s := range shape {
		switch {
		case s == 0 && i < len(x.shape):
			shape[i] = x.shape[i]
		case s == -1 && free < 0:
			free = i
			continue
		case s < 1:
			return nil, fmt.Errorf("shape %v", target)
		}
		known *= shape[i]
	}
	size := product(x.shape)
	if free >= 0 && known > 0 && size%known == 0 {
		shape[free] = size / known
		known = size
	}
	if known != size {
		return nil, fmt.Errorf("reshapes %v (%d elements) to %v", x.shape, size, target)
	}
	return l.reshaped(x, d, shape)
}

// lowerUnsqueeze and lowerSqueeze add or drop axes of 1.
func lowerUnsqueeze(l *lowerer, n *node) ([]*tensor, error) { return l.squeeze(n, true) }
func lowerSqueeze(l *lowerer, n *node) ([]*tensor, error)   { return l.squeeze(n, false) }

func (l *lowerer) squeeze(n *node, insert bool) ([]*tensor, error) {
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	d := 0
	if x.c == nil {
		var err error
		if d, err = exact(x, "the input"); err != nil {
			return nil, err
		}
	}
	axes, given, err := axesInput(n, l.opset, 13, 1)
	if err != nil {
		return nil, err
	}
	var shape []int
	switch {
	case insert:
		if !given {
			return nil, fmt.Errorf("Unsqueeze needs axes")
		}
		rank := len(x.shape) + len(axes)
		if axes, err = normAxes(axes, rank); err != nil {
			return nil, err
		}
		rest := slices.Clone(x.shape)
		for i := range rank {
			if slices.Contains(axes, i) {
				shape = append(shape, 1)
			} else {
				shape, rest = append(shape, rest[0]), rest[1:]
			}
		}
	default:
		if axes, err = normAxes(axes, len(x.shape)); err != nil {
			return nil, err
		}
		for i, s := range x.shape {
			drop := given && slices.Contains(axes, i) || !given && s == 1
			if drop && s != 1 {
				return nil, fmt.Errorf("squeezes axis %d of %v, which is not 1", i, x.shape)
			}
			if !drop {
				shape = append(shape, s)
			}
		}
	}
	return l.reshaped(x, d, shape)
}

// lowerConcat lowers Concat of constants (shape arithmetic) or of computed
// tensors.
func lowerConcat(l *lowerer, n *node) ([]*tensor, error) {
	if len(n.in) == 0 {
		return nil, fmt.Errorf("Concat needs inputs")
	}
	axis64, err := intAttr(n.NodeProto, "axis", 0)
	if err != nil {
		return nil, err
	}
	first := n.in[0]
	axis, err := normAxis(int(axis64), len(first.shape))
	if err != nil {
		return nil, err
	}
	shape := slices.Clone(first.shape)
	shape[axis] = 0
	for _, t := range n.in {
		if t == nil || len(t.shape) != len(shape) {
			return nil, fmt.Errorf("inputs of different ranks")
		}
		shape[axis] += t.shape[axis]
	}
	if allConstant(n) {
		outer := product(shape[:axis])
		var out []float64
		integer := true
		for o := range outer {
			for _, t := range n.in {
				w := product(t.shape[axis:])
				out = append(out, t.c.data[o*w:(o+1)*w]...)
				integer = integer && t.c.integer
			}
		}
		return []*tensor{folded(n, shape, out, integer)}, nil
	}
	var args []*ir.Value
	d := -1
	for i, t := range n.in {
		td, err := exact(t, fmt.Sprintf("input %d", i))
		if err != nil {
			return nil, err
		}
		if d >= 0 && td != d {
			return nil, fmt.Errorf("inputs held in different layouts")
		}
		d = td
		args = append(args, t.v)
	}
	v, err := l.add(ir.OpConcat, ir.Attrs{Axis: axis + d}, args...)
	if err != nil {
		return nil, err
	}
	return result(shape, v), nil
}

// lowerSlice lowers Slice with constant starts, ends, axes and steps of 1
// (attributes before opset 10).
func lowerSlice(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 5); err != nil {
		return nil, err
	}
	x := n.in[0]
	var starts, ends, axes, steps []int
	var err error
	if l.opset < 10 {
		read := func(name string) []int {
			v, e := intsAttr(n.NodeProto, name)
			if e != nil {
				err = e
			}
			out := make([]int, len(v))
			for i, a := range v {
				out[i] = int(a)
			}
			return out
		}
		starts, ends, axes = read("starts"), read("ends"), read("axes")
	} else {
		if len(n.in) < 3 {
			return nil, fmt.Errorf("Slice needs starts and ends")
		}
		starts, err = bounds(n.in[1], "starts")
		if err == nil {
			ends, err = bounds(n.in[2], "ends")
		}
		if err == nil && len(n.in) > 3 && n.in[3] != nil {
			axes, err = ints(n.in[3], "axes")
		}
		if err == nil && len(n.in) > 4 && n.in[4] != nil {
			steps, err = ints(n.in[4], "steps")
		}
	}
	if err != nil {
		return nil, err
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) {
		return nil, fmt.Errorf("starts, ends and axes differ in length")
	}
	cur := x
	for i, a := range axes {
		if steps != nil && steps[i] != 1 {
			return nil, fmt.Errorf("step %d; nngen slices with steps of 1", steps[i])
		}
		axis, err := normAxis(a, len(cur.shape))
		if err != nil {
			return nil, err
		}
		dim := cur.shape[axis]
		start, end := clampIndex(starts[i], dim), clampIndex(ends[i], dim)
		if end <= start {
			return nil, fmt.Errorf("an empty slice [%d:%d] of axis %d", starts[i], ends[i], a)
		}
		if cur, err = l.slice(n, cur, axis, start, end); err != nil {
			return nil, err
		}
	}
	return []*tensor{cur}, nil
}

// bounds reads Slice's starts or ends: integers, where INT64_MAX and
// INT64_MIN (torch.onnx.export's "to the end", beyond float64's exact
// integers) stand for the largest and smallest index, which clampIndex
// clamps to the axis.
func bounds(t *tensor, what string) ([]int, error) {
	if t != nil && t.c != nil {
		c := *t.c
		c.data = slices.Clone(c.data)
		for i, x := range c.data {
			if math.Abs(x) >= 1<<62 {
				c.data[i] = math.Copysign(1<<53, x)
			}
		}
		t = &tensor{shape: t.shape, c: &c}
	}
	return ints(t, what)
}

// clampIndex is a Slice bound as ONNX reads it: negative from the end,
// then clamped to [0, dim] (INT64_MAX for "to the end").
func clampIndex(i, dim int) int {
	if i < 0 {
		i += dim
	}
	return min(max(i, 0), dim)
}

// reduceRule lowers ReduceMean, ReduceSum and ReduceMax over constant axes
// (all of them without), keepdims as ONNX's default, 1.
func reduceRule(op ir.Op, inputFrom int64) rule {
	return func(l *lowerer, n *node) ([]*tensor, error) {
		if err := arity(n, 1, 2); err != nil {
			return nil, err
		}
		x := n.in[0]
		d, err := exact(x, "the input")
		if err != nil {
			return nil, err
		}
		keep, err1 := intAttr(n.NodeProto, "keepdims", 1)
		noop, err2 := intAttr(n.NodeProto, "noop_with_empty_axes", 0)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("keepdims or noop_with_empty_axes is not an integer")
		}
		axes, given, err := axesInput(n, l.opset, inputFrom, 1)
		if err != nil {
			return nil, err
		}
		if !given || len(axes) == 0 {
			if noop != 0 {
				return []*tensor{x}, nil
			}
			axes = nil
			for i := range x.shape {
				axes = append(axes, i)
			}
		}
		if axes, err = normAxes(axes, len(x.shape)); err != nil {
			return nil, err
		}
		irAxes := make([]int, len(axes))
		for i, a := range axes {
			irAxes[i] = a + d
		}
		shape := []int{}
		for i, s := range x.shape {
			switch {
			case !slices.Contains(axes, i):
				shape = append(shape, s)
			case keep != 0:
				shape = append(shape, 1)
			}
		}
		v, err := l.add(op, ir.Attrs{Axes: irAxes, KeepDims: keep != 0}, x.v)
		if err != nil {
			return nil, err
		}
		return result(shape, v), nil
	}
}

// lowerPow lowers Pow with a constant exponent.
func lowerPow(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	x, p := n.in[0], n.in[1]
	if err := computed(x, "the base"); err != nil {
		return nil, err
	}
	if p.c == nil || len(p.c.data) != 1 {
		return nil, fmt.Errorf("the exponent must be one constant number")
	}
	n.in = n.in[:1]
	return l.elementwise(n, ir.OpPow, ir.Attrs{Exponent: p.c.data[0]})
}

// lowerClip lowers Clip with constant bounds (attributes before opset 11).
func lowerClip(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 3); err != nil {
		return nil, err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if l.opset < 11 {
		var err1, err2 error
		lo, err1 = floatAttr(n.NodeProto, "min", lo)
		hi, err2 = floatAttr(n.NodeProto, "max", hi)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("min or max is not a number")
		}
	}
	for i, bound := range []*float64{&lo, &hi} {
		if len(n.in) > i+1 && n.in[i+1] != nil {
			c := n.in[i+1]
			if c.c == nil || len(c.c.data) != 1 {
				return nil, fmt.Errorf("its bounds must be constant numbers")
			}
			*bound = c.c.data[0]
		}
	}
	n.in = n.in[:1]
	return l.elementwise(n, ir.OpClamp, ir.Attrs{Min: lo, Max: hi})
}

// lowerExpand lowers Expand of a computed tensor to a constant shape.
func lowerExpand(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	target, err := ints(n.in[1], "the shape")
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShapes(x.shape, target)
	if err != nil {
		return nil, err
	}
	if x.c != nil {
		out := make([]float64, product(shape))
		for i := range out {
			out[i] = at(x.c.data, x.shape, shape, i)
		}
		return []*tensor{folded(n, shape, out, x.c.integer)}, nil
	}
	d, err := exact(x, "the input")
	if err != nil {
		return nil, err
	}
	if slices.Equal(shape, x.shape) {
		return []*tensor{x}, nil
	}
	v, err := l.add(ir.OpExpand, ir.Attrs{To: irShape(d, shape)}, x.v)
	if err != nil {
		return nil, err
	}
	return result(shape, v), nil
}

// permuted applies perm (ONNX axes) to a computed tensor.
func (l *lowerer) permuted(x *tensor, perm []int) ([]*tensor, error) {
	d, err := exact(x, "the input")
	if err != nil {
		return nil, err
	}
	irPerm := make([]int, d)
	for i := range irPerm {
		irPerm[i] = i
	}
	shape := make([]int, len(perm))
	for i, p := range perm {
		irPerm = append(irPerm, p+d)
		shape[i] = x.shape[p]
	}
	v, err := l.add(ir.OpPermute, ir.Attrs{Perm: irPerm}, x.v)
	if err != nil {
		return nil, err
	}
	return result(shape, v), nil
}

// rowOp applies softmax or log_softmax along an axis: the last, or another
// swapped to the end and back.
func (l *lowerer) rowOp(n *node, op ir.Op, axis int) ([]*tensor, error) {
	x := n.in[0]
	if err := computed(x, "its input"); err != nil {
		return nil, err
	}
	last := len(x.shape) - 1
	if axis == last {
		return l.elementwise(n, op, ir.Attrs{})
	}
	perm := make([]int, len(x.shape))
	for i := range perm {
		perm[i] = i
	}
	perm[axis], perm[last] = last, axis
	t, err := l.permuted(x, perm)
	if err != nil {
		return nil, err
	}
	y, err := l.add(op, ir.Attrs{}, t[0].v)
	if err != nil {
		return nil, err
	}
	return l.permuted(&tensor{shape: t[0].shape, v: y}, perm)
}

// lowerLayerNormalization lowers LayerNormalization (opset 17), what
// nn.LayerNorm exports as from there: over the axes from axis on,
// (x - mean)/sqrt(var + epsilon), then ·scale + bias, as one layer_norm,
// as the recognize pass makes of the ops it exports as before opset 17.
func lowerLayerNormalization(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	if outs := n.GetOutput(); len(outs) > 1 && slices.ContainsFunc(outs[1:], func(o string) bool { return o != "" && len(l.consumers[o]) > 0 }) {
		return nil, fmt.Errorf("its mean or inverse standard deviation output is used; nngen computes the normalized output only")
	}
	x := n.in[0]
	d, err := exact(x, "X")
	if err != nil {
		return nil, err
	}
	axis64, err1 := intAttr(n.NodeProto, "axis", -1)
	eps, err2 := floatAttr(n.NodeProto, "epsilon", 1e-5)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("axis or epsilon is not a number")
	}
	axis, err := normAxis(int(axis64), len(x.shape))
	if err != nil {
		return nil, err
	}
	var axes []int
	for a := axis; a < len(x.shape); a++ {
		axes = append(axes, a+d)
	}
	norm := x.shape[axis:]
	// An initializer is a parameter; a Constant node of ones (Scale) or
	// zeros (B) is what an nn.LayerNorm without elementwise affine exports
	// as (PyTorch 2's exporter; see export_onnx.py), and computes nothing.
	param := func(t *tensor, what string, identity float64) (*ir.Value, error) {
		if t == nil || t.c == nil || !slices.Equal(t.shape, norm) {
			return nil, fmt.Errorf("%s must be a constant of shape %v", what, norm)
		}
		if _, ok := l.initializers[t.c.name]; !ok && !slices.ContainsFunc(t.c.data, func(v float64) bool { return v != identity }) {
			return nil, nil
		}
		return l.param(t.c.name, ir.Shape(slices.Clone(norm)), t.c.data)
	}
	scale, err := param(n.in[1], "Scale", 1)
	if err != nil {
		return nil, err
	}
	var bias *ir.Value
	if len(n.in) == 3 && n.in[2] != nil {
		if bias, err = param(n.in[2], "B", 0); err != nil {
			return nil, err
		}
	}
	// One layer_norm with its weight and bias where it has a weight; a
	// bias without one is added after.
	args := []*ir.Value{x.v}
	if scale != nil {
		args = append(args, scale)
		if bias != nil {
			args, bias = append(args, bias), nil
		}
	}
	y, err := l.add(ir.OpLayerNorm, ir.Attrs{Axes: axes, Eps: eps}, args...)
	if err != nil {
		return nil, err
	}
	if bias != nil {
		if y, err = l.add(ir.OpAdd, ir.Attrs{}, y, bias); err != nil {
			return nil, err
		}
	}
	return result(x.shape, y), nil
}

// lowerSplit lowers Split along an axis into pieces of the sizes given
// (an input from opset 13, an attribute before), or num_outputs pieces
// (opset 18: the last one smaller when they do not divide the axis), or
// equal ones; each is a slice.
func lowerSplit(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	axis64, err := intAttr(n.NodeProto, "axis", 0)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(int(axis64), len(x.shape))
	if err != nil {
		return nil, err
	}
	var sizes []int
	if l.opset >= 13 && len(n.in) == 2 && n.in[1] != nil {
		if sizes, err = ints(n.in[1], "split"); err != nil {
			return nil, err
		}
	} else if l.opset < 13 {
		v, err := intsAttr(n.NodeProto, "split")
		if err != nil {
			return nil, err
		}
		for _, s := range v {
			sizes = append(sizes, int(s))
		}
	}
	outs := len(n.GetOutput())
	if sizes == nil && l.opset >= 18 && attr(n.NodeProto, "num_outputs") != nil {
		// Opset 18: num_outputs pieces of ⌈n/num_outputs⌉, the last smaller.
		count, err := intAttr(n.NodeProto, "num_outputs", 0)
		if err != nil {
			return nil, err
		}
		if count != int64(outs) {
			return nil, fmt.Errorf("num_outputs is %d, but the node has %d outputs", count, outs)
		}
		size := (x.shape[axis] + outs - 1) / outs
		for start := 0; start < x.shape[axis]; start += size {
			sizes = append(sizes, min(size, x.shape[axis]-start))
		}
	}
	if sizes == nil {
		if outs == 0 || x.shape[axis]%outs != 0 {
			return nil, fmt.Errorf("splits %d elements into %d equal pieces", x.shape[axis], outs)
		}
		sizes = slices.Repeat([]int{x.shape[axis] / outs}, outs)
	}
	total := 0
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("split sizes %v", sizes)
		}
		total += s
	}
	if total != x.shape[axis] || len(sizes) != outs {
		return nil, fmt.Errorf("split sizes %v of axis %d of %v into %d outputs", sizes, axis, x.shape, outs)
	}
	var pieces []*tensor
	start := 0
	for _, s := range sizes {
		piece, err := l.slice(n, x, axis, start, start+s)
		if err != nil {
			return nil, err
		}
		pieces = append(pieces, piece)
		start += s
	}
	return pieces, nil
}

// slice is elements start to end-1 along an axis of x.
func (l *lowerer) slice(n *node, x *tensor, axis, start, end int) (*tensor, error) {
	dim := x.shape[axis]
	if start == 0 && end == dim {
		return x, nil
	}
	shape := slices.Clone(x.shape)
	shape[axis] = end - start
	if x.c != nil {
		outer, inner := product(x.shape[:axis]), product(x.shape[axis+1:])
		var out []float64
		for o := range outer {
			base := o * dim * inner
			out = append(out, x.c.data[base+start*inner:base+end*inner]...)
		}
		return folded(n, shape, out, x.c.integer), nil
	}
	d, err := exact(x, "the input")
	if err != nil {
		return nil, err
	}
	v, err := l.add(ir.OpSlice, ir.Attrs{Axis: axis + d, Start: start, End: end}, x.v)
	if err != nil {
		return nil, err
	}
	return &tensor{shape: shape, v: v}, nil
}
