package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// lowerGemm lowers Y = alpha·A'·B' + beta·C (A' is A or Aᵀ by transA, B'
// by transB), which torch.onnx.export writes for nn.Linear on a batch as
// Gemm(x, weight, bias, transB=1). It becomes linear(A', W, b) with the
// weight W = alpha·B'ᵀ, [out, in] as in PyTorch, named after B, and the
// bias b = beta·C, named after C: alpha and beta are folded into the
// parameters, which PyTorch's exports never need (they write 1). A C that
// broadcasts over the rows ([], [1], [N], [1,N]) is the bias, made [N];
// a C of the output's whole shape is added after the linear layer.
func lowerGemm(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	alpha, err1 := floatAttr(n.NodeProto, "alpha", 1)
	beta, err2 := floatAttr(n.NodeProto, "beta", 1)
	transA, err3 := intAttr(n.NodeProto, "transA", 0)
	transB, err4 := intAttr(n.NodeProto, "transB", 0)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	a, b := n.in[0], n.in[1]
	if err := computed(a, "A"); err != nil {
		return nil, err
	}
	if len(a.shape) != 2 {
		return nil, fmt.Errorf("A has shape %v; Gemm takes matrices", a.shape)
	}
	if (transA != 0) != a.transposed {
		return nil, fmt.Errorf("transA=1 is supported only on the model's input, which the generated code then takes transposed")
	}
	m, k := a.shape[0], a.shape[1]
	if transA != 0 {
		m, k = k, m
	}
	if b == nil || b.c == nil || len(b.shape) != 2 {
		return nil, fmt.Errorf("B must be a constant matrix (a weight, as nn.Linear exports it); nngen does not multiply two computed tensors")
	}
	name, w := weight(b, transB != 0)
	out := b.shape[1]
	if transB != 0 {
		out = b.shape[0]
	}
	if in := len(w) / max(out, 1); in != k {
		return nil, fmt.Errorf("A' has %d columns but B' has %d rows", k, in)
	}
	var err error
	if alpha != 1 {
		if w, err = l.scaled(w, alpha, "alpha·B"); err != nil {
			return nil, err
		}
	}
	wp, err := l.param(name, ir.Shape{out, k}, w)
	if err != nil {
		return nil, err
	}
	args := []*ir.Value{a.v, wp}
	var c *tensor
	if len(n.in) == 3 && beta != 0 {
		c = n.in[2]
	}
	var full *ir.Value // C added after the linear layer
	switch {
	case c == nil:
		if add, bias := l.biasAfter(n, out); add != nil {
			bp, err := l.param(bias.c.name, ir.Shape{out}, bias.c.data)
			if err != nil {
				return nil, err
			}
			return l.linearThenBias(n, add, []int{m, out}, append(args, bp))
		}
	case c.c == nil:
		return nil, fmt.Errorf("C must be a constant (a bias)")
	case broadcastsOverRows(c.shape, out):
		bias := c.c.data
		if len(bias) == 1 {
			bias = slices.Repeat(bias, out)
		}
		if beta != 1 {
			if bias, err = l.scaled(bias, beta, "beta·C"); err != nil {
				return nil, err
			}
		}
		bp, err := l.param(c.c.name, ir.Shape{out}, bias)
		if err != nil {
			return nil, err
		}
		args = append(args, bp)
	case slices.Equal(c.shape, []int{m, out}):
		data := c.c.data
		if beta != 1 {
			if data, err = l.scaled(data, beta, "beta·C"); err != nil {
				return nil, err
			}
		}
		if full, err = l.param(c.c.name, ir.Shape{m, out}, data); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("C has shape %v; nngen takes a bias that broadcasts over the rows ([], [1], [%d], [1,%d]) or one of the output's shape [%d,%d]", c.shape, out, out, m, out)
	}
	y, err := l.add(ir.OpLinear, ir.Attrs{}, args...)
	if err != nil {
		return nil, err
	}
	if full != nil {
		y.Name = n.label() + " (A'·B')"
		if y, err = l.add(ir.OpAdd, ir.Attrs{}, y, full); err != nil {
			return nil, err
		}
	}
	return []*tensor{{shape: []int{m, out}, v: y}}, nil
}

