package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// rule lowers one node of an op, returning the tensor of each output.
type rule func(l *lowerer, n *node) ([]*tensor, error)

// rules are the ops nngen lowers, by ONNX op type.
var rules = map[string]rule{
	"Gemm":      lowerGemm,
	"MatMul":    lowerMatMul,
	"Add":       lowerAdd,
	"Sub":       binaryRule(ir.OpSub),
	"Mul":       binaryRule(ir.OpMul),
	"Div":       binaryRule(ir.OpDiv),
	"LeakyRelu": lowerLeakyRelu,
	"Gelu":      lowerGelu,
	"Softmax":   lowerSoftmax,
	"Flatten":   lowerFlatten,
	"Identity":  lowerIdentity,
	"Dropout":   lowerDropout,
	"Transpose": lowerTranspose,
	"Constant":  lowerConstant,

	// Shape arithmetic, folded (fold.go).
	"Shape":           lowerShape,
	"Gather":          lowerGather,
	"Cast":            lowerCast,
	"ConstantOfShape": lowerConstantOfShape,
	"Range":           lowerRange,
	"Where":           lowerWhere,
	"Equal":           foldOnly("Equal"),
	"Less":            foldOnly("Less"),
	"LessOrEqual":     foldOnly("LessOrEqual"),
	"Greater":         foldOnly("Greater"),
	"GreaterOrEqual":  foldOnly("GreaterOrEqual"),
	"And":             foldOnly("And"),
	"Or":              foldOnly("Or"),
	"ReduceProd":      lowerReduceProd,
	"Trilu":           lowerTrilu,

	// Tensors of any rank (tensors.go).
	"Reshape":            lowerReshape,
	"Unsqueeze":          lowerUnsqueeze,
	"Squeeze":            lowerSqueeze,
	"Concat":             lowerConcat,
	"Slice":              lowerSlice,
	"Split":              lowerSplit,
	"Expand":             lowerExpand,
	"ReduceMean":         reduceRule(ir.OpMean, 18),
	"ReduceMax":          reduceRule(ir.OpMax, 18),
	"ReduceSum":          reduceRule(ir.OpSum, 13),
	"Pow":                lowerPow,
	"Clip":               lowerClip,
	"LogSoftmax":         lowerSoftmax,
	"LayerNormalization": lowerLayerNormalization,
	"BatchNormalization": lowerBatchNormalization,
	"GRU":                lowerRecurrent(ir.GRU),
	"LSTM":               lowerRecurrent(ir.LSTM),

	// Convolutions and pooling (conv.go).
	"Conv":              lowerConv,
	"MaxPool":           lowerPool,
	"AveragePool":       lowerPool,
	"Pad":               lowerPad,
	"GlobalAveragePool": lowerGlobalAveragePool,

	"SoftmaxCrossEntropyLoss":   lowerLoss,
	"NegativeLogLikelihoodLoss": lowerLoss,
}

// ruleFor returns the rule of an ONNX op type: its own, or that of the
// unary function of ir's table that names it. An elementwise op of two
// constants is folded.
func ruleFor(opType string) (rule, bool) {
	if r, ok := rules[opType]; ok {
		if f, foldable := foldOps[opType]; foldable {
			return func(l *lowerer, n *node) ([]*tensor, error) {
				if len(n.in) == 2 && n.in[0] != nil && n.in[1] != nil && allConstant(n) {
					return foldBinary(n, f)
				}
				return r(l, n)
			}, true
		}
		return r, true
	}
	for _, u := range ir.UnaryOps() {
		if u.ONNX == opType {
			return unaryRule(u), true
		}
	}
	return nil, false
}

