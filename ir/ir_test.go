package ir

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// tiny builds a one-layer network, x[2,4] -> sigmoid(linear) -> h[2,3] with
// an MSE loss, its gradients and plain SGD (lr and weight_decay), the way the pass pipeline leaves it,
// but by hand so that ir's tests do not depend on the passes. With planned
// it also gives every value the storage the plan pass would.
func tiny(t testing.TB, planned bool) *Graph {
	t.Helper()
	g := New("Tiny", F32, 2, false)
	must := func(v *Value, err error) *Value {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	named := func(v *Value, name string) *Value { v.Name = name; return v }
	phased := func(v *Value, p Phase) *Value { v.Phase = p; return v }

	x := g.Leaf(OpInput, "x", Shape{2, 4}, Attrs{})
	w := g.Leaf(OpParam, "fc.weight", Shape{3, 4}, Attrs{})
	b := g.Leaf(OpParam, "fc.bias", Shape{3}, Attrs{})
	h := named(must(g.Add(OpLinear, Attrs{Act: "sigmoid"}, x, w, b)), "h")
	target := phased(g.Leaf(OpInput, "target", Shape{2, 3}, Attrs{}), Loss)
	loss := named(must(g.Add(OpMSE, Attrs{Reduction: ReduceMean}, h, target)), "loss")
	one := phased(g.Leaf(OpConst, "", Shape{}, Attrs{Value: 1}), Backward)
	dh := named(must(g.Add(OpMSEGrad, Attrs{Reduction: ReduceMean}, h, target, one)), "dh")
	dz := named(must(g.Add(OpSigmoidGrad, Attrs{}, dh, h)), "dh.pre")
	dw := named(must(g.Add(OpMatMul, Attrs{TransA: true}, dz, x)), "dfc.weight")
	db := named(must(g.Add(OpSumRows, Attrs{}, dz)), "dfc.bias")
	lr := phased(g.Leaf(OpHyper, "lr", Shape{}, Attrs{Value: 0.3}), Update)
	decay := phased(g.Leaf(OpHyper, "weight_decay", Shape{}, Attrs{}), Update)
	named(must(g.Add(OpSGD, Attrs{}, w, dw, lr, decay)), "fc.weight")
	named(must(g.Add(OpSGD, Attrs{}, b, db, lr, decay)), "fc.bias")

	g.Outputs = []*Value{h}
	g.Loss = loss
	w.Grad, b.Grad = dw, db
	var errs []error
	if g.Optimizer, errs = NewOptimizer("sgd", map[string][]float64{"lr": {0.3}}, Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if planned {
		planTiny(g)
	}
	return g
}

// planTiny assigns the storage that the plan pass gives tiny's values (the
// pipeline run on the same network prints the same text but for value IDs):
// h, loss, dh and dh.pre in slots, as none is dead before the next is made,
// gradients in their parameters' gradient fields, updates in place.
func planTiny(g *Graph) {
	v := g.Values
	for _, l := range v {
		switch l.Op {
		case OpInput:
			l.Storage = Storage{Kind: InArg}
		case OpParam:
			l.Storage = Storage{Kind: InParam, Param: l}
		case OpHyper:
			l.Storage = Storage{Kind: InHyper}
		case OpConst:
			l.Storage = Storage{Kind: InConst}
		case OpSGD:
			l.Storage = Storage{Kind: InParam, Param: l.Args[0]}
		}
	}
	v[9].Storage = Storage{Kind: InGrad, Param: v[1]}
	v[10].Storage = Storage{Kind: InGrad, Param: v[2]}
	for i, s := range []*Value{v[3], v[5], v[7], v[8]} {
		s.Storage = Storage{Kind: InSlot, Slot: i}
		g.Slots = append(g.Slots, Slot{Size: s.Shape.Size(), Values: []*Value{s}})
	}
}

// tinyAdam builds, like tiny, a one-layer network as the pass pipeline
// leaves it before planning, with the newer kinds of values: a linear whose
// loop also computes its gelu (Value.Also), cross_entropy against integer
// class labels, and AdamW's update with its state and step count.
func tinyAdam(t testing.TB) *Graph {
	t.Helper()
	g := New("Adam", F64, 2, false)
	must := func(v *Value, err error) *Value {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	named := func(v *Value, name string) *Value { v.Name = name; return v }
	phased := func(v *Value, p Phase) *Value { v.Phase = p; return v }

	x := g.Leaf(OpInput, "x", Shape{2, 4}, Attrs{})
	w := g.Leaf(OpParam, "fc.weight", Shape{3, 4}, Attrs{})
	b := g.Leaf(OpParam, "fc.bias", Shape{3}, Attrs{})
	z := named(must(g.Add(OpLinear, Attrs{}, x, w, b)), "fc")
	h := named(must(g.Add(OpGELU, Attrs{Approx: ApproxTanh}, z)), "h")
	z.Also = h
	label := phased(g.Leaf(OpInput, "label", Shape{2}, Attrs{}), Loss)
	label.DType = Int
	loss := named(must(g.Add(OpCrossEntropy, Attrs{Reduction: ReduceMean}, h, label)), "loss")
	one := phased(g.Leaf(OpConst, "", Shape{}, Attrs{Value: 1}), Backward)
	dh := named(must(g.Add(OpCrossEntropyGrad, Attrs{Reduction: ReduceMean}, h, label, one)), "dh")
	dz := named(must(g.Add(OpGELUGrad, Attrs{Approx: ApproxTanh}, dh, z)), "dfc")
	dw := named(must(g.Add(OpMatMul, Attrs{TransA: true}, dz, x)), "dfc.weight")
	db := named(must(g.Add(OpSumRows, Attrs{}, dz)), "dfc.bias")

	var errs []error
	if g.Optimizer, errs = NewOptimizer("adamw", nil, Pos{}); errs != nil {
		t.Fatal(errs)
	}
	count := phased(g.Leaf(OpState, "steps", Shape{}, Attrs{}), Update)
	count.DType = Int
	step := named(must(g.Add(OpStepCount, Attrs{}, count)), "steps")
	step.DType = Int
	var hypers []*Value
	for _, p := range []*Value{w, b} {
		m := phased(g.Leaf(OpState, p.Name+".exp_avg", p.Shape, Attrs{}), Update)
		v := phased(g.Leaf(OpState, p.Name+".exp_avg_sq", p.Shape, Attrs{}), Update)
		if hypers == nil {
			for _, name := range []string{"lr", "beta1", "beta2", "eps", "weight_decay"} {
				hypers = append(hypers, phased(g.Leaf(OpHyper, name, Shape{}, Attrs{Value: g.Optimizer.Params[name]}), Update))
			}
		}
		grad := map[*Value]*Value{w: dw, b: db}[p]
		named(must(g.Add(OpAdam, Attrs{Decoupled: true}, append([]*Value{p, grad, m, v, step}, hypers...)...)), p.Name)
	}

	g.Outputs = []*Value{h}
	g.Loss = loss
	w.Grad, b.Grad = dw, db
	return g
}

const tinyAdamText = `network Adam f64 batch=2
# forward
v0 = input <f64[2,4]> "x"
v1 = param <f64[3,4]> "fc.weight"
v2 = param <f64[3]> "fc.bias"
v3 = linear[also=v4] <f64[2,3]> v0 v1 v2 "fc"
v4 = gelu[approx=tanh] <f64[2,3]> v3 "h"
# loss
v5 = input <int[2]> "label"
v6 = cross_entropy[reduction=mean] <f64[]> v4 v5 "loss"
# backward
v7 = const[value=1] <f64[]>
v8 = cross_entropy_grad[reduction=mean] <f64[2,3]> v4 v5 v7 "dh"
v9 = gelu_grad[approx=tanh] <f64[2,3]> v8 v3 "dfc"
v10 = matmul[ta] <f64[3,4]> v9 v0 "dfc.weight"
v11 = sum_rows <f64[3]> v9 "dfc.bias"
# update
v12 = state <int[]> "steps"
v13 = step_count <int[]> v12 "steps"
v14 = state <f64[3,4]> "fc.weight.exp_avg"
v15 = state <f64[3,4]> "fc.weight.exp_avg_sq"
v16 = hyper[value=0.001] <f64[]> "lr"
v17 = hyper[value=0.9] <f64[]> "beta1"
v18 = hyper[value=0.999] <f64[]> "beta2"
v19 = hyper[value=1e-08] <f64[]> "eps"
v20 = hyper[value=0.01] <f64[]> "weight_decay"
v21 = adam[decoupled] <f64[3,4]> v1 v10 v14 v15 v13 v16 v17 v18 v19 v20 "fc.weight"
v22 = state <f64[3]> "fc.bias.exp_avg"
v23 = state <f64[3]> "fc.bias.exp_avg_sq"
v24 = adam[decoupled] <f64[3]> v2 v11 v22 v23 v13 v16 v17 v18 v19 v20 "fc.bias"
output v4
loss v6
grad v1 = v10
grad v2 = v11
optimizer adamw beta1=0.9 beta2=0.999 eps=1e-08 lr=0.001 weight_decay=0.01
`

func TestShape(t *testing.T) {
	tests := []struct {
		shape Shape
		size  int
		text  string
	}{
		{nil, 1, "[]"},
		{Shape{}, 1, "[]"},
		{Shape{5}, 5, "[5]"},
		{Shape{2, 3}, 6, "[2,3]"},
		{Shape{8, 5, 4}, 160, "[8,5,4]"},
		{Shape{8, 0}, 0, "[8,0]"},
	}
	for _, tt := range tests {
		if got := tt.shape.Size(); got != tt.size {
			t.Errorf("%#v.Size() = %d, want %d", tt.shape, got, tt.size)
		}
		if got := tt.shape.String(); got != tt.text {
			t.Errorf("%#v.String() = %q, want %q", tt.shape, got, tt.text)
		}
	}
}

func TestPos(t *testing.T) {
	tests := []struct {
		pos   Pos
		valid bool
		text  string
	}{
		{Pos{File: "model.nn", Line: 3, Col: 7}, true, "model.nn:3:7"},
		{Pos{Line: 1, Col: 1}, true, ":1:1"},
		{Pos{}, false, ""},
		{Pos{File: "model.nn"}, false, "model.nn"},
	}
	for _, tt := range tests {
		if got := tt.pos.IsValid(); got != tt.valid {
			t.Errorf("%#v.IsValid() = %v, want %v", tt.pos, got, tt.valid)
		}
		if got := tt.pos.String(); got != tt.text {
			t.Errorf("%#v.String() = %q, want %q", tt.pos, got, tt.text)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{F32.String(), "f32"},
		{F64.String(), "f64"},
		{Int.String(), "int"},
		{Forward.String(), "forward"},
		{Loss.String(), "loss"},
		{Backward.String(), "backward"},
		{Update.String(), "update"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// argOf is an argument of the given op and shape for InferShape cases.
func argOf(op Op, dims ...int) *Value { return &Value{Op: op, Shape: Shape(dims)} }

func inputOf(dims ...int) *Value { return argOf(OpInput, dims...) }

// classesOf is an input of class indices, as cross_entropy takes them.
func classesOf(dims ...int) *Value { return &Value{Op: OpInput, DType: Int, Shape: Shape(dims)} }

// steps is the step count as optimizer lowering makes it.
func steps() *Value { return &Value{Op: OpStepCount, DType: Int, Shape: Shape{}} }

// momentumArgs are sgd_momentum's eight arguments: p, g, buf, step, lr,
// momentum, dampening and weight_decay, the last one given and the three
// before it scalar hypers.
func momentumArgs(p, g, buf, step, last *Value) []*Value {
	return []*Value{p, g, buf, step, argOf(OpHyper), argOf(OpHyper), argOf(OpHyper), last}
}

// adamArgs are adam's ten arguments: p, g, exp_avg, exp_avg_sq, step, then
// lr, beta1, beta2 and the given eps, then weight_decay.
func adamArgs(p, g, m, v, eps *Value) []*Value {
	return []*Value{p, g, m, v, steps(), argOf(OpHyper), argOf(OpHyper), argOf(OpHyper), eps, argOf(OpHyper)}
}

// conv2d is a 2-D convolution's attributes: padding 1, stride and
// dilation 1, one group.
var conv2d = Attrs{Stride: []int{1, 1}, Pad: []int{1, 1}, Dilation: []int{1, 1}, Groups: 1}

// pool2 is a 2×2 window of stride 2.
var pool2 = Attrs{Kernel: []int{2, 2}, Stride: []int{2, 2}, Pad: []int{0, 0}, Dilation: []int{1, 1}}

func withTo(a Attrs, to Shape) Attrs {
	a.To = to
	return a
}

func TestInferShape(t *testing.T) {
	tests := []struct {
		name    string
		op      Op
		attrs   Attrs
		args    []*Value
		shape   Shape // for leaves, the declared shape
		want    Shape
		wantErr string
	}{
		{name: "input", op: OpInput, shape: Shape{1, 4}, want: Shape{1, 4}},
		{name: "param", op: OpParam, shape: Shape{5, 4}, want: Shape{5, 4}},
		{name: "hyper", op: OpHyper, shape: Shape{}, want: Shape{}},
		{name: "const", op: OpConst, shape: Shape{}, want: Shape{}},

		{name: "linear", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 4)}, want: Shape{8, 5}},
		{name: "linear bias", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 4), inputOf(5)}, want: Shape{8, 5}},
		{name: "linear act", op: OpLinear, attrs: Attrs{Act: "sigmoid"}, args: []*Value{inputOf(1, 4), inputOf(5, 4), inputOf(5)}, want: Shape{1, 5}},
		{name: "linear features", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 3)},
			wantErr: "linear: input has 4 features but the weight expects 3"},
		{name: "linear bias shape", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 4), inputOf(4)},
			wantErr: "linear: bias shape [4], want [5]"},
		{name: "linear bias matrix", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 4), inputOf(1, 5)},
			wantErr: "linear: bias shape [1,5], want [5]"},
		{name: "linear vector input", op: OpLinear, args: []*Value{inputOf(4), inputOf(5, 4)},
			wantErr: "linear: want x [batch,in] and weight [out,in], got [4] and [5,4]"},
		{name: "linear not activation", op: OpLinear, attrs: Attrs{Act: "mse"}, args: []*Value{inputOf(8, 4), inputOf(5, 4)},
			wantErr: `linear: "mse" is not an activation`},
		{name: "linear one arg", op: OpLinear, args: []*Value{inputOf(8, 4)},
			wantErr: "linear takes 2 to 3 arguments, got 1"},
		{name: "linear four args", op: OpLinear, args: []*Value{inputOf(8, 4), inputOf(5, 4), inputOf(5), inputOf(5)},
			wantErr: "linear takes 2 to 3 arguments, got 4"},

		{name: "conv2d", op: OpConv, attrs: conv2d, args: []*Value{inputOf(2, 3, 8, 8), inputOf(4, 3, 5, 5), inputOf(4)}, want: Shape{2, 4, 6, 6}},
		{name: "conv1d strided", op: OpConv, attrs: Attrs{Stride: []int{2}, Pad: []int{0}, Dilation: []int{2}, Groups: 1},
			args: []*Value{inputOf(2, 3, 11), inputOf(4, 3, 3)}, want: Shape{2, 4, 4}},
		{name: "conv depthwise", op: OpConv, attrs: Attrs{Stride: []int{1, 1}, Pad: []int{0, 0}, Dilation: []int{1, 1}, Groups: 6},
			args: []*Value{inputOf(2, 6, 4, 4), inputOf(12, 1, 3, 3)}, want: Shape{2, 12, 2, 2}},
		{name: "conv groups", op: OpConv, attrs: Attrs{Stride: []int{1, 1}, Pad: []int{0, 0}, Dilation: []int{1, 1}, Groups: 2},
			args:    []*Value{inputOf(2, 3, 4, 4), inputOf(4, 1, 3, 3)},
			wantErr: "conv: 2 groups of input [2,3,4,4] and weight [4,1,3,3]: want the channels (3 in, 4 out) in whole groups and the weight [out, in/groups, ...]"},
		{name: "conv kernel too big", op: OpConv, attrs: conv2d, args: []*Value{inputOf(2, 3, 2, 2), inputOf(4, 3, 5, 5)},
			wantErr: "conv: a kernel of [5,5] (dilation [1,1]) does not fit the input [2,2] padded by [1,1]"},
		{name: "conv bias", op: OpConv, attrs: conv2d, args: []*Value{inputOf(2, 3, 8, 8), inputOf(4, 3, 5, 5), inputOf(3)},
			wantErr: "conv: bias [3], want [4]"},
		{name: "conv input grad", op: OpConvInputGrad, attrs: withTo(conv2d, Shape{2, 3, 8, 8}),
			args: []*Value{inputOf(2, 4, 6, 6), inputOf(4, 3, 5, 5)}, want: Shape{2, 3, 8, 8}},
		{name: "conv weight grad", op: OpConvWeightGrad, attrs: withTo(conv2d, Shape{4, 3, 5, 5}),
			args: []*Value{inputOf(2, 4, 6, 6), inputOf(2, 3, 8, 8)}, want: Shape{4, 3, 5, 5}},
		{name: "conv weight grad dy", op: OpConvWeightGrad, attrs: withTo(conv2d, Shape{4, 3, 5, 5}),
			args:    []*Value{inputOf(2, 4, 5, 6), inputOf(2, 3, 8, 8)},
			wantErr: "conv_weight_grad: dy [2,4,5,6], but a convolution of [2,3,8,8] by [4,3,5,5] gives [2,4,6,6]"},

		{name: "max_pool", op: OpMaxPool, attrs: pool2, args: []*Value{inputOf(2, 3, 8, 7)}, want: Shape{2, 3, 4, 3}},
		{name: "max_pool padding", op: OpMaxPool, attrs: Attrs{Kernel: []int{2}, Stride: []int{1}, Pad: []int{2}, Dilation: []int{1}},
			args: []*Value{inputOf(2, 3, 8)}, wantErr: "max_pool: kernel [2], stride [1], dilation [1], padding [2]: want kernels, strides and dilations of at least 1, and paddings of at most half the window's reach"},
		{name: "max_pool_grad", op: OpMaxPoolGrad, attrs: pool2, args: []*Value{inputOf(2, 3, 4, 3), inputOf(2, 3, 8, 7)}, want: Shape{2, 3, 8, 7}},
		{name: "avg_pool", op: OpAvgPool, attrs: pool2, args: []*Value{inputOf(2, 3, 8, 7)}, want: Shape{2, 3, 4, 3}},
		{name: "avg_pool_grad", op: OpAvgPoolGrad, attrs: withTo(pool2, Shape{2, 3, 8, 7}), args: []*Value{inputOf(2, 3, 4, 3)}, want: Shape{2, 3, 8, 7}},

		{name: "sigmoid", op: OpSigmoid, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "sigmoid no args", op: OpSigmoid, wantErr: "sigmoid takes 1 argument, got 0"},

		{name: "add", op: OpAdd, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "add differ", op: OpAdd, args: []*Value{inputOf(8, 5), inputOf(5, 8)},
			wantErr: "add: shapes [8,5] and [5,8] do not broadcast: 8 against 5"},
		{name: "add broadcast", op: OpAdd, args: []*Value{inputOf(8, 1, 5), inputOf(3, 1)}, want: Shape{8, 3, 5}},
		{name: "add scalar", op: OpAdd, args: []*Value{inputOf(8, 5), inputOf()}, want: Shape{8, 5}},
		{name: "sub", op: OpSub, args: []*Value{inputOf(5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "mul", op: OpMul, args: []*Value{inputOf(2, 3, 4), inputOf(2, 1, 4)}, want: Shape{2, 3, 4}},
		{name: "div", op: OpDiv, args: []*Value{inputOf(4, 1), inputOf(1, 6)}, want: Shape{4, 6}},
		{name: "div differ", op: OpDiv, args: []*Value{inputOf(4, 2), inputOf(3)},
			wantErr: "div: shapes [4,2] and [3] do not broadcast: 2 against 3"},

		{name: "softmax", op: OpSoftmax, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "softmax scalar", op: OpSoftmax, args: []*Value{inputOf()}, wantErr: "softmax: want a tensor, got a scalar"},
		{name: "softmax_grad", op: OpSoftmaxGrad, args: []*Value{inputOf(2, 4), inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "log_softmax", op: OpLogSoftmax, args: []*Value{inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "log_softmax_grad", op: OpLogSoftmaxGrad, args: []*Value{inputOf(2, 4), inputOf(2, 4)}, want: Shape{2, 4}},

		{name: "sum", op: OpSum, attrs: Attrs{Axes: []int{1}}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 4}},
		{name: "sum keep", op: OpSum, attrs: Attrs{Axes: []int{0, 2}, KeepDims: true}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{1, 3, 1}},
		{name: "sum all", op: OpSum, attrs: Attrs{Axes: []int{0, 1}}, args: []*Value{inputOf(2, 3)}, want: Shape{}},
		{name: "sum no axes", op: OpSum, args: []*Value{inputOf(2, 3)}, wantErr: "sum: no axes to reduce"},
		{name: "mean axes", op: OpMean, attrs: Attrs{Axes: []int{1, 1}}, args: []*Value{inputOf(2, 3)},
			wantErr: "mean: axes [1 1] of a rank-2 tensor, want distinct increasing axes from 0 to 1"},
		{name: "max", op: OpMax, attrs: Attrs{Axes: []int{2}}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 3}},
		{name: "max_grad", op: OpMaxGrad, attrs: Attrs{Axes: []int{2}}, args: []*Value{inputOf(2, 3), inputOf(2, 3, 4), inputOf(2, 3)}, want: Shape{2, 3, 4}},
		{name: "max_grad shapes", op: OpMaxGrad, attrs: Attrs{Axes: []int{2}}, args: []*Value{inputOf(2, 4), inputOf(2, 3, 4), inputOf(2, 3)},
			wantErr: "max_grad: dy [2,4] and y [2,3], want [2,3] for x [2,3,4]"},

		{name: "reshape", op: OpReshape, attrs: Attrs{To: Shape{2, 6}}, args: []*Value{inputOf(2, 3, 2)}, want: Shape{2, 6}},
		{name: "reshape size", op: OpReshape, attrs: Attrs{To: Shape{5}}, args: []*Value{inputOf(2, 3)},
			wantErr: "reshape: [2,3] has 6 elements, [5] has 5"},
		{name: "permute", op: OpPermute, attrs: Attrs{Perm: []int{0, 2, 1}}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 4, 3}},
		{name: "permute bad", op: OpPermute, attrs: Attrs{Perm: []int{0, 0, 1}}, args: []*Value{inputOf(2, 3, 4)},
			wantErr: "permute: [0 0 1] is not a permutation of the 3 axes of [2,3,4]"},
		{name: "expand", op: OpExpand, attrs: Attrs{To: Shape{2, 3, 4}}, args: []*Value{inputOf(3, 1)}, want: Shape{2, 3, 4}},
		{name: "expand bad", op: OpExpand, attrs: Attrs{To: Shape{3}}, args: []*Value{inputOf(2, 3)},
			wantErr: "expand: [2,3] does not broadcast to [3]"},
		{name: "sum_to", op: OpSumTo, attrs: Attrs{To: Shape{3, 1}}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{3, 1}},
		{name: "sum_to bad", op: OpSumTo, attrs: Attrs{To: Shape{2}}, args: []*Value{inputOf(2, 3)},
			wantErr: "sum_to: [2] does not broadcast to [2,3]"},
		{name: "concat", op: OpConcat, attrs: Attrs{Axis: 1}, args: []*Value{inputOf(2, 3), inputOf(2, 4)}, want: Shape{2, 7}},
		{name: "concat differ", op: OpConcat, attrs: Attrs{Axis: 1}, args: []*Value{inputOf(2, 3), inputOf(3, 4)},
			wantErr: "concat: [2,3] and [3,4] differ outside axis 1"},
		{name: "slice", op: OpSlice, attrs: Attrs{Axis: 1, Start: 1, End: 3}, args: []*Value{inputOf(2, 4)}, want: Shape{2, 2}},
		{name: "slice past", op: OpSlice, attrs: Attrs{Axis: 1, Start: 1, End: 5}, args: []*Value{inputOf(2, 4)},
			wantErr: "slice: elements 1 to 5 of axis 1 of [2,4]"},
		{name: "slice_grad", op: OpSliceGrad, attrs: Attrs{Axis: 1, Start: 1, End: 3, To: Shape{2, 4}}, args: []*Value{inputOf(2, 2)}, want: Shape{2, 4}},

		{name: "matmul batched", op: OpMatMul, args: []*Value{inputOf(2, 3, 4), inputOf(4, 5)}, want: Shape{2, 3, 5}},
		{name: "matmul batched broadcast", op: OpMatMul, attrs: Attrs{TransB: true}, args: []*Value{inputOf(2, 1, 3, 4), inputOf(6, 5, 4)}, want: Shape{2, 6, 3, 5}},

		{name: "silu", op: OpSiLU, args: []*Value{inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "silu_grad", op: OpSiLU + "_grad", args: []*Value{inputOf(2, 4), inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "layer_norm", op: OpLayerNorm, attrs: Attrs{Axes: []int{1, 2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "layer_norm axes", op: OpLayerNorm, attrs: Attrs{Axes: []int{1}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4)},
			wantErr: "layer_norm: axes [1] of [2,3,4], want the last ones"},
		{name: "batch_norm", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5, Momentum: 0.1},
			args: []*Value{inputOf(2, 3, 4, 4), argOf(OpBuffer, 3), argOf(OpBuffer, 3), argOf(OpBuffer)}, want: Shape{2, 3, 4, 4}},
		{name: "batch_norm without running statistics", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(2, 3)}, want: Shape{2, 3}},
		{name: "batch_norm of a vector", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(3)},
			wantErr: "batch_norm: input [3], want [batch, channels, ...]"},
		{name: "batch_norm one value per channel", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(1, 3)},
			wantErr: "batch_norm: input [1,3] has one value per channel: training needs more than one (PyTorch refuses it too)"},
		{name: "batch_norm statistics shape", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5},
			args:    []*Value{inputOf(2, 3), argOf(OpBuffer, 4), argOf(OpBuffer, 3), argOf(OpBuffer)},
			wantErr: "batch_norm: running statistics [4] and [3] and count [] for input [2,3], want [3], [3] and a scalar"},
		{name: "batch_norm two arguments", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(2, 3), argOf(OpBuffer, 3)},
			wantErr: "batch_norm takes the input, then optionally running_mean, running_var and num_batches_tracked, then optionally weight and bias; got 2 arguments"},
		{name: "batch_norm affine", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), argOf(OpParam, 3), argOf(OpParam, 3)}, want: Shape{2, 3, 4}},
		{name: "batch_norm affine and running statistics", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5, Momentum: 0.1},
			args: []*Value{inputOf(2, 3), argOf(OpBuffer, 3), argOf(OpBuffer, 3), argOf(OpBuffer), argOf(OpParam, 3), argOf(OpParam, 3)}, want: Shape{2, 3}},
		{name: "batch_norm weight shape", op: OpBatchNorm, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(2, 3), argOf(OpParam, 4), argOf(OpParam, 3)},
			wantErr: "batch_norm: weight [4] and bias [3] for input [2,3], want [3]"},
		{name: "batch_norm eps", op: OpBatchNorm, args: []*Value{inputOf(2, 3)}, wantErr: "batch_norm: eps 0, want a positive number"},
		{name: "batch_norm_grad", op: OpBatchNormGrad, attrs: Attrs{Eps: 1e-5},
			args: []*Value{inputOf(2, 3, 5), inputOf(2, 3, 5), argOf(OpBuffer, 3), argOf(OpBuffer, 3), argOf(OpParam, 3)}, want: Shape{2, 3, 5}},
		{name: "batch_norm_grad shapes", op: OpBatchNormGrad, attrs: Attrs{Eps: 1e-5},
			args:    []*Value{inputOf(2, 3, 5), inputOf(2, 3, 4)},
			wantErr: "batch_norm_grad: dy [2,3,5] and x [2,3,4] differ"},
		{name: "batch_norm_grad weight shape", op: OpBatchNormGrad, attrs: Attrs{Eps: 1e-5},
			args:    []*Value{inputOf(2, 3, 5), inputOf(2, 3, 5), argOf(OpParam, 5)},
			wantErr: "batch_norm_grad: a running statistic or weight of [5] for input [2,3,5], want [3]"},
		{name: "batch_norm_weight_grad", op: OpBatchNormWeightGrad, attrs: Attrs{Eps: 1e-5}, args: []*Value{inputOf(2, 3, 5), inputOf(2, 3, 5)}, want: Shape{3}},
		{name: "batch_norm_weight_grad running", op: OpBatchNormWeightGrad, attrs: Attrs{Eps: 1e-5},
			args: []*Value{inputOf(2, 3, 5), inputOf(2, 3, 5), argOf(OpBuffer, 3), argOf(OpBuffer, 3)}, want: Shape{3}},
		{name: "layer_norm affine", op: OpLayerNorm, attrs: Attrs{Axes: []int{1, 2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), argOf(OpParam, 3, 4), argOf(OpParam, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "layer_norm weight", op: OpLayerNorm, attrs: Attrs{Axes: []int{2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), argOf(OpParam, 4)}, want: Shape{2, 3, 4}},
		{name: "layer_norm weight shape", op: OpLayerNorm, attrs: Attrs{Axes: []int{1, 2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), argOf(OpParam, 4)},
			wantErr: "layer_norm: weight or bias of shape [4], want [3,4], the normalized axes' of [2,3,4]"},
		{name: "layer_norm_affine_grad", op: OpLayerNormAffineGrad, attrs: Attrs{Axes: []int{2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), inputOf(2, 3, 4), argOf(OpParam, 4)}, want: Shape{2, 3, 4}},
		{name: "layer_norm_weight_grad", op: OpLayerNormWeightGrad, attrs: Attrs{Axes: []int{1, 2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), inputOf(2, 3, 4)}, want: Shape{3, 4}},
		{name: "dropout_mask", op: OpDropoutMask, attrs: Attrs{P: 0.3}, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "dropout_mask p=1", op: OpDropoutMask, attrs: Attrs{P: 1}, args: []*Value{inputOf(2, 3)}, want: Shape{2, 3}},
		{name: "causal_mask", op: OpCausalMask, args: []*Value{inputOf(2, 3, 5, 5)}, want: Shape{2, 3, 5, 5}},
		{name: "causal_mask_grad", op: OpCausalMaskGrad, args: []*Value{inputOf(2, 4, 6)}, want: Shape{2, 4, 6}},
		{name: "causal_mask vector", op: OpCausalMask, args: []*Value{inputOf(5)}, wantErr: "causal_mask: want scores [..., queries, keys], got [5]"},
		{name: "gru_cell", op: OpGRUCell, args: []*Value{inputOf(3, 12), inputOf(3, 12), inputOf(3, 4)}, want: Shape{3, 4}},
		{name: "gru_cell bias alone", op: OpGRUCell, args: []*Value{inputOf(3, 12), argOf(OpParam, 12)}, want: Shape{3, 4}},
		{name: "gru_cell unbatched", op: OpGRUCell, args: []*Value{inputOf(12)}, want: Shape{4}},
		{name: "gru_cell gates", op: OpGRUCell, args: []*Value{inputOf(3, 10)}, wantErr: "gru_cell: want pre-activations [..., 3·hidden], got [3,10]"},
		{name: "gru_cell state", op: OpGRUCell, args: []*Value{inputOf(3, 12), inputOf(3, 12), inputOf(3, 5)},
			wantErr: "gru_cell: argument 3 is [3,5], want [3,4] beside pre-activations [3,12]"},
		{name: "gru_cell_grad gh", op: OpGRUCellGrad, attrs: Attrs{Wrt: 1}, args: []*Value{inputOf(3, 4), inputOf(3, 12), argOf(OpParam, 12)}, want: Shape{3, 12}},
		{name: "gru_cell_grad h", op: OpGRUCellGrad, attrs: Attrs{Wrt: 2}, args: []*Value{inputOf(3, 4), inputOf(3, 12), inputOf(3, 12), inputOf(3, 4)}, want: Shape{3, 4}},
		{name: "gru_cell_grad wrt", op: OpGRUCellGrad, attrs: Attrs{Wrt: 2}, args: []*Value{inputOf(3, 4), inputOf(3, 12)}, wantErr: "gru_cell_grad: no argument 2 among 1"},
		{name: "lstm_cell", op: OpLSTMCell, args: []*Value{inputOf(2, 5, 16), inputOf(2, 5, 4)}, want: Shape{2, 5, 4}},
		{name: "lstm_cell_grad s", op: OpLSTMCellGrad, args: []*Value{inputOf(2, 4), inputOf(2, 16)}, want: Shape{2, 16}},
		{name: "lstm_cell_grad dy", op: OpLSTMCellGrad, args: []*Value{inputOf(2, 5), inputOf(2, 16)}, wantErr: "lstm_cell_grad: dy is [2,5], want [2,4]"},
		{name: "lstm_hidden", op: OpLSTMHidden, args: []*Value{inputOf(2, 16), inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "lstm_hidden_grad c", op: OpLSTMHiddenGrad, attrs: Attrs{Wrt: 1}, args: []*Value{inputOf(2, 4), inputOf(2, 16), inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "dropout_mask p", op: OpDropoutMask, attrs: Attrs{P: 1.5}, args: []*Value{inputOf(2, 3)}, wantErr: "dropout_mask: p 1.5, want a probability from 0 to 1"},
		{name: "layer_norm_grad", op: OpLayerNormGrad, attrs: Attrs{Axes: []int{2}, Eps: 1e-5}, args: []*Value{inputOf(2, 3, 4), inputOf(2, 3, 4), inputOf(2, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "pow", op: OpPow, attrs: Attrs{Exponent: 3}, args: []*Value{inputOf(2, 4)}, want: Shape{2, 4}},
		{name: "clamp bounds", op: OpClamp, attrs: Attrs{Min: 1, Max: 0}, args: []*Value{inputOf(2, 4)},
			wantErr: "clamp: bounds [1, 0] are not an interval"},
		{name: "sigmoid_grad", op: OpSigmoidGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "sigmoid_grad differ", op: OpSigmoidGrad, args: []*Value{inputOf(8, 5), inputOf(8)},
			wantErr: "sigmoid_grad: shapes [8,5] and [8] differ"},

		{name: "mse mean", op: OpMSE, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "mse sum", op: OpMSE, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "mse shapes", op: OpMSE, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 2)},
			wantErr: "mse: output has shape [8,3] but the target has [8,2]"},
		{name: "mse no reduction", op: OpMSE, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: `mse: reduction none, want mean or sum`},
		{name: "mse bad reduction", op: OpMSE, attrs: Attrs{Reduction: 9}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: `mse: reduction Reduce(9), want mean or sum`},
		{name: "mse three args", op: OpMSE, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()},
			wantErr: "mse takes 2 arguments, got 3"},

		{name: "mse_grad", op: OpMSEGrad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()}, want: Shape{8, 3}},
		{name: "mse_grad sum", op: OpMSEGrad, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(1, 3), inputOf(1, 3), inputOf()}, want: Shape{1, 3}},
		{name: "mse_grad shapes", op: OpMSEGrad, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 3), inputOf(3, 8), inputOf()},
			wantErr: "mse_grad: output has shape [8,3] but the target has [3,8]"},
		{name: "mse_grad bad reduction", op: OpMSEGrad, attrs: Attrs{}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()},
			wantErr: `mse_grad: reduction none, want mean or sum`},
		{name: "mse_grad upstream", op: OpMSEGrad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf(1)},
			wantErr: "mse_grad: upstream gradient must be a scalar, got [1]"},
		{name: "mse_grad two args", op: OpMSEGrad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "mse_grad takes 3 arguments, got 2"},

		{name: "matmul", op: OpMatMul, args: []*Value{inputOf(8, 5), inputOf(5, 4)}, want: Shape{8, 4}},
		{name: "matmul ta", op: OpMatMul, attrs: Attrs{TransA: true}, args: []*Value{inputOf(8, 5), inputOf(8, 4)}, want: Shape{5, 4}},
		{name: "matmul tb", op: OpMatMul, attrs: Attrs{TransB: true}, args: []*Value{inputOf(8, 5), inputOf(4, 5)}, want: Shape{8, 4}},
		{name: "matmul ta tb", op: OpMatMul, attrs: Attrs{TransA: true, TransB: true}, args: []*Value{inputOf(5, 8), inputOf(4, 5)}, want: Shape{8, 4}},
		{name: "matmul outer", op: OpMatMul, attrs: Attrs{TransA: true}, args: []*Value{inputOf(1, 5), inputOf(1, 4)}, want: Shape{5, 4}},
		{name: "matmul inner", op: OpMatMul, args: []*Value{inputOf(8, 5), inputOf(4, 4)},
			wantErr: "matmul: inner sizes 5 and 4 differ"},
		{name: "matmul ta inner", op: OpMatMul, attrs: Attrs{TransA: true}, args: []*Value{inputOf(8, 5), inputOf(5, 4)},
			wantErr: "matmul: inner sizes 8 and 5 differ"},
		{name: "matmul tb inner", op: OpMatMul, attrs: Attrs{TransB: true}, args: []*Value{inputOf(8, 5), inputOf(5, 4)},
			wantErr: "matmul: inner sizes 5 and 4 differ"},
		{name: "matmul vector", op: OpMatMul, args: []*Value{inputOf(5), inputOf(5, 4)},
			wantErr: "matmul: want matrices, got [5] and [5,4]"},

		{name: "sum_rows", op: OpSumRows, args: []*Value{inputOf(8, 5)}, want: Shape{5}},
		{name: "sum_rows vector", op: OpSumRows, args: []*Value{inputOf(5)},
			wantErr: "sum_rows: want a matrix, got [5]"},

		{name: "state", op: OpState, shape: Shape{5, 4}, want: Shape{5, 4}},
		{name: "buffer", op: OpBuffer, shape: Shape{4}, want: Shape{4}},
		{name: "state scalar", op: OpState, shape: Shape{}, want: Shape{}},

		{name: "relu", op: OpReLU, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "relu two args", op: OpReLU, args: []*Value{inputOf(8, 5), inputOf(8, 5)},
			wantErr: "relu takes 1 argument, got 2"},
		{name: "tanh", op: OpTanh, args: []*Value{inputOf(1, 3)}, want: Shape{1, 3}},
		{name: "leaky_relu", op: OpLeakyReLU, attrs: Attrs{Alpha: 0.2}, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "gelu", op: OpGELU, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "gelu tanh", op: OpGELU, attrs: Attrs{Approx: ApproxTanh}, args: []*Value{inputOf(2, 7)}, want: Shape{2, 7}},
		{name: "softmax", op: OpSoftmax, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "softmax vector", op: OpSoftmax, args: []*Value{inputOf(5)}, want: Shape{5}},
		{name: "softmax 3-d", op: OpSoftmax, args: []*Value{inputOf(2, 3, 4)}, want: Shape{2, 3, 4}},
		{name: "linear act leaky_relu", op: OpLinear, attrs: Attrs{Act: "leaky_relu", Alpha: 0.1}, args: []*Value{inputOf(8, 4), inputOf(5, 4)}, want: Shape{8, 5}},
		{name: "linear act softmax", op: OpLinear, attrs: Attrs{Act: "softmax"}, args: []*Value{inputOf(8, 4), inputOf(5, 4)}, want: Shape{8, 5}},
		{name: "linear act gelu", op: OpLinear, attrs: Attrs{Act: "gelu", Approx: ApproxTanh}, args: []*Value{inputOf(8, 4), inputOf(5, 4)}, want: Shape{8, 5}},
		{name: "linear act gradient op", op: OpLinear, attrs: Attrs{Act: "relu_grad"}, args: []*Value{inputOf(8, 4), inputOf(5, 4)},
			wantErr: `linear: "relu_grad" is not an activation`},

		{name: "relu_grad", op: OpReLUGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "relu_grad differ", op: OpReLUGrad, args: []*Value{inputOf(8, 5), inputOf(5, 8)},
			wantErr: "relu_grad: shapes [8,5] and [5,8] differ"},
		{name: "tanh_grad", op: OpTanhGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "tanh_grad one arg", op: OpTanhGrad, args: []*Value{inputOf(8, 5)},
			wantErr: "tanh_grad takes 2 arguments, got 1"},
		{name: "leaky_relu_grad", op: OpLeakyReLUGrad, attrs: Attrs{Alpha: 0.01}, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "gelu_grad", op: OpGELUGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "gelu_grad differ", op: OpGELUGrad, args: []*Value{inputOf(8, 5), inputOf(8, 4)},
			wantErr: "gelu_grad: shapes [8,5] and [8,4] differ"},
		{name: "softmax_grad", op: OpSoftmaxGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "softmax_grad differ", op: OpSoftmaxGrad, args: []*Value{inputOf(8, 5), inputOf(8, 4)},
			wantErr: "softmax_grad: shapes [8,5] and [8,4] differ"},
		{name: "softmax_grad scalar", op: OpSoftmaxGrad, args: []*Value{inputOf(), inputOf()},
			wantErr: "softmax_grad: want a tensor, got a scalar"},

		{name: "l1", op: OpL1, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "l1 shapes", op: OpL1, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 3), inputOf(8, 1)},
			wantErr: "l1: output has shape [8,3] but the target has [8,1]"},
		{name: "l1 reduction", op: OpL1, attrs: Attrs{}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: `l1: reduction none, want mean or sum`},
		{name: "bce_with_logits", op: OpBCEWithLogits, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 1), inputOf(8, 1)}, want: Shape{}},
		{name: "bce_with_logits shapes", op: OpBCEWithLogits, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 2), inputOf(2, 8)},
			wantErr: "bce_with_logits: output has shape [8,2] but the target has [2,8]"},
		{name: "cross_entropy", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), classesOf(8)}, want: Shape{}},
		{name: "cross_entropy sequence", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 5, 3), classesOf(8, 5)}, want: Shape{}},
		{name: "cross_entropy sequence labels", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 5, 3), classesOf(8)},
			wantErr: "cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [8,5,3] and int[8]"},
		{name: "cross_entropy sum", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(1, 10), classesOf(1)}, want: Shape{}},
		{name: "cross_entropy float targets", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8)},
			wantErr: "cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [8,3] and f32[8]"},
		{name: "cross_entropy one-hot targets", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), classesOf(8, 3)},
			wantErr: "cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [8,3] and int[8,3]"},
		{name: "cross_entropy batch", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), classesOf(3)},
			wantErr: "cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [8,3] and int[3]"},
		{name: "cross_entropy vector logits", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(3), classesOf()},
			wantErr: "cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [3] and int[]"},
		{name: "cross_entropy reduction", op: OpCrossEntropy, args: []*Value{inputOf(8, 3), classesOf(8)},
			wantErr: `cross_entropy: reduction none, want mean or sum`},

		{name: "cross_entropy options", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean, Weight: []float64{1, 2, 0.5}, Ignores: true, IgnoreIndex: -100, LabelSmoothing: 0.1},
			args: []*Value{inputOf(8, 3), classesOf(8)}, want: Shape{}},
		{name: "cross_entropy weights", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean, Weight: []float64{1, 2}},
			args: []*Value{inputOf(8, 3), classesOf(8)}, wantErr: "cross_entropy: 2 class weights for 3 classes"},
		{name: "cross_entropy label_smoothing", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean, LabelSmoothing: 1.5},
			args: []*Value{inputOf(8, 3), classesOf(8)}, wantErr: "cross_entropy: label_smoothing 1.5, want it in [0, 1]"},
		{name: "cross_entropy beta", op: OpCrossEntropy, attrs: Attrs{Reduction: ReduceMean, Delta: 1},
			args: []*Value{inputOf(8, 3), classesOf(8)}, wantErr: "cross_entropy: beta and delta are options of smooth_l1 and huber"},
		{name: "nll_loss", op: OpNLL, attrs: Attrs{Reduction: ReduceSum, Weight: []float64{1, 2, 0.5}, Ignores: true, IgnoreIndex: 2},
			args: []*Value{inputOf(8, 3), classesOf(8)}, want: Shape{}},
		{name: "nll_loss float targets", op: OpNLL, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "nll_loss: want logits [batch, ..., classes] and class indices [batch, ...], got [8,3] and f32[8,3]"},
		{name: "nll_loss label_smoothing", op: OpNLL, attrs: Attrs{Reduction: ReduceMean, LabelSmoothing: 0.1},
			args: []*Value{inputOf(8, 3), classesOf(8)}, wantErr: "nll_loss: label_smoothing is an option of cross_entropy"},
		{name: "smooth_l1", op: OpSmoothL1, attrs: Attrs{Reduction: ReduceMean, Delta: 0.5}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "smooth_l1 beta", op: OpSmoothL1, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "smooth_l1: beta 0, want it positive"},
		{name: "smooth_l1 weight", op: OpSmoothL1, attrs: Attrs{Reduction: ReduceMean, Delta: 1, Weight: []float64{1, 2, 3}}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "smooth_l1: weight and ignore_index are options of the losses of class indices"},
		{name: "huber", op: OpHuber, attrs: Attrs{Reduction: ReduceSum, Delta: 2}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "huber delta", op: OpHuber, attrs: Attrs{Reduction: ReduceSum, Delta: -1}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "huber: delta -1, want it positive"},
		{name: "huber shapes", op: OpHuber, attrs: Attrs{Reduction: ReduceSum, Delta: 1}, args: []*Value{inputOf(8, 3), inputOf(8)},
			wantErr: "huber: output has shape [8,3] but the target has [8]"},

		{name: "l1_grad", op: OpL1Grad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()}, want: Shape{8, 3}},
		{name: "l1_grad upstream", op: OpL1Grad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf(8, 3)},
			wantErr: "l1_grad: upstream gradient must be a scalar, got [8,3]"},
		{name: "bce_with_logits_grad", op: OpBCEGrad, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 1), inputOf(8, 1), inputOf()}, want: Shape{8, 1}},
		{name: "bce_with_logits_grad shapes", op: OpBCEGrad, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 1), inputOf(8), inputOf()},
			wantErr: "bce_with_logits_grad: output has shape [8,1] but the target has [8]"},
		{name: "cross_entropy_grad", op: OpCrossEntropyGrad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), classesOf(8), inputOf()}, want: Shape{8, 3}},
		{name: "cross_entropy_grad float targets", op: OpCrossEntropyGrad, attrs: Attrs{Reduction: ReduceMean}, args: []*Value{inputOf(8, 3), inputOf(8), inputOf()},
			wantErr: "cross_entropy_grad: want logits [batch, ..., classes] and class indices [batch, ...], got [8,3] and f32[8]"},
		{name: "nll_loss_grad", op: OpNLLGrad, attrs: Attrs{Reduction: ReduceMean, Ignores: true}, args: []*Value{inputOf(8, 3), classesOf(8), inputOf()}, want: Shape{8, 3}},
		{name: "smooth_l1_grad", op: OpSmoothL1Grad, attrs: Attrs{Reduction: ReduceMean, Delta: 1}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()}, want: Shape{8, 3}},
		{name: "huber_grad", op: OpHuberGrad, attrs: Attrs{Reduction: ReduceMean, Delta: 1}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf(8, 3)},
			wantErr: "huber_grad: upstream gradient must be a scalar, got [8,3]"},
		{name: "cross_entropy_grad upstream", op: OpCrossEntropyGrad, attrs: Attrs{Reduction: ReduceSum}, args: []*Value{inputOf(8, 3), classesOf(8), inputOf(1)},
			wantErr: "cross_entropy_grad: upstream gradient must be a scalar, got [1]"},

		{name: "step_count", op: OpStepCount, args: []*Value{{Op: OpState, DType: Int, Shape: Shape{}}}, want: Shape{}},
		{name: "step_count of a step_count", op: OpStepCount, args: []*Value{steps()},
			wantErr: "step_count: counts in an integer state, not v0 = step_count <int[]>"},
		{name: "step_count float state", op: OpStepCount, args: []*Value{argOf(OpState)},
			wantErr: "step_count: counts in an integer state, not v0 = state <f32[]>"},
		{name: "step_count int input", op: OpStepCount, args: []*Value{classesOf()},
			wantErr: "step_count: counts in an integer state, not v0 = input <int[]>"},
		{name: "step_count int vector state", op: OpStepCount, args: []*Value{{Op: OpState, DType: Int, Shape: Shape{3}}},
			wantErr: "step_count: counts in an integer state, not v0 = state <int[3]>"},
		{name: "step_count no args", op: OpStepCount,
			wantErr: "step_count takes 1 argument, got 0"},

		{name: "sgd", op: OpSGD, args: []*Value{argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpHyper), argOf(OpHyper)}, want: Shape{5, 4}},
		{name: "sgd input", op: OpSGD, args: []*Value{inputOf(5, 4), inputOf(5, 4), argOf(OpHyper), argOf(OpHyper)},
			wantErr: "sgd: updates a parameter, not input"},
		{name: "sgd state", op: OpSGD, args: []*Value{argOf(OpState, 5, 4), inputOf(5, 4), argOf(OpHyper), argOf(OpHyper)},
			wantErr: "sgd: updates a parameter, not state"},
		{name: "sgd grad shape", op: OpSGD, args: []*Value{argOf(OpParam, 5, 4), inputOf(4, 5), argOf(OpHyper), argOf(OpHyper)},
			wantErr: "sgd: parameter [5,4] and argument 1 [4,5] differ"},
		{name: "sgd lr", op: OpSGD, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpHyper, 1), argOf(OpHyper)},
			wantErr: "sgd: argument 2 must be a scalar, got [1]"},
		{name: "sgd weight_decay", op: OpSGD, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpHyper), argOf(OpHyper, 5)},
			wantErr: "sgd: argument 3 must be a scalar, got [5]"},
		{name: "sgd without weight_decay", op: OpSGD, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpHyper)},
			wantErr: "sgd takes 4 arguments, got 3"},

		{name: "sgd_momentum", op: OpSGDMomentum, attrs: Attrs{Nesterov: true},
			args: momentumArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 5, 4), steps(), argOf(OpHyper)), want: Shape{5, 4}},
		{name: "sgd_momentum input", op: OpSGDMomentum,
			args:    momentumArgs(inputOf(5, 4), inputOf(5, 4), argOf(OpState, 5, 4), steps(), argOf(OpHyper)),
			wantErr: "sgd_momentum: updates a parameter, not input"},
		{name: "sgd_momentum buffer shape", op: OpSGDMomentum,
			args:    momentumArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 4, 5), steps(), argOf(OpHyper)),
			wantErr: "sgd_momentum: parameter [5,4] and argument 2 [4,5] differ"},
		{name: "sgd_momentum step", op: OpSGDMomentum,
			args:    momentumArgs(argOf(OpParam, 5), inputOf(5), argOf(OpState, 5), argOf(OpState, 5), argOf(OpHyper)),
			wantErr: "sgd_momentum: argument 3 must be a scalar, got [5]"},
		{name: "sgd_momentum hyper", op: OpSGDMomentum,
			args:    momentumArgs(argOf(OpParam, 5), inputOf(5), argOf(OpState, 5), steps(), argOf(OpHyper, 1)),
			wantErr: "sgd_momentum: argument 7 must be a scalar, got [1]"},
		{name: "sgd_momentum arity", op: OpSGDMomentum, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpState, 5), steps()},
			wantErr: "sgd_momentum takes 8 arguments, got 4"},

		{name: "adam", op: OpAdam,
			args: adamArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 5, 4), argOf(OpState, 5, 4), argOf(OpHyper)), want: Shape{5, 4}},
		{name: "adamw", op: OpAdam, attrs: Attrs{Decoupled: true},
			args: adamArgs(argOf(OpParam, 3), inputOf(3), argOf(OpState, 3), argOf(OpState, 3), argOf(OpHyper)), want: Shape{3}},
		{name: "adam hyper", op: OpAdam,
			args:    adamArgs(argOf(OpHyper), inputOf(), argOf(OpState), argOf(OpState), argOf(OpHyper)),
			wantErr: "adam: updates a parameter, not hyper"},
		{name: "adam exp_avg shape", op: OpAdam,
			args:    adamArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 5), argOf(OpState, 5, 4), argOf(OpHyper)),
			wantErr: "adam: parameter [5,4] and argument 2 [5] differ"},
		{name: "adam exp_avg_sq shape", op: OpAdam,
			args:    adamArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 5, 4), argOf(OpState, 4), argOf(OpHyper)),
			wantErr: "adam: parameter [5,4] and argument 3 [4] differ"},
		{name: "adam hyper shape", op: OpAdam,
			args:    adamArgs(argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpState, 5, 4), argOf(OpState, 5, 4), argOf(OpHyper, 2)),
			wantErr: "adam: argument 8 must be a scalar, got [2]"},
		{name: "adam arity", op: OpAdam, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpState, 5), argOf(OpState, 5), steps()},
			wantErr: "adam takes 10 arguments, got 5"},

		{name: "embedding", op: OpEmbedding, args: []*Value{argOf(OpParam, 10, 4), idsOf(3, 5)}, want: Shape{3, 5, 4}},
		{name: "embedding bag", op: OpEmbedding, attrs: Attrs{Reduction: ReduceMean, Padded: true, PaddingIdx: 0},
			args: []*Value{argOf(OpParam, 10, 4), idsOf(3, 5)}, want: Shape{3, 4}},
		{name: "embedding float ids", op: OpEmbedding, args: []*Value{argOf(OpParam, 10, 4), inputOf(3, 5)},
			wantErr: "embedding: the ids must be integers, got f32"},
		{name: "embedding padding_idx", op: OpEmbedding, attrs: Attrs{Padded: true, PaddingIdx: 10},
			args: []*Value{argOf(OpParam, 10, 4), idsOf(3, 5)}, wantErr: "embedding: padding_idx 10 outside the 10 rows"},
		{name: "embedding bag of rank 1", op: OpEmbedding, attrs: Attrs{Reduction: ReduceSum},
			args: []*Value{argOf(OpParam, 10, 4), idsOf(3)}, wantErr: "embedding: a bag wants ids [..., bag], got [3]"},
		{name: "embedding_grad", op: OpEmbeddingGrad, attrs: Attrs{Reduction: ReduceSum, To: Shape{10, 4}},
			args: []*Value{inputOf(3, 4), idsOf(3, 5)}, want: Shape{10, 4}},
		{name: "embedding_grad shape", op: OpEmbeddingGrad, attrs: Attrs{To: Shape{10, 4}},
			args: []*Value{inputOf(3, 4), idsOf(3, 5)}, wantErr: "embedding_grad: the gradient is [3,4], want [3,5,4] for ids [3,5]"},

		{name: "unknown", op: "relu6", args: []*Value{inputOf(8, 5)}, wantErr: `unknown op "relu6"`},
	}
	covered := map[Op]bool{}
	// Every unary function and its gradient keep their argument's shape.
	for _, u := range UnaryOps() {
		attrs := Attrs{Exponent: 2, Min: -1, Max: 1, Alpha: 0.5}
		for _, v := range []*Value{
			{Op: u.Op, Attrs: attrs, Args: []*Value{inputOf(2, 3, 4)}},
			{Op: u.Grad(), Attrs: attrs, Args: []*Value{inputOf(2, 3, 4), inputOf(2, 3, 4)}},
		} {
			if got, err := InferShape(v); err != nil || !slices.Equal(got, Shape{2, 3, 4}) {
				t.Errorf("InferShape(%s) = %v, %v; want [2,3,4]", v.Op, got, err)
			}
			covered[v.Op] = true
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			covered[tt.op] = true
			v := &Value{Op: tt.op, Attrs: tt.attrs, Args: tt.args, Shape: tt.shape}
			got, err := InferShape(v)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("InferShape(%s) = %v, %v; want error %q", tt.op, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || got == nil {
				t.Fatalf("InferShape(%s) = %#v, %v; want %#v", tt.op, got, err, tt.want)
			}
		})
	}
	for _, op := range slices.Sorted(maps.Keys(defs)) {
		if !covered[op] {
			t.Errorf("op %s in the op table has no InferShape case", op)
		}
	}
}

