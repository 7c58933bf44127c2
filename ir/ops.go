package ir

import (
	"fmt"
	"slices"
)

// Op names what a value computes.
type Op string

const (
	// Leaves.
	OpInput Op = "input" // data or loss target, passed to the generated method
	OpParam Op = "param" // trainable parameter, [out,in] or [out]
	OpState Op = "state" // optimizer state: a buffer shaped like a parameter, or the step count
	OpHyper Op = "hyper" // settable scalar such as the learning rate
	OpConst Op = "const" // scalar constant

	// Forward: linear layers and activations.
	OpLinear    Op = "linear"     // x[B,in], w[out,in], optional b[out] -> act(x·wᵀ + b) [B,out]
	OpSigmoid   Op = "sigmoid"    // 1/(1+e^-x)
	OpReLU      Op = "relu"       // max(x, 0)
	OpTanh      Op = "tanh"       // tanh x
	OpLeakyReLU Op = "leaky_relu" // x if x > 0, else Alpha·x
	OpGELU      Op = "gelu"       // x·Φ(x), or its tanh approximation (Approx "tanh")
	OpSoftmax   Op = "softmax"    // e^x / Σ e^x over each sample's features

	// Forward: losses, each a scalar from the output and the target.
	OpMSE              Op = "mse"             // (y-t)²
	OpL1               Op = "l1"              // |y-t|
	OpBCEWithLogits    Op = "bce_with_logits" // -[t·log σ(z) + (1-t)·log(1-σ(z))]
	OpCrossEntropy     Op = "cross_entropy"   // logits [B,C], class indices [B] -> -log softmax(z)[class]
	OpMatMul           Op = "matmul"          // a, b -> a·b, either transposed by attribute
	OpSumRows          Op = "sum_rows"        // a[B,n] -> [n], the sum over the batch
	OpAdd              Op = "add"             // elementwise a+b, for gradient accumulation
	OpSigmoidGrad      Op = "sigmoid_grad"    // dy, y -> dy·y(1-y)
	OpReLUGrad         Op = "relu_grad"       // dy, y -> dy where y > 0, else 0
	OpTanhGrad         Op = "tanh_grad"       // dy, y -> dy·(1-y²)
	OpLeakyReLUGrad    Op = "leaky_relu_grad" // dy, y -> dy where y > 0, else Alpha·dy
	OpGELUGrad         Op = "gelu_grad"       // dy, x -> dy·gelu'(x), from the input
	OpSoftmaxGrad      Op = "softmax_grad"    // dy, y -> y·(dy - Σ dy·y) per sample
	OpMSEGrad          Op = "mse_grad"        // y, t, dl -> dl·2(y-t)/N
	OpL1Grad           Op = "l1_grad"         // y, t, dl -> dl·sign(y-t)/N
	OpBCEGrad          Op = "bce_with_logits_grad"
	OpCrossEntropyGrad Op = "cross_entropy_grad" // z, class, dl -> dl·(softmax(z) - onehot)/B

	// Update: optimizer steps, in place on the parameter and its state.
	OpStepCount   Op = "step_count"   // step -> step+1, in place
	OpSGD         Op = "sgd"          // p, g, lr, weight_decay
	OpSGDMomentum Op = "sgd_momentum" // p, g, buf, step, lr, momentum, dampening, weight_decay; Nesterov
	OpAdam        Op = "adam"         // p, g, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay; Decoupled for AdamW
)

// opInfo describes an op's arguments and result.
type opInfo struct {
	minArgs, maxArgs int
	// shape gives the result shape from the arguments, or an error for
	// arguments the op cannot take; nil for leaves, whose shape is declared.
	shape func(v *Value) (Shape, error)
	// inPlace: the result is stored into the first argument's storage.
	inPlace bool
	// intArg is the position of the one argument that holds integers
	// (class indices, the step count), or 0 for none; every other argument
	// has the graph's float type.
	intArg int
}