// broadcastsOverRows reports whether a Gemm's C of this shape adds the same
// [n] vector to every row.
func broadcastsOverRows(shape []int, n int) bool {
	switch len(shape) {
	case 0:
		return true
	case 1:
		return shape[0] == n || shape[0] == 1
	case 2:
		return shape[0] == 1 && (shape[1] == n || shape[1] == 1)
	}
	return false
}

// lowerMatMul lowers A·B with B a constant [in, out], which
// torch.onnx.export writes for nn.Linear on a single sample, or without a
// bias: MatMul(x, Wᵀ), then Add(bias, ·) when there is a bias. It becomes
// linear(A, W) with W = Bᵀ, [out, in] as in PyTorch, taking in the Add
// when it adds a constant [out] vector to nothing else. A B that the
// export folded from the Linear's weight has a generated name
// ("onnx::MatMul_18"); the weight then gets the state_dict's name back:
// the bias's with "weight" for "bias", else the module's from the node's
// scope ("/layer1/MatMul" is layer1's), as long as no initializer has it.
// A with more than two dimensions multiplies along its last one.
func lowerMatMul(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	a, b := n.in[0], n.in[1]
	if err := computed(a, "A"); err != nil {
		return nil, err
	}
	if b.v != nil {
		return l.product(a, b)
	}
	if b.c == nil || len(b.shape) != 2 {
		return nil, fmt.Errorf("B must be a constant matrix (a weight, as nn.Linear exports it), or a computed tensor")
	}
	k, out := b.shape[0], b.shape[1]
	if len(a.shape) == 0 || a.shape[len(a.shape)-1] != k {
		return nil, fmt.Errorf("A has shape %v but B has %d rows", a.shape, k)
	}
	name, w := weight(b, false)
	shape := append(slices.Clone(a.shape[:len(a.shape)-1]), out)
	add, bias := l.biasAfter(n, out)
	if strings.HasPrefix(name, "onnx::") {
		name = l.weightName(n, name, bias)
	}
	wp, err := l.param(name, ir.Shape{out, k}, w)
	if err != nil {
		return nil, err
	}
	if len(a.shape) > 2 && lead(a) == 0 {
		return l.layerND(n, a, wp, add, bias, shape)
	}
	args := []*ir.Value{a.v, wp}
	if add == nil {
		y, err := l.add(ir.OpLinear, ir.Attrs{}, args...)
		if err != nil {
			return nil, err
		}
		return []*tensor{{shape: shape, v: y}}, nil
	}
	bp, err := l.param(bias.c.name, ir.Shape{out}, bias.c.data)
	if err != nil {
		return nil, err
	}
	return l.linearThenBias(n, add, shape, append(args, bp))
}

// product lowers MatMul of two computed tensors: batched over the leading
// axes, which broadcast (attention's scores and their use).
func (l *lowerer) product(a, b *tensor) ([]*tensor, error) {
	da, err := exact(a, "A")
	if err != nil {
		return nil, err
	}
	db, err := exact(b, "B")
	if err != nil {
		return nil, err
	}
	if len(a.shape) < 2 || len(b.shape) < 2 {
		return nil, fmt.Errorf("A %v and B %v: nngen multiplies computed tensors of two dimensions or more", a.shape, b.shape)
	}
	batch, err := broadcastShapes(a.shape[:len(a.shape)-2], b.shape[:len(b.shape)-2])
	if err != nil {
		return nil, err
	}
	v, err := l.add(ir.OpMatMul, ir.Attrs{}, a.v, b.v)
	if err != nil {
		return nil, err
	}
	shape := append(batch, a.shape[len(a.shape)-2], b.shape[len(b.shape)-1])
	if !slices.Equal(v.Shape, irShape(max(da, db), shape)) {
		return nil, fmt.Errorf("A %v and B %v are held as %v and %v", a.shape, b.shape, a.v.Shape, b.v.Shape)
	}
	return result(shape, v), nil
}