func TestOpProperties(t *testing.T) {
	leaves := []Op{OpInput, OpParam, OpState, OpBuffer, OpHyper, OpConst}
	for op := range defs {
		if leaf := slices.Contains(leaves, op); IsLeaf(op) != leaf {
			t.Errorf("IsLeaf(%s) = %v, want %v", op, IsLeaf(op), leaf)
		}
	}
	// The updates write their parameter (or state) in place; every other
	// op gets storage of its own.
	inPlace := []Op{OpStepCount, OpSGD, OpSGDMomentum, OpAdam}
	for op := range defs {
		if want := slices.Contains(inPlace, op); InPlace(op) != want {
			t.Errorf("InPlace(%s) = %v, want %v", op, InPlace(op), want)
		}
	}
	if IsLeaf("relu6") || InPlace("relu6") {
		t.Error("an unknown op is neither a leaf nor in place")
	}

	// Activations: one argument; the gradient op is in the table and
	// takes the upstream gradient and one more value (the activation's
	// input or output).
	for _, u := range UnaryOps() {
		if d, ok := defs[u.Op]; !ok || d.MinArgs != 1 || d.MaxArgs != 1 || d.Unary != u {
			t.Errorf("unary %s: op table entry %+v, %v", u.Op, d, ok)
		}
		grad, ok := defs[u.Grad()]
		if !ok || IsLeaf(u.Grad()) || grad.MinArgs != 2 || grad.MaxArgs != 2 || grad.GradOf != u {
			t.Errorf("unary %s: gradient op %q is not a two-argument op of the table", u.Op, u.Grad())
		}
		if u.Func == "" || u.CUDA == "" || u.PyTorch == "" {
			t.Errorf("unary %s: a function is missing: %+v", u.Op, u)
		}
	}
	// Only softmax mixes a row; the activations nngen started with take
	// their gradient from the output, except gelu.
	for act, info := range Activations() {
		if info.RowWise != (act == OpSoftmax) {
			t.Errorf("activation %s: %+v", act, info)
		}
	}
	for _, act := range []Op{OpSigmoid, OpReLU, OpTanh, OpLeakyReLU, OpGELU} {
		if info, _ := ActivationOf(act); info.FromInput != (act == OpGELU) {
			t.Errorf("activation %s: %+v", act, info)
		}
	}
	want := map[Op]Op{
		OpSigmoid: OpSigmoidGrad, OpReLU: OpReLUGrad, OpTanh: OpTanhGrad,
		OpLeakyReLU: OpLeakyReLUGrad, OpGELU: OpGELUGrad, OpSoftmax: OpSoftmaxGrad,
	}
	for act, grad := range want {
		if Activations()[act].Grad != grad {
			t.Errorf("Activations()[%s].Grad = %q, want %s", act, Activations()[act].Grad, grad)
		}
	}
	if len(Activations()) != len(unaryOps)+1 {
		t.Errorf("%d activations, want every unary function and softmax", len(Activations()))
	}

	// Losses: two arguments to a scalar; the gradient op is in the table
	// and takes the output, the target and the upstream gradient.
	wantLoss := map[Op]Op{OpMSE: OpMSEGrad, OpL1: OpL1Grad, OpBCEWithLogits: OpBCEGrad, OpCrossEntropy: OpCrossEntropyGrad,
		OpNLL: OpNLLGrad, OpSmoothL1: OpSmoothL1Grad, OpHuber: OpHuberGrad}
	if !maps.Equal(Losses, wantLoss) {
		t.Errorf("Losses = %v, want %v", Losses, wantLoss)
	}
	for loss, grad := range Losses {
		if l, ok := defs[loss]; !ok || l.MinArgs != 2 || l.MaxArgs != 2 {
			t.Errorf("loss %s: op table entry %+v, %v", loss, l, ok)
		}
		if g, ok := defs[grad]; !ok || IsLeaf(grad) || g.MinArgs != 3 || g.MaxArgs != 3 {
			t.Errorf("loss %s: gradient op %q is not a three-argument op of the table", loss, grad)
		}
	}
}