var opTable = map[Op]opInfo{
	OpInput: {}, OpParam: {}, OpState: {}, OpHyper: {}, OpConst: {},
	OpLinear:           {minArgs: 2, maxArgs: 3, shape: linearShape},
	OpSigmoid:          {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpReLU:             {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpTanh:             {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpLeakyReLU:        {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpGELU:             {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpSoftmax:          {minArgs: 1, maxArgs: 1, shape: rowsShape},
	OpMSE:              {minArgs: 2, maxArgs: 2, shape: lossShape},
	OpL1:               {minArgs: 2, maxArgs: 2, shape: lossShape},
	OpBCEWithLogits:    {minArgs: 2, maxArgs: 2, shape: lossShape},
	OpCrossEntropy:     {minArgs: 2, maxArgs: 2, shape: lossShape, intArg: 1},
	OpMatMul:           {minArgs: 2, maxArgs: 2, shape: matmulShape},
	OpSumRows:          {minArgs: 1, maxArgs: 1, shape: sumRowsShape},
	OpAdd:              {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpSigmoidGrad:      {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpReLUGrad:         {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpTanhGrad:         {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpLeakyReLUGrad:    {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpGELUGrad:         {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpSoftmaxGrad:      {minArgs: 2, maxArgs: 2, shape: rowsShape},
	OpMSEGrad:          {minArgs: 3, maxArgs: 3, shape: lossGradShape},
	OpL1Grad:           {minArgs: 3, maxArgs: 3, shape: lossGradShape},
	OpBCEGrad:          {minArgs: 3, maxArgs: 3, shape: lossGradShape},
	OpCrossEntropyGrad: {minArgs: 3, maxArgs: 3, shape: lossGradShape, intArg: 1},
	OpStepCount:        {minArgs: 1, maxArgs: 1, shape: stepCountShape, inPlace: true},
	OpSGD:              {minArgs: 4, maxArgs: 4, shape: updateShape(0), inPlace: true},
	OpSGDMomentum:      {minArgs: 8, maxArgs: 8, shape: updateShape(1), inPlace: true, intArg: 3},
	OpAdam:             {minArgs: 10, maxArgs: 10, shape: updateShape(2), inPlace: true, intArg: 4},
}

// Activation describes an op that linear can absorb by fusion.
type Activation struct {
	Grad Op // computes the gradient from the upstream gradient and ...
	// FromInput: ... the activation's input; otherwise from its output.
	FromInput bool
	// RowWise: it needs a sample's whole row (softmax), not one element.
	RowWise bool
}

// Activations lists the activations by op.
var Activations = map[Op]Activation{
	OpSigmoid:   {Grad: OpSigmoidGrad},
	OpReLU:      {Grad: OpReLUGrad},
	OpTanh:      {Grad: OpTanhGrad},
	OpLeakyReLU: {Grad: OpLeakyReLUGrad},
	OpGELU:      {Grad: OpGELUGrad, FromInput: true},
	OpSoftmax:   {Grad: OpSoftmaxGrad, RowWise: true},
}

// Losses maps each loss to the op computing its gradient.
var Losses = map[Op]Op{
	OpMSE:           OpMSEGrad,
	OpL1:            OpL1Grad,
	OpBCEWithLogits: OpBCEGrad,
	OpCrossEntropy:  OpCrossEntropyGrad,
}

// IsLeaf reports whether op takes no arguments.
func IsLeaf(op Op) bool {
	info, ok := opTable[op]
	return ok && info.shape == nil
}

// InPlace reports whether op's result is stored into its first argument.
func InPlace(op Op) bool { return opTable[op].inPlace }

// argDType is the dtype op wants for argument i in a graph of dtype d.
func argDType(op Op, i int, d DType) DType {
	if info := opTable[op]; op == OpStepCount || info.intArg != 0 && info.intArg == i {
		return Int
	}
	return d
}

// InferShape computes v's shape from its op and arguments.
func InferShape(v *Value) (Shape, error) {
	info, ok := opTable[v.Op]
	if !ok {
		return nil, fmt.Errorf("unknown op %q", v.Op)
	}
	if info.shape == nil {
		return v.Shape, nil
	}
	if n := len(v.Args); n < info.minArgs || n > info.maxArgs {
		return nil, fmt.Errorf("%s takes %d to %d arguments, got %d", v.Op, info.minArgs, info.maxArgs, n)
	}
	return info.shape(v)
}

func sameShape(v *Value) (Shape, error) {
	for _, a := range v.Args[1:] {
		if !slices.Equal(a.Shape, v.Args[0].Shape) {
			return nil, fmt.Errorf("%s: shapes %v and %v differ", v.Op, v.Args[0].Shape, a.Shape)
		}
	}
	return v.Args[0].Shape, nil
}

func linearShape(v *Value) (Shape, error) {
	x, w := v.Args[0], v.Args[1]
	if len(x.Shape) != 2 || len(w.Shape) != 2 {
		return nil, fmt.Errorf("linear: want x [batch,in] and weight [out,in], got %v and %v", x.Shape, w.Shape)
	}
	if x.Shape[1] != w.Shape[1] {
		return nil, fmt.Errorf("linear: input has %d features but the weight expects %d", x.Shape[1], w.Shape[1])
	}
	if len(v.Args) == 3 && !slices.Equal(v.Args[2].Shape, Shape{w.Shape[0]}) {
		return nil, fmt.Errorf("linear: bias shape %v, want [%d]", v.Args[2].Shape, w.Shape[0])
	}
	if _, ok := Activations[Op(v.Act)]; v.Act != "" && !ok {
		return nil, fmt.Errorf("linear: %q is not an activation", v.Act)
	}
	return Shape{x.Shape[0], w.Shape[0]}, nil
}

func lossShape(v *Value) (Shape, error) {
	y, t := v.Args[0], v.Args[1]
	if v.Op == OpCrossEntropy || v.Op == OpCrossEntropyGrad {
		if len(y.Shape) != 2 || t.DType != Int || !slices.Equal(t.Shape, y.Shape[:1]) {
			return nil, fmt.Errorf("%s: want logits [batch,classes] and class indices [batch], got %v and %s%v", v.Op, y.Shape, t.DType, t.Shape)
		}
	} else if !slices.Equal(y.Shape, t.Shape) {
		return nil, fmt.Errorf("%s: output has shape %v but the target has %v", v.Op, y.Shape, t.Shape)
	}
	if v.Reduction != "mean" && v.Reduction != "sum" {
		return nil, fmt.Errorf("%s: reduction %q, want mean or sum", v.Op, v.Reduction)
	}
	return Shape{}, nil
}

func lossGradShape(v *Value) (Shape, error) {
	if _, err := lossShape(v); err != nil {
		return nil, err
	}
	if len(v.Args[2].Shape) != 0 {
		return nil, fmt.Errorf("%s: upstream gradient must be a scalar, got %v", v.Op, v.Args[2].Shape)
	}
	return v.Args[0].Shape, nil
}

func matmulShape(v *Value) (Shape, error) {
	a, b := v.Args[0].Shape, v.Args[1].Shape
	if len(a) != 2 || len(b) != 2 {
		return nil, fmt.Errorf("matmul: want matrices, got %v and %v", a, b)
	}
	m, k := a[0], a[1]
	if v.TransA {
		m, k = k, m
	}
	k2, n := b[0], b[1]
	if v.TransB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("matmul: inner sizes %d and %d differ", k, k2)
	}
	return Shape{m, n}, nil
}

func sumRowsShape(v *Value) (Shape, error) {
	a := v.Args[0].Shape
	if len(a) != 2 {
		return nil, fmt.Errorf("sum_rows: want a matrix, got %v", a)
	}
	return Shape{a[1]}, nil
}

// rowsShape is for ops over each sample's row: all arguments [batch,n].
func rowsShape(v *Value) (Shape, error) {
	if len(v.Args[0].Shape) != 2 {
		return nil, fmt.Errorf("%s: want [batch,features], got %v", v.Op, v.Args[0].Shape)
	}
	return sameShape(v)
}

func stepCountShape(v *Value) (Shape, error) {
	if s := v.Args[0]; s.Op != OpState || s.DType != Int || len(s.Shape) != 0 {
		return nil, fmt.Errorf("%s: counts in an integer state, not %s", v.Op, s.LongString())
	}
	return Shape{}, nil
}

// updateShape checks an optimizer update: a parameter, its gradient, then
// the given number of state buffers shaped like it, then scalars.
func updateShape(buffers int) func(v *Value) (Shape, error) {
	return func(v *Value) (Shape, error) {
		p := v.Args[0]
		if p.Op != OpParam {
			return nil, fmt.Errorf("%s: updates a parameter, not %s", v.Op, p.Op)
		}
		for i, a := range v.Args[1:] {
			if i < 1+buffers {
				if !slices.Equal(a.Shape, p.Shape) {
					return nil, fmt.Errorf("%s: parameter %v and argument %d %v differ", v.Op, p.Shape, i+1, a.Shape)
				}
			} else if len(a.Shape) != 0 {
				return nil, fmt.Errorf("%s: argument %d must be a scalar, got %v", v.Op, i+1, a.Shape)
			}
		}
		return p.Shape, nil
	}
}
