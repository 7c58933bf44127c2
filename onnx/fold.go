package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// Shape arithmetic. torch.onnx.export computes shapes at run time (Shape,
// Gather, Unsqueeze, Concat, Reshape...) even where every shape is known,
// as it is in nngen: those nodes are evaluated here, on constants, and
// leave constants, which the nodes that use them read as attributes.

// integerType reports whether an ONNX element type holds integers (or
// booleans), whose Div truncates and whose Cast rounds.
func integerType(t onnxpb.TensorProto_DataType) bool {
	switch t {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return false
	}
	return true
}

// allConstant reports whether every input present is a constant.
func allConstant(n *node) bool {
	for _, t := range n.in {
		if t != nil && t.c == nil {
			return false
		}
	}
	return true
}

// folded is a new constant named after the node's output.
func folded(n *node, shape []int, data []float64, integer bool) *tensor {
	name := ""
	if len(n.GetOutput()) > 0 {
		name = n.GetOutput()[0]
	}
	return &tensor{shape: shape, c: &constant{name: name, data: data, integer: integer}}
}

// ints reads a constant as integers.
func ints(t *tensor, what string) ([]int, error) {
	if t == nil || t.c == nil {
		return nil, fmt.Errorf("%s must be a constant: nngen fixes every shape when it generates code", what)
	}
	out := make([]int, len(t.c.data))
	for i, x := range t.c.data {
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return nil, fmt.Errorf("%s holds %g, not an integer", what, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// strides are the row-major strides of shape.
func strides(shape []int) []int {
	st := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = n
		n *= shape[i]
	}
	return st
}

// broadcastShapes is NumPy's broadcast of two shapes, as ir's ops do it.
func broadcastShapes(a, b []int) ([]int, error) {
	s, err := ir.Broadcast(a, b)
	return []int(s), err
}

// at reads the element of a constant shaped shape that broadcasting pairs
// with the element at flat index i of a result shaped out.
func at(data []float64, shape, out []int, i int) float64 {
	st, ost := strides(shape), strides(out)
	off, skip := 0, len(out)-len(shape)
	for d := range out {
		k := i / ost[d] % out[d]
		if e := d - skip; e >= 0 && shape[e] != 1 {
			off += k * st[e]
		}
	}
	return data[off]
}

// foldBinary evaluates an elementwise op of two constants.
func foldBinary(n *node, f func(x, y float64) float64) ([]*tensor, error) {
	a, b := n.in[0], n.in[1]
	shape, err := broadcastShapes(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	size := product(shape)
	if size > maxElements {
		return nil, fmt.Errorf("a constant of %v is more than nngen's limit", shape)
	}
	integer := a.c.integer && b.c.integer
	out := make([]float64, size)
	for i := range out {
		out[i] = f(at(a.c.data, a.shape, shape, i), at(b.c.data, b.shape, shape, i))
		if integer {
			out[i] = math.Trunc(out[i]) // Div of integers truncates, as C does
		}
	}
	return []*tensor{folded(n, shape, out, integer)}, nil
}

var foldOps = map[string]func(x, y float64) float64{
	"Add":            func(x, y float64) float64 { return x + y },
	"Sub":            func(x, y float64) float64 { return x - y },
	"Mul":            func(x, y float64) float64 { return x * y },
	"Div":            func(x, y float64) float64 { return x / y },
	"Equal":          boolean(func(x, y float64) bool { return x == y }),
	"Less":           boolean(func(x, y float64) bool { return x < y }),
	"LessOrEqual":    boolean(func(x, y float64) bool { return x <= y }),
	"Greater":        boolean(func(x, y float64) bool { return x > y }),
	"GreaterOrEqual": boolean(func(x, y float64) bool { return x >= y }),
	"And":            boolean(func(x, y float64) bool { return x != 0 && y != 0 }),
	"Or":             boolean(func(x, y float64) bool { return x != 0 || y != 0 }),
}

// boolean is a comparison or a logical op as foldBinary evaluates it:
// 1 for true, 0 for false.
func boolean(f func(x, y float64) bool) func(x, y float64) float64 {
	return func(x, y float64) float64 {
		if f(x, y) {
			return 1
		}
		return 0
	}
}

// lowerShape lowers Shape: the input's shape, a constant (start and end
// from opset 15).
func lowerShape(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	shape := n.in[0].shape
	start, err1 := intAttr(n.NodeProto, "start", 0)
	end, err2 := intAttr(n.NodeProto, "end", int64(len(shape)))
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("start or end is not an integer")
	}
	s, e := clampAxis(int(start), len(shape)), clampAxis(int(end), len(shape))
	data := []float64{}
	for _, d := range shape[s:max(s, e)] {
		data = append(data, float64(d))
	}
	return []*tensor{folded(n, []int{len(data)}, data, true)}, nil
}

// clampAxis is a Python-style bound in [0, rank].
func clampAxis(a, rank int) int {
	if a < 0 {
		a += rank
	}
	return min(max(a, 0), rank)
}

// normAxis is an axis in [0, rank), from ONNX's [-rank, rank).
func normAxis(a, rank int) (int, error) {
	if a < -rank || a >= rank {
		return 0, fmt.Errorf("axis %d of a tensor of rank %d", a, rank)
	}
	if a < 0 {
		a += rank
	}
	return a, nil
}

// lowerGather lowers Gather of constants: an element of a shape, most
// often. Gather of a computed tensor (an embedding's lookup) is not
// supported yet.
func lowerGather(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	data, idx := n.in[0], n.in[1]
	if data.c != nil && idx.v != nil {
		return l.embedding(n, data, idx)
	}
	if data.c == nil && idx.c != nil && len(idx.shape) == 0 {
		return l.gatherOne(n, data, idx)
	}
	if data.c == nil {
		return nil, fmt.Errorf("gathers from a computed tensor (an Embedding's lookup), which nngen does not support yet")
	}
	indices, err := ints(idx, "indices")
	if err != nil {
		return nil, err
	}
	axis64, err := intAttr(n.NodeProto, "axis", 0)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(int(axis64), len(data.shape))
	if err != nil {
		return nil, err
	}
	outer, inner := product(data.shape[:axis]), product(data.shape[axis+1:])
	dim := data.shape[axis]
	shape := append(append(slices.Clone(data.shape[:axis]), idx.shape...), data.shape[axis+1:]...)
	var out []float64
	for o := range outer {
		for _, k := range indices {
			if k < 0 {
				k += dim
			}
			if k < 0 || k >= dim {
				return nil, fmt.Errorf("index %d is outside [0, %d)", k, dim)
			}
			start := (o*dim + k) * inner
			out = append(out, data.c.data[start:start+inner]...)
		}
	}
	return []*tensor{folded(n, shape, out, data.c.integer)}, nil
}

// lowerCast lowers Cast of a constant: integers are truncated. A computed
// tensor cast to the model's own float type is itself.
func lowerCast(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	to, err := intAttr(n.NodeProto, "to", 0)
	if err != nil {
		return nil, err
	}
	typ := onnxpb.TensorProto_DataType(to)
	x := n.in[0]
	if x.c == nil {
		if typ == onnxpb.TensorProto_FLOAT || typ == onnxpb.TensorProto_DOUBLE {
			return []*tensor{x}, nil // nngen computes in the model's one float type
		}
		return nil, fmt.Errorf("casts a computed tensor to %s; nngen computes in the model's float type", typ)
	}
	data := slices.Clone(x.c.data)
	integer := integerType(typ)
	for i, v := range data {
		switch {
		case typ == onnxpb.TensorProto_BOOL:
			data[i] = 0
			if v != 0 {
				data[i] = 1
			}
		case integer:
			data[i] = math.Trunc(v)
		}
	}
	return []*tensor{folded(n, x.shape, data, integer)}, nil
}

// lowerConstantOfShape lowers ConstantOfShape: its value (0 by default)
// repeated to the shape its input gives.
func lowerConstantOfShape(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	shape, err := ints(n.in[0], "the shape")
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(shape, func(d int) bool { return d < 0 }) || product(shape) > maxElements {
		return nil, fmt.Errorf("shape %v", shape)
	}
	value, integer := 0.0, false
	if a := attr(n.NodeProto, "value"); a != nil && a.GetT() != nil {
		_, data, err := decodeTensor(a.GetT())
		if err != nil || len(data) != 1 {
			return nil, fmt.Errorf("value must be one number")
		}
		value, integer = data[0], integerType(onnxpb.TensorProto_DataType(a.GetT().GetDataType()))
	}
	return []*tensor{folded(n, shape, slices.Repeat([]float64{value}, product(shape)), integer)}, nil
}

// lowerRange lowers Range of constants.
func lowerRange(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 3, 3); err != nil {
		return nil, err
	}
	if !allConstant(n) {
		return nil, fmt.Errorf("its start, limit and delta must be constants")
	}
	start, limit, delta := n.in[0].c.data[0], n.in[1].c.data[0], n.in[2].c.data[0]
	count := math.Ceil((limit - start) / delta)
	if delta == 0 || math.IsNaN(count) || count > maxElements {
		return nil, fmt.Errorf("start %g, limit %g, delta %g", start, limit, delta)
	}
	var out []float64
	for i := 0; i < int(max(count, 0)); i++ {
		out = append(out, start+float64(i)*delta)
	}
	return []*tensor{folded(n, []int{len(out)}, out, n.in[0].c.integer)}, nil
}

// lowerWhere lowers Where of constants.
func lowerWhere(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 3, 3); err != nil {
		return nil, err
	}
	if !allConstant(n) {
		return nil, fmt.Errorf("Where of computed tensors is not supported; nngen folds it when every input is a constant")
	}
	c, x, y := n.in[0], n.in[1], n.in[2]
	shape, err := broadcastShapes(c.shape, x.shape)
	if err == nil {
		shape, err = broadcastShapes(shape, y.shape)
	}
	if err != nil {
		return nil, err
	}
	out := make([]float64, product(shape))
	for i := range out {
		if at(c.c.data, c.shape, shape, i) != 0 {
			out[i] = at(x.c.data, x.shape, shape, i)
		} else {
			out[i] = at(y.c.data, y.shape, shape, i)
		}
	}
	return []*tensor{folded(n, shape, out, x.c.integer && y.c.integer)}, nil
}

