package ir

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// tiny builds a one-layer network, x[2,4] -> sigmoid(linear) -> h[2,3] with
// an MSE loss, its gradients and SGD, the way the pass pipeline leaves it,
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
	loss := named(must(g.Add(OpMSE, Attrs{Reduction: "mean"}, h, target)), "loss")
	one := phased(g.Leaf(OpConst, "", Shape{}, Attrs{Value: 1}), Backward)
	dh := named(must(g.Add(OpMSEGrad, Attrs{Reduction: "mean"}, h, target, one)), "dh")
	dz := named(must(g.Add(OpSigmoidGrad, Attrs{}, dh, h)), "dh.pre")
	dw := named(must(g.Add(OpMatMul, Attrs{TransA: true}, dz, x)), "dfc.weight")
	db := named(must(g.Add(OpSumRows, Attrs{}, dz)), "dfc.bias")
	lr := phased(g.Leaf(OpHyper, "lr", Shape{}, Attrs{Value: 0.3}), Update)
	named(must(g.Add(OpSGD, Attrs{}, w, dw, lr)), "fc.weight")
	named(must(g.Add(OpSGD, Attrs{}, b, db, lr)), "fc.bias")

	g.Outputs = []*Value{h}
	g.Loss = loss
	w.Grad, b.Grad = dw, db
	var errs []error
	if g.Optimizer, errs = NewOptimizer("sgd", map[string]float64{"lr": 0.3}, Pos{}); errs != nil {
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

		{name: "sigmoid", op: OpSigmoid, args: []*Value{inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "sigmoid no args", op: OpSigmoid, wantErr: "sigmoid takes 1 to 1 arguments, got 0"},

		{name: "add", op: OpAdd, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "add differ", op: OpAdd, args: []*Value{inputOf(8, 5), inputOf(5, 8)},
			wantErr: "add: shapes [8,5] and [5,8] differ"},
		{name: "sigmoid_grad", op: OpSigmoidGrad, args: []*Value{inputOf(8, 5), inputOf(8, 5)}, want: Shape{8, 5}},
		{name: "sigmoid_grad differ", op: OpSigmoidGrad, args: []*Value{inputOf(8, 5), inputOf(8)},
			wantErr: "sigmoid_grad: shapes [8,5] and [8] differ"},

		{name: "mse mean", op: OpMSE, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "mse sum", op: OpMSE, attrs: Attrs{Reduction: "sum"}, args: []*Value{inputOf(8, 3), inputOf(8, 3)}, want: Shape{}},
		{name: "mse shapes", op: OpMSE, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 2)},
			wantErr: "mse: output has shape [8,3] but the target has [8,2]"},
		{name: "mse no reduction", op: OpMSE, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: `mse: reduction "", want mean or sum`},
		{name: "mse bad reduction", op: OpMSE, attrs: Attrs{Reduction: "max"}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: `mse: reduction "max", want mean or sum`},
		{name: "mse three args", op: OpMSE, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()},
			wantErr: "mse takes 2 to 2 arguments, got 3"},

		{name: "mse_grad", op: OpMSEGrad, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()}, want: Shape{8, 3}},
		{name: "mse_grad sum", op: OpMSEGrad, attrs: Attrs{Reduction: "sum"}, args: []*Value{inputOf(1, 3), inputOf(1, 3), inputOf()}, want: Shape{1, 3}},
		{name: "mse_grad shapes", op: OpMSEGrad, attrs: Attrs{Reduction: "sum"}, args: []*Value{inputOf(8, 3), inputOf(3, 8), inputOf()},
			wantErr: "mse_grad: output has shape [8,3] but the target has [3,8]"},
		{name: "mse_grad bad reduction", op: OpMSEGrad, attrs: Attrs{Reduction: "none"}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf()},
			wantErr: `mse_grad: reduction "none", want mean or sum`},
		{name: "mse_grad upstream", op: OpMSEGrad, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 3), inputOf(1)},
			wantErr: "mse_grad: upstream gradient must be a scalar, got [1]"},
		{name: "mse_grad two args", op: OpMSEGrad, attrs: Attrs{Reduction: "mean"}, args: []*Value{inputOf(8, 3), inputOf(8, 3)},
			wantErr: "mse_grad takes 3 to 3 arguments, got 2"},

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

		{name: "sgd", op: OpSGD, args: []*Value{argOf(OpParam, 5, 4), inputOf(5, 4), argOf(OpHyper)}, want: Shape{5, 4}},
		{name: "sgd input", op: OpSGD, args: []*Value{inputOf(5, 4), inputOf(5, 4), argOf(OpHyper)},
			wantErr: "sgd: updates a parameter, not input"},
		{name: "sgd grad shape", op: OpSGD, args: []*Value{argOf(OpParam, 5, 4), inputOf(4, 5), argOf(OpHyper)},
			wantErr: "sgd: parameter [5,4] and gradient [4,5] differ"},
		{name: "sgd lr", op: OpSGD, args: []*Value{argOf(OpParam, 5), inputOf(5), argOf(OpHyper, 1)},
			wantErr: "sgd: learning rate must be a scalar"},

		{name: "unknown", op: "relu6", args: []*Value{inputOf(8, 5)}, wantErr: `unknown op "relu6"`},
	}
	covered := map[Op]bool{}
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
	for _, op := range slices.Sorted(maps.Keys(opTable)) {
		if !covered[op] {
			t.Errorf("op %s in the op table has no InferShape case", op)
		}
	}
}