// layerND lowers nn.Linear on a tensor of more than two dimensions: x·wᵀ
// over its last axis, plus the bias the Add after it adds, broadcast.
func (l *lowerer) layerND(n *node, a *tensor, w *ir.Value, add *onnxpb.NodeProto, bias *tensor, shape []int) ([]*tensor, error) {
	w.FanIn = w.Shape[1] // New draws it as nn.Linear does
	y, err := l.add(ir.OpMatMul, ir.Attrs{TransB: true}, a.v, w)
	if err != nil {
		return nil, err
	}
	if add == nil {
		return result(shape, y), nil
	}
	b, err := l.param(bias.c.name, ir.Shape{w.Shape[0]}, bias.c.data)
	if err != nil {
		return nil, err
	}
	b.FanIn = w.FanIn
	if y, err = l.add(ir.OpAdd, ir.Attrs{}, y, b); err != nil {
		return nil, err
	}
	y.Name = scopeLabel(add)
	l.absorbed[add] = true
	l.define(&node{NodeProto: add}, add.GetOutput()[0], &tensor{shape: shape, v: y})
	return nil, nil
}

// weightName recovers the state_dict name of a MatMul's weight that the
// export renamed.
func (l *lowerer) weightName(n *node, name string, bias *tensor) string {
	var candidate string
	switch {
	case bias != nil && strings.HasSuffix(bias.c.name, ".bias"):
		candidate = strings.TrimSuffix(bias.c.name, "bias") + "weight"
	case bias != nil && strings.HasSuffix(bias.c.name, "_bias"): // nn.MultiheadAttention's in_proj_bias: in_proj_weight
		candidate = strings.TrimSuffix(bias.c.name, "bias") + "weight"
	}
	if candidate != "" {
	} else if scope := strings.Split(n.GetName(), "/"); len(scope) >= 3 && scope[len(scope)-2] != "" {
		candidate = scope[len(scope)-2] + ".weight" // "/encoder/encoder.0/MatMul": encoder.0
	}
	if _, taken := l.values[candidate]; candidate == "" || taken || l.params[candidate] != nil {
		return name
	}
	return candidate
}

// biasAfter finds the Add that adds a bias to a linear layer's result: the
// only user of the node's output, adding a constant [out] vector. It
// returns nil when there is none.
func (l *lowerer) biasAfter(n *node, out int) (*onnxpb.NodeProto, *tensor) {
	if len(n.GetOutput()) != 1 {
		return nil, nil
	}
	y := n.GetOutput()[0]
	users := l.consumers[y]
	if len(users) != 1 || l.outputs[y] {
		return nil, nil
	}
	add := users[0]
	if !standard(add) || add.GetOpType() != "Add" || len(add.GetInput()) != 2 || len(add.GetOutput()) != 1 || l.absorbed[add] || attr(add, "axis") != nil {
		return nil, nil
	}
	other := add.GetInput()[0]
	if other == y {
		other = add.GetInput()[1]
	}
	c := l.values[other]
	if other == y || c == nil || c.c == nil || !slices.Equal(c.shape, []int{out}) {
		return nil, nil
	}
	return add, c
}

// linearThenBias makes the linear layer of a MatMul or Gemm whose bias an
// Add after it adds, and defines that Add's output.
func (l *lowerer) linearThenBias(n *node, add *onnxpb.NodeProto, shape []int, args []*ir.Value) ([]*tensor, error) {
	y, err := l.add(ir.OpLinear, ir.Attrs{}, args...)
	if err != nil {
		return nil, err
	}
	y.Name = scopeLabel(add) // "/layer1": both nodes are the layer
	l.absorbed[add] = true
	l.define(&node{NodeProto: add}, add.GetOutput()[0], &tensor{shape: shape, v: y})
	return nil, nil // the MatMul's own output has no other user
}

// scopeLabel names the value that several nodes compute together: by the
// scope torch.onnx.export gives their names ("/layer1" of "/layer1/Add"),
// else as the last node's label.
func scopeLabel(p *onnxpb.NodeProto) string {
	if i := strings.LastIndex(p.GetName(), "/"); i > 0 {
		return printable(p.GetName()[:i])
	}
	return (&node{NodeProto: p}).label()
}