// gatherOne lowers Gather of one constant index from a computed tensor,
// PyTorch's x[:, :, k]: the slice k:k+1 along the axis, without the axis.
func (l *lowerer) gatherOne(n *node, data, idx *tensor) ([]*tensor, error) {
	d, err := exact(data, "data")
	if err != nil {
		return nil, err
	}
	axis64, err := intAttr(n.NodeProto, "axis", 0)
	if err != nil {
		return nil, err
	}
	axis, err := normAxis(int(axis64), len(data.shape))
	if err != nil {
		return nil, err
	}
	k := int(idx.c.data[0])
	if k < 0 {
		k += data.shape[axis]
	}
	if k < 0 || k >= data.shape[axis] {
		return nil, fmt.Errorf("index %v out of range of axis %d of %v", idx.c.data[0], axis, data.shape)
	}
	if axis == 0 && d == 0 {
		return nil, fmt.Errorf("gathers along the batch axis, which nngen does not support")
	}
	s, err := l.add(ir.OpSlice, ir.Attrs{Axis: axis + d, Start: k, End: k + 1}, data.v)
	if err != nil {
		return nil, err
	}
	shape := slices.Delete(slices.Clone(data.shape), axis, axis+1)
	y, err := l.add(ir.OpReshape, ir.Attrs{To: irShape(d, shape)}, s)
	if err != nil {
		return nil, err
	}
	return result(shape, y), nil
}

