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
	OpHyper Op = "hyper" // settable scalar such as the learning rate
	OpConst Op = "const" // scalar constant

	// Forward.
	OpLinear  Op = "linear"  // x[B,in], w[out,in], optional b[out] -> act(x·wᵀ + b) [B,out]
	OpSigmoid Op = "sigmoid" // elementwise 1/(1+e^-x)
	OpMSE     Op = "mse"     // y, target -> scalar mean (or sum) of (y-target)²

	// Backward.
	OpMatMul      Op = "matmul"       // a, b -> a·b, either transposed by attribute
	OpSumRows     Op = "sum_rows"     // a[B,n] -> [n], the sum over the batch
	OpAdd         Op = "add"          // elementwise a+b, for gradient accumulation
	OpSigmoidGrad Op = "sigmoid_grad" // dy, y -> dy·y·(1-y)
	OpMSEGrad     Op = "mse_grad"     // y, target, dloss -> dloss·2(y-target)/N

	// Update.
	OpSGD Op = "sgd" // param, grad, lr -> param - lr·grad, written into param
)

// opInfo describes an op's arguments and result.
type opInfo struct {
	minArgs, maxArgs int
	// shape gives the result shape from the arguments, or an error for
	// arguments the op cannot take; nil for leaves, whose shape is declared.
	shape func(v *Value) (Shape, error)
	// inPlace: the result is stored into the first argument's storage.
	inPlace bool
}

var opTable = map[Op]opInfo{
	OpInput: {}, OpParam: {}, OpHyper: {}, OpConst: {},
	OpLinear:      {minArgs: 2, maxArgs: 3, shape: linearShape},
	OpSigmoid:     {minArgs: 1, maxArgs: 1, shape: sameShape},
	OpMSE:         {minArgs: 2, maxArgs: 2, shape: lossShape},
	OpMatMul:      {minArgs: 2, maxArgs: 2, shape: matmulShape},
	OpSumRows:     {minArgs: 1, maxArgs: 1, shape: sumRowsShape},
	OpAdd:         {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpSigmoidGrad: {minArgs: 2, maxArgs: 2, shape: sameShape},
	OpMSEGrad:     {minArgs: 3, maxArgs: 3, shape: lossGradShape},
	OpSGD:         {minArgs: 3, maxArgs: 3, shape: sgdShape, inPlace: true},
}

// Activations are the elementwise ops that linear can absorb by fusion.
var Activations = map[Op]bool{OpSigmoid: true}

// ActivationGrad maps an activation to the op that computes its gradient
// from the upstream gradient and the activation's output.
var ActivationGrad = map[Op]Op{OpSigmoid: OpSigmoidGrad}

// IsLeaf reports whether op takes no arguments.
func IsLeaf(op Op) bool {
	info, ok := opTable[op]
	return ok && info.shape == nil
}

// InPlace reports whether op's result is stored into its first argument.
func InPlace(op Op) bool { return opTable[op].inPlace }

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
	if v.Act != "" && !Activations[Op(v.Act)] {
		return nil, fmt.Errorf("linear: %q is not an activation", v.Act)
	}
	return Shape{x.Shape[0], w.Shape[0]}, nil
}

func lossShape(v *Value) (Shape, error) {
	y, t := v.Args[0], v.Args[1]
	if !slices.Equal(y.Shape, t.Shape) {
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

func sgdShape(v *Value) (Shape, error) {
	p, g, lr := v.Args[0], v.Args[1], v.Args[2]
	if p.Op != OpParam {
		return nil, fmt.Errorf("sgd: updates a parameter, not %s", p.Op)
	}
	if !slices.Equal(p.Shape, g.Shape) {
		return nil, fmt.Errorf("sgd: parameter %v and gradient %v differ", p.Shape, g.Shape)
	}
	if len(lr.Shape) != 0 {
		return nil, fmt.Errorf("sgd: learning rate must be a scalar")
	}
	return p.Shape, nil
}