// weight returns the name and values of a linear layer's weight, [out, in],
// read from the constant B: as it is when transposed is true (B is
// [out, in], Gemm with transB=1), else transposed. A B that is itself the
// Transpose of a constant W gives W, name and all.
func weight(b *tensor, transposed bool) (string, []float64) {
	if transposed {
		return b.c.name, b.c.data
	}
	if w := b.c.transposeOf; w != nil {
		return w.name, w.data
	}
	return b.c.name, transpose(b.c.data, b.shape[0], b.shape[1])
}

// scaled multiplies a Gemm's B or C by alpha or beta, which nngen folds
// into the parameter; the product must fit the graph's float type.
func (l *lowerer) scaled(data []float64, k float64, what string) ([]float64, error) {
	out := make([]float64, len(data))
	for i, x := range data {
		out[i] = k * x
		if y := l.rounded(out[i : i+1])[0]; math.IsInf(y, 0) && !math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s[%d] is %g, more than %s holds", what, i, out[i], map[ir.DType]string{ir.F32: "float32", ir.F64: "float64"}[l.g.DType])
		}
	}
	return out, nil
}

// lowerAdd lowers A+B of two computed tensors of one shape (a residual
// connection), or of a computed tensor and a constant of its shape, which
// becomes a parameter. An Add of a bias after MatMul is lowered with the
// MatMul.
func lowerAdd(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 2, 2); err != nil {
		return nil, err
	}
	if attr(n.NodeProto, "axis") != nil {
		return nil, fmt.Errorf("it has an axis (opset 6's broadcast to chosen dimensions); nngen adds as opset 7 and later do, matching the last dimensions")
	}
	a, b := n.in[0], n.in[1]
	if a.v == nil {
		a, b = b, a
	}
	if a.v == nil {
		return nil, fmt.Errorf("both operands are constants; nngen adds to what the network computes")
	}
	if a.transposed || b.transposed {
		return nil, fmt.Errorf("the input read transposed can only be Gemm's A")
	}
	if b.v == nil && causalMask(b, a.shape) && len(a.v.Shape) >= 2 && slices.Equal(a.v.Shape[len(a.v.Shape)-2:], a.shape[len(a.shape)-2:]) {
		y, err := l.add(ir.OpCausalMask, ir.Attrs{}, a.v)
		if err != nil {
			return nil, err
		}
		return result(a.shape, y), nil
	}
	if b.v != nil {
		if !slices.Equal(a.shape, b.shape) || !slices.Equal(a.v.Shape, b.v.Shape) {
			return l.binary(n, ir.OpAdd, a, b)
		}
		y, err := l.add(ir.OpAdd, ir.Attrs{}, a.v, b.v)
		if err != nil {
			return nil, err
		}
		return []*tensor{{shape: a.shape, v: y}}, nil
	}
	if len(b.c.data) == 1 && len(b.shape) <= len(a.shape) || len(b.c.data) != a.v.Shape.Size() && lead(a) >= 0 {
		return l.binary(n, ir.OpAdd, a, b)
	}
	if len(b.c.data) != a.v.Shape.Size() || !sameAfterOnes(a.shape, b.shape) {
		return nil, fmt.Errorf("adds a constant of shape %v to a tensor of shape %v; nngen adds a number, a constant of the same shape, or a bias [N] right after the MatMul or Gemm it belongs to", b.shape, a.shape)
	}
	p, err := l.param(b.c.name, a.v.Shape, b.c.data)
	if err != nil {
		return nil, err
	}
	y, err := l.add(ir.OpAdd, ir.Attrs{}, a.v, p)
	if err != nil {
		return nil, err
	}
	return []*tensor{{shape: a.shape, v: y}}, nil
}

// sameAfterOnes reports whether b is a's shape, perhaps with leading 1s
// added or removed: the same elements in the same order.
func sameAfterOnes(a, b []int) bool {
	trim := func(s []int) []int {
		for len(s) > 0 && s[0] == 1 {
			s = s[1:]
		}
		return s
	}
	return slices.Equal(trim(a), trim(b))
}