func TestAdd(t *testing.T) {
	g := New("T", F64, 8, false)
	x := g.Leaf(OpInput, "x", Shape{8, 4}, Attrs{})
	w := g.Leaf(OpParam, "w", Shape{5, 4}, Attrs{})
	target := g.Leaf(OpInput, "target", Shape{8, 5}, Attrs{})
	target.Phase = Loss

	y, err := g.Add(OpLinear, Attrs{}, x, w)
	if err != nil {
		t.Fatal(err)
	}
	if y.ID != 3 || y.DType != F64 || y.Phase != Forward || !slices.Equal(y.Shape, Shape{8, 5}) {
		t.Errorf("linear = %s, phase %s", y.LongString(), y.Phase)
	}
	// A value belongs to the latest phase among its arguments.
	loss, err := g.Add(OpMSE, Attrs{Reduction: ReduceSum}, y, target)
	if err != nil {
		t.Fatal(err)
	}
	if loss.ID != 4 || loss.Phase != Loss || loss.Shape == nil || len(loss.Shape) != 0 {
		t.Errorf("mse = %s, phase %s", loss.LongString(), loss.Phase)
	}

	before := g.String()
	for _, bad := range []struct {
		op    Op
		attrs Attrs
		args  []*Value
	}{
		{OpLinear, Attrs{}, []*Value{x, target}},
		{OpMSE, Attrs{Reduction: ReduceMean}, []*Value{y, x}},
		{OpSigmoid, Attrs{}, nil},
		{"relu6", Attrs{}, []*Value{x}},
	} {
		if v, err := g.Add(bad.op, bad.attrs, bad.args...); err == nil || v != nil {
			t.Errorf("Add(%s) = %v, %v; want an error", bad.op, v, err)
		}
	}
	if after := g.String(); after != before {
		t.Errorf("failed Adds changed the graph:\n%s\nwas:\n%s", after, before)
	}
	// Nor did they use up an ID.
	if s, err := g.Add(OpSigmoid, Attrs{}, y); err != nil || s.ID != 5 {
		t.Errorf("Add after failures = %v, %v; want v5", s, err)
	}
}