// unaryRule lowers an elementwise function of the op table; an "alpha"
// attribute (Elu's) sets its constant. HardSigmoid's alpha and beta must
// be PyTorch's 1/6 and 1/2, which nngen's hardsigmoid computes.
func unaryRule(u *ir.Unary) rule {
	return func(l *lowerer, n *node) ([]*tensor, error) {
		var attrs ir.Attrs
		if u.Op == ir.OpELU {
			alpha, err := floatAttr(n.NodeProto, "alpha", 1)
			if err != nil {
				return nil, err
			}
			attrs.Alpha = alpha
		}
		if u.Op == ir.OpHardsigmoid {
			alpha, err := floatAttr(n.NodeProto, "alpha", 0.2)
			if err != nil {
				return nil, err
			}
			beta, err := floatAttr(n.NodeProto, "beta", 0.5)
			if err != nil {
				return nil, err
			}
			if float32(alpha) != float32(1.0/6) || beta != 0.5 {
				return nil, fmt.Errorf("alpha %g and beta %g; nngen's hardsigmoid is PyTorch's, alpha 1/6 and beta 0.5", alpha, beta)
			}
		}
		return l.elementwise(n, u.Op, attrs)
	}
}

// foldOnly lowers an op nngen evaluates only on constants.
func foldOnly(op string) rule {
	return func(l *lowerer, n *node) ([]*tensor, error) {
		if err := arity(n, 2, 2); err != nil {
			return nil, err
		}
		if !allConstant(n) {
			// A bool key_padding_mask (or attn_mask) of attention
			// exports as such ops of the input.
			return nil, fmt.Errorf("%s of computed tensors is not supported: nngen computes no booleans, and folds it when its inputs are constants (an attention mask computed in forward, or a bool key_padding_mask, must be a float one, 0 or -inf, added to the scores)", op)
		}
		return foldBinary(n, foldOps[op])
	}
}

// binaryRule lowers Sub, Mul and Div of two computed tensors of one shape,
// or of a computed tensor and a number, in either order.
func binaryRule(op ir.Op) rule {
	return func(l *lowerer, n *node) ([]*tensor, error) {
		if err := arity(n, 2, 2); err != nil {
			return nil, err
		}
		if attr(n.NodeProto, "axis") != nil {
			return nil, fmt.Errorf("it has an axis (opset 6's broadcast to chosen dimensions); nngen broadcasts as opset 7 and later do")
		}
		return l.binary(n, op, n.in[0], n.in[1])
	}
}

// binary computes a op b, broadcast as ONNX does: two computed tensors, or
// one and a constant, which is a number or else a parameter (a LayerNorm's
// weight, a learned scale).
func (l *lowerer) binary(n *node, op ir.Op, a, b *tensor) ([]*tensor, error) {
	if a.transposed || b.transposed {
		return nil, fmt.Errorf("the input read transposed can only be Gemm's A")
	}
	if a.v == nil && b.v == nil {
		return nil, fmt.Errorf("both operands are constants; nngen computes with what the network computes")
	}
	shape, err := broadcastShapes(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	same := a.v != nil && b.v != nil && slices.Equal(a.shape, b.shape) && slices.Equal(a.v.Shape, b.v.Shape)
	d := 0
	if !same {
		// Broadcasting needs the IR to hold the computed operands as
		// ONNX shapes them.
		for _, t := range []*tensor{a, b} {
			if t.v != nil {
				td, err := exact(t, "an operand")
				if err != nil {
					return nil, fmt.Errorf("shapes %v and %v: %v", a.shape, b.shape, err)
				}
				d = max(d, td)
			}
		}
	}
	operand := func(t *tensor) (*ir.Value, error) {
		switch {
		case t.v != nil:
			return t.v, nil
		case len(t.c.data) == 1 && len(t.shape) <= len(shape):
			c := l.g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: t.c.data[0]})
			c.Pos = l.pos
			return c, nil
		}
		return l.param(t.c.name, ir.Shape(slices.Clone(t.shape)), t.c.data)
	}
	x, err := operand(a)
	if err != nil {
		return nil, err
	}
	y, err := operand(b)
	if err != nil {
		return nil, err
	}
	v, err := l.add(op, ir.Attrs{}, x, y)
	if err != nil {
		return nil, err
	}
	if same {
		return result(a.shape, v), nil
	}
	if !slices.Equal(v.Shape, irShape(d, shape)) {
		return nil, fmt.Errorf("shapes %v and %v, held as %v and %v, broadcast to %v, not %v", a.shape, b.shape, x.Shape, y.Shape, v.Shape, shape)
	}
	return result(shape, v), nil
}