// lowerReduceProd lowers ReduceProd of a constant, a shape's: the number
// of elements (torch.onnx.export's numel() of an input with a dynamic
// batch, as nn.EmbeddingBag's export computes it).
func lowerReduceProd(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	if x.c == nil {
		return nil, fmt.Errorf("ReduceProd of a computed tensor is not supported; nngen folds it when its input is a constant")
	}
	keep, err1 := intAttr(n.NodeProto, "keepdims", 1)
	noop, err2 := intAttr(n.NodeProto, "noop_with_empty_axes", 0)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("keepdims or noop_with_empty_axes is not an integer")
	}
	axes, given, err := axesInput(n, l.opset, 18, 1)
	if err != nil {
		return nil, err
	}
	if (!given || len(axes) == 0) && noop != 0 {
		return []*tensor{x}, nil
	}
	if given && len(axes) > 0 {
		if axes, err = normAxes(axes, len(x.shape)); err != nil {
			return nil, err
		}
		if len(axes) != len(x.shape) {
			return nil, fmt.Errorf("ReduceProd over axes %v of a constant %v; nngen folds it over every axis", axes, x.shape)
		}
	}
	p := 1.0
	for _, v := range x.c.data {
		p *= v
	}
	shape := []int{}
	if keep != 0 {
		shape = slices.Repeat([]int{1}, len(x.shape))
	}
	return []*tensor{folded(n, shape, []float64{p}, x.c.integer)}, nil
}

// lowerTrilu lowers Trilu of a constant: the upper (or lower) triangle of
// each matrix in its last two axes, from diagonal k on, the rest zeros.
// torch.triu(torch.full((n, n), -inf), 1), the square subsequent mask that
// a transformer makes inside forward, exports so.
func lowerTrilu(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 2); err != nil {
		return nil, err
	}
	x := n.in[0]
	if x.c == nil {
		return nil, fmt.Errorf("Trilu of a computed tensor is not supported; nngen folds it when its input is a constant")
	}
	if len(x.shape) < 2 {
		return nil, fmt.Errorf("Trilu of a %v tensor; it takes matrices, rank 2 or more", x.shape)
	}
	k := 0
	if len(n.in) == 2 && n.in[1] != nil {
		ks, err := ints(n.in[1], "k")
		if err != nil {
			return nil, err
		}
		if len(ks) != 1 {
			return nil, fmt.Errorf("k holds %d numbers, not one", len(ks))
		}
		k = ks[0]
	}
	upper, err := intAttr(n.NodeProto, "upper", 1)
	if err != nil {
		return nil, err
	}
	rows, cols := x.shape[len(x.shape)-2], x.shape[len(x.shape)-1]
	out := slices.Clone(x.c.data)
	for i := range out {
		r, c := i/cols%rows, i%cols
		keep := c-r >= k
		if upper == 0 {
			keep = c-r <= k
		}
		if !keep {
			out[i] = 0
		}
	}
	return []*tensor{folded(n, slices.Clone(x.shape), out, x.c.integer)}, nil
}