func TestLeafLists(t *testing.T) {
	g := tiny(t, false)
	names := func(vs []*Value) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.String()+":"+v.Name)
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct{ got, want string }{
		{names(g.Params()), "v1:fc.weight v2:fc.bias"},
		{names(g.Inputs()), "v0:x v4:target"},
		{names(g.Hypers()), "v11:lr v12:weight_decay"},
		{names(g.States()), ""},
		{names(tinyAdam(t).States()), "v12:steps v14:fc.weight.exp_avg v15:fc.weight.exp_avg_sq v22:fc.bias.exp_avg v23:fc.bias.exp_avg_sq"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if New("E", F32, 1, true).Params() != nil {
		t.Error("an empty graph has parameters")
	}
}

func TestUses(t *testing.T) {
	g := tiny(t, false)
	v := g.Values
	want := map[*Value]int{
		v[0]:  2, // x: linear, dw
		v[1]:  2, // fc.weight: linear, its sgd
		v[2]:  2, // fc.bias: linear, its sgd
		v[3]:  4, // h: mse, mse_grad, sigmoid_grad, and the output role
		v[4]:  2, // target: mse, mse_grad
		v[5]:  1, // loss: the loss role
		v[6]:  1, // one: mse_grad
		v[7]:  1, // dh: sigmoid_grad
		v[8]:  2, // dh.pre: matmul, sum_rows
		v[9]:  2, // dfc.weight: sgd and the gradient role
		v[10]: 2, // dfc.bias: sgd and the gradient role
		v[11]: 2, // lr: both sgds
		v[12]: 2, // weight_decay: both sgds
	}
	got := g.Uses()
	if !maps.Equal(got, want) {
		for _, x := range v {
			if got[x] != want[x] {
				t.Errorf("Uses()[%s] = %d, want %d", x.LongString(), got[x], want[x])
			}
		}
		t.Errorf("Uses() has %d entries, want %d", len(got), len(want))
	}
}

func TestReplace(t *testing.T) {
	g := tiny(t, false)
	v := g.Values
	h, loss, dw := v[3], v[5], v[9]
	h2 := &Value{ID: 20, Op: OpLinear, Shape: h.Shape}
	loss2 := &Value{ID: 21, Op: OpMSE, Shape: Shape{}}
	dw2 := &Value{ID: 22, Op: OpMatMul, Shape: dw.Shape}
	g.Replace(h, h2)
	g.Replace(loss, loss2)
	g.Replace(dw, dw2)

	for _, x := range g.Values {
		for _, a := range x.Args {
			if a == h || a == dw {
				t.Errorf("%s still uses %s", x, a)
			}
		}
	}
	for _, tt := range []struct {
		where     string
		got, want *Value
	}{
		{"mse's first argument", loss.Args[0], h2},
		{"mse_grad's first argument", v[7].Args[0], h2},
		{"sigmoid_grad's second argument", v[8].Args[1], h2},
		{"sigmoid_grad's first argument (untouched)", v[8].Args[0], v[7]},
		{"the output", g.Outputs[0], h2},
		{"the loss", g.Loss, loss2},
		{"fc.weight's gradient", v[1].Grad, dw2},
		{"fc.bias's gradient (untouched)", v[2].Grad, v[10]},
		{"sgd's gradient argument", v[13].Args[1], dw2},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.where, tt.got, tt.want)
		}
	}
	if len(g.Values) != 15 || g.Values[3] != h {
		t.Error("Replace changed the schedule")
	}
}