func (l *lowerer) elementwise(n *node, op ir.Op, attrs ir.Attrs) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	x := n.in[0]
	if err := computed(x, "its input"); err != nil {
		return nil, err
	}
	if x.transposed {
		return nil, fmt.Errorf("the input read transposed can only be Gemm's A")
	}
	y, err := l.add(op, attrs, x.v)
	if err != nil {
		return nil, err
	}
	return []*tensor{{shape: x.shape, v: y}}, nil
}

// lowerLeakyRelu lowers LeakyRelu(alpha), PyTorch's LeakyReLU(negative_slope).
func lowerLeakyRelu(l *lowerer, n *node) ([]*tensor, error) {
	alpha, err := floatAttr(n.NodeProto, "alpha", 0.01)
	if err != nil {
		return nil, err
	}
	if alpha < 0 {
		return nil, fmt.Errorf("alpha is %g; nngen computes LeakyRelu's gradient from its output, which needs alpha finite and at least 0", alpha)
	}
	return l.elementwise(n, ir.OpLeakyReLU, ir.Attrs{Alpha: alpha})
}

// lowerGelu lowers Gelu (opset 20) with approximate "none" or "tanh".
func lowerGelu(l *lowerer, n *node) ([]*tensor, error) {
	approx, err := stringAttr(n.NodeProto, "approximate", "none")
	if err != nil {
		return nil, err
	}
	var form ir.Approx
	switch approx {
	case "none":
	case "tanh":
		form = ir.ApproxTanh
	default:
		return nil, fmt.Errorf("approximate is %s; want none or tanh", quote(approx))
	}
	return l.elementwise(n, ir.OpGELU, ir.Attrs{Approx: form})
}

// lowerSoftmax lowers Softmax and LogSoftmax, PyTorch's softmax(dim=d),
// which exports as axis=d. Before opset 13 they flattened the axes from
// axis on, which is the same only on the last axis.
func lowerSoftmax(l *lowerer, n *node) ([]*tensor, error) {
	op := ir.OpSoftmax
	if n.GetOpType() == "LogSoftmax" {
		op = ir.OpLogSoftmax
	}
	def := int64(-1)
	if l.opset < 13 {
		def = 1
	}
	axis, err := intAttr(n.NodeProto, "axis", def)
	if err != nil {
		return nil, err
	}
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	rank := int64(len(n.in[0].shape))
	if axis < -rank || axis >= rank {
		return nil, fmt.Errorf("axis %d of a %v tensor", axis, n.in[0].shape)
	}
	if axis < 0 {
		axis += rank
	}
	if axis != rank-1 && (l.opset < 13 || lead(n.in[0]) < 0) {
		return nil, fmt.Errorf("axis %d of a %v tensor: nngen's softmax runs over the last axis (-1)", axis, n.in[0].shape)
	}
	return l.rowOp(n, op, int(axis))
}

// lowerFlatten lowers Flatten(axis), PyTorch's nn.Flatten: nothing to
// compute, since nngen's values are already [rows, features], row-major,
// when the result's leading and trailing sizes are the value's rows and
// features. The model's input flattened right away is declared so.
func lowerFlatten(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	x := n.in[0]
	if err := computed(x, "its input"); err != nil {
		return nil, err
	}
	rank := int64(len(x.shape))
	axis, err := intAttr(n.NodeProto, "axis", 1)
	if err != nil {
		return nil, err
	}
	if axis < -rank || axis > rank {
		return nil, fmt.Errorf("axis %d is outside [%d, %d]", axis, -rank, rank)
	}
	if axis < 0 {
		axis += rank
	}
	shape := []int{product(x.shape[:axis]), product(x.shape[axis:])}
	if d := lead(x); d >= 0 && len(x.shape) > 2 {
		return l.reshaped(x, d, shape)
	}
	if view := l.view(shape); x.transposed || !slices.Equal(view, x.v.Shape) {
		return nil, fmt.Errorf("flattens a %v tensor into %v, which nngen holds as %v; it flattens the model's input, or what is already [batch, features]", x.shape, shape, x.v.Shape)
	}
	return []*tensor{{shape: shape, v: x.v}}, nil
}