func TestOpProperties(t *testing.T) {
	for op := range opTable {
		leaf := op == OpInput || op == OpParam || op == OpHyper || op == OpConst
		if IsLeaf(op) != leaf {
			t.Errorf("IsLeaf(%s) = %v, want %v", op, IsLeaf(op), leaf)
		}
	}
	for _, op := range []Op{OpInput, OpParam, OpLinear, OpSigmoid, OpMSE, OpMatMul, OpSumRows, OpAdd, OpSigmoidGrad, OpMSEGrad} {
		if InPlace(op) {
			t.Errorf("InPlace(%s) = true", op)
		}
	}
	if !InPlace(OpSGD) {
		t.Error("InPlace(sgd) = false")
	}
	if IsLeaf("relu6") || InPlace("relu6") {
		t.Error("an unknown op is neither a leaf nor in place")
	}
	for act := range Activations {
		if _, ok := ActivationGrad[act]; !ok {
			t.Errorf("activation %s has no gradient op", act)
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
	loss, err := g.Add(OpMSE, Attrs{Reduction: "sum"}, y, target)
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
		{OpMSE, Attrs{Reduction: "mean"}, []*Value{y, x}},
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
		{names(g.Hypers()), "v11:lr"},
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
		{"sgd's gradient argument", v[12].Args[1], dw2},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.where, tt.got, tt.want)
		}
	}
	if len(g.Values) != 14 || g.Values[3] != h {
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
	g.Remove(map[*Value]bool{v[12]: true, v[13]: true, v[11]: true, v[0]: false})
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
v12 = sgd <f32[3,4]> v1 v9 v11 "fc.weight"
v13 = sgd <f32[3]> v2 v10 v11 "fc.bias"
output v3
loss v5
grad v1 = v9
grad v2 = v10
optimizer sgd lr=0.3
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
v12 = sgd <f32[3,4]> v1 v9 v11 "fc.weight" @param(fc.weight)
v13 = sgd <f32[3]> v2 v10 v11 "fc.bias" @param(fc.bias)
output v3
loss v5
grad v1 = v9
grad v2 = v10
optimizer sgd lr=0.3
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
	}
	for _, tt := range tests {
		if got := tt.v.LongString(); got != tt.want {
			t.Errorf("LongString() = %q, want %q", got, tt.want)
		}
	}
}