func TestRemove(t *testing.T) {
	g := tiny(t, false)
	v := slices.Clone(g.Values)
	g.Remove(nil)
	if !slices.Equal(g.Values, v) {
		t.Fatal("removing nothing changed the schedule")
	}
	g.Remove(map[*Value]bool{v[12]: true, v[13]: true, v[14]: true, v[11]: true, v[0]: false})
	if !slices.Equal(g.Values, v[:11]) {
		t.Errorf("after Remove: %v, want %v", g.Values, v[:11])
	}
	g.Remove(map[*Value]bool{v[6]: true, v[7]: true})
	want := append(slices.Clone(v[:6]), v[8:11]...)
	if !slices.Equal(g.Values, want) {
		t.Errorf("after Remove: %v, want %v", g.Values, want)
	}
}

const tinyText = `network Tiny f32 batch=2
# forward
v0 = input <f32[2,4]> "x"
v1 = param <f32[3,4]> "fc.weight"
v2 = param <f32[3]> "fc.bias"
v3 = linear[act=sigmoid] <f32[2,3]> v0 v1 v2 "h"
# loss
v4 = input <f32[2,3]> "target"
v5 = mse[reduction=mean] <f32[]> v3 v4 "loss"
# backward
v6 = const[value=1] <f32[]>
v7 = mse_grad[reduction=mean] <f32[2,3]> v3 v4 v6 "dh"
v8 = sigmoid_grad <f32[2,3]> v7 v3 "dh.pre"
v9 = matmul[ta] <f32[3,4]> v8 v0 "dfc.weight"
v10 = sum_rows <f32[3]> v8 "dfc.bias"
# update
v11 = hyper[value=0.3] <f32[]> "lr"
v12 = hyper[value=0] <f32[]> "weight_decay"
v13 = sgd <f32[3,4]> v1 v9 v11 v12 "fc.weight"
v14 = sgd <f32[3]> v2 v10 v11 v12 "fc.bias"
output v3
loss v5
grad v1 = v9
grad v2 = v10
optimizer sgd dampening=0 lr=0.3 momentum=0 nesterov=0 weight_decay=0
`