// lowerIdentity lowers Identity, PyTorch's nn.Identity: its output is its
// input. The Identity of a constant is a constant of its own, named by the
// output, with a copy of the values: torch.onnx.export writes one for each
// parameter whose values equal another's (two zero biases), keeping one
// initializer ("fc1.bias") and naming the Identity's output as the
// state_dict names the other ("fc2.bias"). They are two parameters in
// PyTorch, trained apart, and so they are in nngen. A parameter that
// PyTorch really shares (weights tied) is one initializer read by both
// layers, and stays one parameter.
func lowerIdentity(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	x := n.in[0]
	if x.c == nil || len(n.GetOutput()) != 1 {
		return []*tensor{x}, nil
	}
	return []*tensor{{shape: x.shape, c: &constant{name: n.GetOutput()[0], data: slices.Clone(x.c.data)}}}, nil
}

// lowerDropout lowers Dropout: in inference (training_mode false or
// absent; is_test 1 before opset 7) an identity, what an export in eval
// mode writes; in training mode (torch.onnx.export(...,
// training=TrainingMode.TRAINING)) the dropout op, x · dropout_mask(x)
// with its ratio (an input from opset 12, an attribute before), the mask
// named after the node's module path: "/block/drop/Dropout" is the layer
// block.drop, as the DropoutMasks hook knows it.
func lowerDropout(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 3); err != nil {
		return nil, err
	}
	isTest, err1 := intAttr(n.NodeProto, "is_test", 0)
	ratio, err2 := floatAttr(n.NodeProto, "ratio", 0.5)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	training := l.opset < 7 && isTest == 0
	if len(n.in) == 3 && n.in[2] != nil {
		mode := n.in[2]
		if mode.c == nil || len(mode.c.data) != 1 {
			return nil, fmt.Errorf("training_mode must be a constant")
		}
		training = mode.c.data[0] != 0
	}
	if out := n.GetOutput(); len(out) > 1 && out[1] != "" && len(l.consumers[out[1]]) > 0 {
		return nil, fmt.Errorf("its mask output is used; nngen keeps Dropout's mask to itself")
	}
	x := n.in[0]
	if !training || x.c != nil {
		return []*tensor{x}, nil
	}
	if l.opset >= 12 && len(n.in) >= 2 && n.in[1] != nil {
		r := n.in[1]
		if r.c == nil || len(r.c.data) != 1 {
			return nil, fmt.Errorf("ratio must be a constant")
		}
		ratio = r.c.data[0]
	}
	if !(ratio >= 0 && ratio <= 1) {
		return nil, fmt.Errorf("ratio %g is not a probability from 0 to 1", ratio)
	}
	mask, err := l.add(ir.OpDropoutMask, ir.Attrs{P: ratio}, x.v)
	if err != nil {
		return nil, err
	}
	layer := dropoutLayer(n)
	if x.v.Op == ir.OpSoftmax && strings.HasPrefix(n.GetName(), "/") {
		// F.multi_head_attention_forward's dropout of the attention
		// weights, a function of nn.MultiheadAttention and no module of
		// its own: named as .nn's multihead_attention names it.
		layer += ".attn_dropout"
	}
	mask.Name = layer + ".mask"
	y, err := l.add(ir.OpMul, ir.Attrs{}, x.v, mask)
	if err != nil {
		return nil, err
	}
	return result(x.shape, y), nil
}

// dropoutLayer is the layer a Dropout node belongs to: its name's module
// path, as PyTorch's exporter writes it ("/block/drop/Dropout" is
// block.drop), or else its output's name.
func dropoutLayer(n *node) string {
	if path, _, ok := strings.Cut(strings.TrimPrefix(n.GetName(), "/"), "/Dropout"); ok && path != "" {
		return strings.ReplaceAll(path, "/", ".")
	}
	return n.GetOutput()[0]
}