const tinyPlannedText = `network Tiny f32 batch=2
# forward
v0 = input <f32[2,4]> "x" @arg
v1 = param <f32[3,4]> "fc.weight" @param(fc.weight)
v2 = param <f32[3]> "fc.bias" @param(fc.bias)
v3 = linear[act=sigmoid] <f32[2,3]> v0 v1 v2 "h" @slot0
# loss
v4 = input <f32[2,3]> "target" @arg
v5 = mse[reduction=mean] <f32[]> v3 v4 "loss" @slot1
# backward
v6 = const[value=1] <f32[]> @const
v7 = mse_grad[reduction=mean] <f32[2,3]> v3 v4 v6 "dh" @slot2
v8 = sigmoid_grad <f32[2,3]> v7 v3 "dh.pre" @slot3
v9 = matmul[ta] <f32[3,4]> v8 v0 "dfc.weight" @grad(fc.weight)
v10 = sum_rows <f32[3]> v8 "dfc.bias" @grad(fc.bias)
# update
v11 = hyper[value=0.3] <f32[]> "lr" @hyper
v12 = hyper[value=0] <f32[]> "weight_decay" @hyper
v13 = sgd <f32[3,4]> v1 v9 v11 v12 "fc.weight" @param(fc.weight)
v14 = sgd <f32[3]> v2 v10 v11 v12 "fc.bias" @param(fc.bias)
output v3
loss v5
grad v1 = v9
grad v2 = v10
optimizer sgd dampening=0 lr=0.3 momentum=0 nesterov=0 weight_decay=0
slot 0 [6]
slot 1 [1]
slot 2 [6]
slot 3 [6]
`