// lowerTranspose lowers the Transpose of a constant matrix, which an export
// without constant folding writes for a Linear's weight before MatMul.
func lowerTranspose(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 1, 1); err != nil {
		return nil, err
	}
	x := n.in[0]
	perm, err := intsAttr(n.NodeProto, "perm")
	if err != nil {
		return nil, err
	}
	if x.c == nil {
		p := make([]int, len(x.shape))
		for i := range p {
			p[i] = len(p) - 1 - i // ONNX's default reverses the axes
		}
		if perm != nil {
			if len(perm) != len(p) {
				return nil, fmt.Errorf("perm %v for a %v tensor", perm, x.shape)
			}
			for i, a := range perm {
				p[i] = int(a)
			}
		}
		if !ir.IsPermutation(p) {
			return nil, fmt.Errorf("perm %v is not a permutation", perm)
		}
		return l.permuted(x, p)
	}
	if len(x.shape) != 2 || perm != nil && !slices.Equal(perm, []int64{1, 0}) {
		return nil, fmt.Errorf("nngen transposes constants only as matrices (weights)")
	}
	c := &constant{name: n.GetOutput()[0], data: transpose(x.c.data, x.shape[0], x.shape[1]), transposeOf: x.c}
	return []*tensor{{shape: []int{x.shape[1], x.shape[0]}, c: c}}, nil
}

// lowerConstant lowers a Constant node: a value for the nodes that read
// constants (weights, GELU's coefficients, Dropout's settings).
func lowerConstant(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 0, 0); err != nil {
		return nil, err
	}
	if len(n.GetOutput()) != 1 {
		return nil, fmt.Errorf("a Constant has one output")
	}
	shape, data, err := constantValue(n.NodeProto)
	if err != nil {
		return nil, err
	}
	integer := false
	switch a := n.GetAttribute()[0]; a.GetName() {
	case "value":
		integer = integerType(onnxpb.TensorProto_DataType(a.GetT().GetDataType()))
	case "value_int", "value_ints":
		integer = true
	}
	return []*tensor{{shape: shape, c: &constant{name: n.GetOutput()[0], data: data, integer: integer}}}, nil
}

// constantValue reads a Constant node's value.
func constantValue(p *onnxpb.NodeProto) ([]int, []float64, error) {
	if len(p.GetAttribute()) != 1 {
		return nil, nil, fmt.Errorf("a Constant takes one attribute, it has %d", len(p.GetAttribute()))
	}
	a := p.GetAttribute()[0]
	switch a.GetName() {
	case "value":
		if a.GetT() == nil {
			return nil, nil, fmt.Errorf("value is not a tensor")
		}
		shape, data, err := decodeTensor(a.GetT())
		if err != nil {
			return nil, nil, fmt.Errorf("value: %v", err)
		}
		return shape, data, nil
	case "value_float":
		return []int{}, []float64{shortest(a.GetF())}, nil
	case "value_floats":
		data := make([]float64, len(a.GetFloats()))
		for i, f := range a.GetFloats() {
			data[i] = shortest(f)
		}
		return []int{len(data)}, data, nil
	case "value_int":
		return []int{}, []float64{float64(a.GetI())}, nil
	case "value_ints":
		data := make([]float64, len(a.GetInts()))
		for i, v := range a.GetInts() {
			data[i] = float64(v)
		}
		return []int{len(data)}, data, nil
	}
	return nil, nil, fmt.Errorf("attribute %s is not one nngen reads (value, value_float(s), value_int(s))", quote(a.GetName()))
}

func arity(n *node, least, most int) error {
	if k := len(n.in); k < least || k > most {
		if least == most {
			return fmt.Errorf("%s takes %d inputs, it has %d", printable(n.GetOpType()), least, k)
		}
		return fmt.Errorf("%s takes %d to %d inputs, it has %d", printable(n.GetOpType()), least, most, k)
	}
	for i := range least {
		if n.in[i] == nil {
			return fmt.Errorf("input %d is missing", i)
		}
	}
	return nil
}

// computed checks that an operand is computed by the network.
func computed(t *tensor, what string) error {
	if t == nil || t.v == nil {
		return fmt.Errorf("%s is a constant; nngen lowers this op only on what the network computes", what)
	}
	return nil
}