func TestString(t *testing.T) {
	if got := tiny(t, false).String(); got != tinyText {
		t.Errorf("unplanned:\n%s\nwant:\n%s", got, tinyText)
	}
	if got := tiny(t, true).String(); got != tinyPlannedText {
		t.Errorf("planned:\n%s\nwant:\n%s", got, tinyPlannedText)
	}

	if got := tinyAdam(t).String(); got != tinyAdamText {
		t.Errorf("with adam:\n%s\nwant:\n%s", got, tinyAdamText)
	}

	g := New("One", F64, 1, true)
	x := g.Leaf(OpInput, "x", Shape{1, 2}, Attrs{})
	g.Outputs = []*Value{x}
	const want = "network One f64 batch=1 unbatched\n# forward\nv0 = input <f64[1,2]> \"x\"\noutput v0\n"
	if got := g.String(); got != want {
		t.Errorf("unbatched:\n%s\nwant:\n%s", got, want)
	}
}

func TestLongString(t *testing.T) {
	a, b := &Value{ID: 1}, &Value{ID: 2}
	tests := []struct {
		v    *Value
		want string
	}{
		{&Value{ID: 7, Op: OpMatMul, DType: F64, Shape: Shape{4, 5}, Args: []*Value{a, b}, Attrs: Attrs{TransA: true, TransB: true}},
			"v7 = matmul[ta,tb] <f64[4,5]> v1 v2"},
		{&Value{ID: 3, Op: OpMatMul, Shape: Shape{4, 5}, Args: []*Value{a, b}, Attrs: Attrs{TransB: true}},
			"v3 = matmul[tb] <f32[4,5]> v1 v2"},
		{&Value{ID: 0, Op: OpConst, Shape: Shape{}, Attrs: Attrs{Value: -0.5}},
			"v0 = const[value=-0.5] <f32[]>"},
		{&Value{ID: 0, Op: OpConst, Shape: Shape{}},
			"v0 = const[value=0] <f32[]>"},
		{&Value{ID: 9, Op: OpHyper, Shape: Shape{}, Name: "lr", Attrs: Attrs{Value: 1e-3}, Storage: Storage{Kind: InHyper}},
			`v9 = hyper[value=0.001] <f32[]> "lr" @hyper`},
		{&Value{ID: 12, Op: OpSigmoid, Shape: Shape{1, 5}, Args: []*Value{a}, Name: `a "quoted" name`, Storage: Storage{Kind: InSlot, Slot: 11}},
			`v12 = sigmoid <f32[1,5]> v1 "a \"quoted\" name" @slot11`},

		// alpha belongs to leaky_relu, its gradient and a linear fused with
		// it, where it shows even when 0; elsewhere it means nothing.
		{&Value{ID: 4, Op: OpLeakyReLU, Shape: Shape{2, 3}, Args: []*Value{a}, Attrs: Attrs{Alpha: 0.01}},
			"v4 = leaky_relu[alpha=0.01] <f32[2,3]> v1"},
		{&Value{ID: 4, Op: OpLeakyReLU, Shape: Shape{2, 3}, Args: []*Value{a}},
			"v4 = leaky_relu[alpha=0] <f32[2,3]> v1"},
		{&Value{ID: 6, Op: OpLeakyReLUGrad, DType: F64, Shape: Shape{2, 3}, Args: []*Value{a, b}, Attrs: Attrs{Alpha: 0.2}},
			"v6 = leaky_relu_grad[alpha=0.2] <f64[2,3]> v1 v2"},
		{&Value{ID: 3, Op: OpLinear, Shape: Shape{2, 3}, Args: []*Value{a, b}, Attrs: Attrs{Act: "leaky_relu", Alpha: 1.5e-3}, Name: "h1"},
			`v3 = linear[act=leaky_relu,alpha=0.0015] <f32[2,3]> v1 v2 "h1"`},
		{&Value{ID: 3, Op: OpLinear, Shape: Shape{2, 3}, Args: []*Value{a, b}, Attrs: Attrs{Act: "sigmoid", Alpha: 0.5}},
			"v3 = linear[act=sigmoid] <f32[2,3]> v1 v2"},
		{&Value{ID: 5, Op: OpGELU, Shape: Shape{2, 3}, Args: []*Value{a}},
			"v5 = gelu <f32[2,3]> v1"},
		{&Value{ID: 5, Op: OpGELU, Shape: Shape{2, 3}, Args: []*Value{a}, Attrs: Attrs{Approx: ApproxTanh}},
			"v5 = gelu[approx=tanh] <f32[2,3]> v1"},
		{&Value{ID: 7, Op: OpGELUGrad, Shape: Shape{2, 3}, Args: []*Value{a, b}, Attrs: Attrs{Approx: ApproxTanh}},
			"v7 = gelu_grad[approx=tanh] <f32[2,3]> v1 v2"},
		{&Value{ID: 3, Op: OpLinear, Shape: Shape{2, 3}, Args: []*Value{a, b}, Attrs: Attrs{Act: "gelu", Approx: ApproxTanh}},
			"v3 = linear[act=gelu,approx=tanh] <f32[2,3]> v1 v2"},
		{&Value{ID: 3, Op: OpLinear, Shape: Shape{2, 3}, Args: []*Value{a, b}, Also: &Value{ID: 4}, Name: "fc"},
			`v3 = linear[also=v4] <f32[2,3]> v1 v2 "fc"`},
		{&Value{ID: 8, Op: OpSGDMomentum, Shape: Shape{3}, Args: []*Value{a, b}, Attrs: Attrs{Nesterov: true}, Name: "fc.bias", Storage: Storage{Kind: InParam, Param: &Value{Name: "fc.bias"}}},
			`v8 = sgd_momentum[nesterov] <f32[3]> v1 v2 "fc.bias" @param(fc.bias)`},
		{&Value{ID: 8, Op: OpSGDMomentum, Shape: Shape{3}, Args: []*Value{a, b}},
			"v8 = sgd_momentum <f32[3]> v1 v2"},
		{&Value{ID: 9, Op: OpAdam, Shape: Shape{3}, Args: []*Value{a, b}, Attrs: Attrs{Decoupled: true}},
			"v9 = adam[decoupled] <f32[3]> v1 v2"},
		{&Value{ID: 9, Op: OpAdam, Shape: Shape{3}, Args: []*Value{a, b}},
			"v9 = adam <f32[3]> v1 v2"},
		{&Value{ID: 12, Op: OpState, DType: Int, Shape: Shape{}, Name: "steps", Storage: Storage{Kind: InState}},
			`v12 = state <int[]> "steps" @state`},
		{&Value{ID: 13, Op: OpStepCount, DType: Int, Shape: Shape{}, Args: []*Value{a}, Name: "steps", Storage: Storage{Kind: InState}},
			`v13 = step_count <int[]> v1 "steps" @state`},
		{&Value{ID: 14, Op: OpState, DType: F64, Shape: Shape{3}, Name: "fc.bias.exp_avg", Storage: Storage{Kind: InState}},
			`v14 = state <f64[3]> "fc.bias.exp_avg" @state`},
		// Every attribute at once, in the canonical order.
		{&Value{ID: 5, Op: OpConst, Shape: Shape{}, Also: b, Attrs: Attrs{Act: "leaky_relu", Alpha: -0.5, Approx: ApproxTanh,
			Nesterov: true, Decoupled: true, TransA: true, TransB: true, Reduction: ReduceSum, Value: 2}},
			"v5 = const[act=leaky_relu,alpha=-0.5,approx=tanh,nesterov,decoupled,also=v2,ta,tb,reduction=sum,value=2] <f32[]>"},
	}
	for _, tt := range tests {
		if got := tt.v.LongString(); got != tt.want {
			t.Errorf("LongString() = %q, want %q", got, tt.want)
		}
	}
}

// TestNeededByResults: the output and the loss need the forward values and
// the loss's inputs, not the gradients or updates (dead-code elimination
// marks those itself), and Mark adds what a value reads.
func TestNeededByResults(t *testing.T) {
	g := tiny(t, false)
	needed := g.NeededByResults()
	var got []string
	for _, v := range g.Values {
		if needed[v] && v.Name != "" {
			got = append(got, v.Name)
		}
	}
	if want := []string{"x", "fc.weight", "fc.bias", "h", "target", "loss"}; !slices.Equal(got, want) {
		t.Errorf("NeededByResults: %v, want %v", got, want)
	}
	db := g.Values[slices.IndexFunc(g.Values, func(v *Value) bool { return v.Name == "dfc.bias" })]
	needed.Mark(db)
	for _, name := range []string{"dfc.bias", "dh.pre", "dh"} {
		if !needed[g.Values[slices.IndexFunc(g.Values, func(v *Value) bool { return v.Name == name })]] {
			t.Errorf("Mark(dfc.bias) left out %s", name)
		}
	}
}

// idsOf is an input of integer ids shaped dims.
func idsOf(dims ...int) *Value {
	v := inputOf(dims...)
	v.DType = Int
	return v
}
