package ir

import (
	"slices"
	"strings"
	"testing"
)

// errorLines splits an error from Verify into its violations, one a line.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestVerifyValid(t *testing.T) {
	for _, tt := range []struct {
		name string
		g    *Graph
	}{
		{"empty", New("Empty", F32, 1, true)},
		{"unplanned", tiny(t, false)},
		{"planned", tiny(t, true)},
		// Int labels, an Int step count and its state; a linear that
		// also computes its gelu.
		{"adam", tinyAdam(t)},
	} {
		if err := tt.g.Verify(); err != nil {
			t.Errorf("%s: Verify() = %v", tt.name, err)
		}
	}
}

func TestVerifyViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(g *Graph)
		want   []string
	}{
		{
			name:   "argument after its user",
			mutate: func(g *Graph) { g.Values[2], g.Values[3] = g.Values[3], g.Values[2] },
			want:   []string{`v3 = linear[act=sigmoid] <f32[2,3]> v0 v1 v2 "h" @slot0: argument v2 is not scheduled before its use`},
		},
		{
			name:   "argument not in the graph",
			mutate: func(g *Graph) { g.Values[8].Args[0] = &Value{ID: 40, Shape: Shape{2, 3}} },
			want:   []string{`v8 = sigmoid_grad <f32[2,3]> v40 v3 "dh.pre" @slot3: argument v40 is not scheduled before its use`},
		},
		{
			name:   "phase uses a later phase",
			mutate: func(g *Graph) { g.Values[0].Phase = Loss },
			want:   []string{`v3 = linear[act=sigmoid] <f32[2,3]> v0 v1 v2 "h" @slot0: phase forward uses v0 from the later phase loss`},
		},
		{
			name:   "dtype",
			mutate: func(g *Graph) { g.Values[5].DType = F64 },
			want:   []string{`v5 = mse[reduction=mean] <f64[]> v3 v4 "loss" @slot1: dtype f64 in a f32 graph`},
		},
		{
			name:   "shape disagrees with the arguments",
			mutate: func(g *Graph) { g.Values[13].Shape = Shape{4, 3} },
			want:   []string{`v13 = sgd <f32[4,3]> v1 v9 v11 v12 "fc.weight" @param(fc.weight): shape [4,3], but its arguments give [3,4]`},
		},
		{
			name:   "arguments the op rejects",
			mutate: func(g *Graph) { g.Values[10].Args = append(g.Values[10].Args, g.Values[8]) },
			want:   []string{`v10 = sum_rows <f32[3]> v8 v8 "dfc.bias" @grad(fc.bias): sum_rows takes 1 argument, got 2`},
		},
		{
			name:   "leaf with arguments",
			mutate: func(g *Graph) { g.Values[11].Args = []*Value{g.Values[6]} },
			want:   []string{`v11 = hyper[value=0.3] <f32[]> v6 "lr" @hyper: a leaf with arguments`},
		},
		{
			name:   "duplicate id",
			mutate: func(g *Graph) { g.Values[4].ID = 3 },
			want:   []string{`v3 = input <f32[2,3]> "target" @arg: duplicate id`},
		},
		{
			name:   "gradient on a non-parameter",
			mutate: func(g *Graph) { g.Values[3].Grad = g.Values[7] },
			want:   []string{`v3 = linear[act=sigmoid] <f32[2,3]> v0 v1 v2 "h" @slot0: only parameters carry gradients`},
		},
		{
			name:   "gradient shape",
			mutate: func(g *Graph) { g.Values[1].Grad = g.Values[10] },
			want:   []string{`v1 = param <f32[3,4]> "fc.weight" @param(fc.weight): gradient shape [3]`},
		},
		{
			name:   "gradient not in the graph",
			mutate: func(g *Graph) { g.Values[2].Grad = &Value{ID: 99, Shape: Shape{3}} },
			want:   []string{`v2 = param <f32[3]> "fc.bias" @param(fc.bias): gradient v99 is not in the graph`},
		},
		{
			name:   "non-scalar loss",
			mutate: func(g *Graph) { g.Loss = g.Values[7] },
			want:   []string{"loss v7 must be a scalar in the graph"},
		},
		{
			name:   "loss not in the graph",
			mutate: func(g *Graph) { g.Loss = &Value{ID: 42, Shape: Shape{}} },
			want:   []string{"loss v42 must be a scalar in the graph"},
		},
		{
			name:   "output not in the graph",
			mutate: func(g *Graph) { g.Outputs = append(g.Outputs, &Value{ID: 99, Shape: Shape{2, 3}}) },
			want:   []string{"output v99 is not in the graph"},
		},
		{
			name:   "unbatched with batch 2",
			mutate: func(g *Graph) { g.Unbatched = true },
			want:   []string{"unbatched graph with batch 2"},
		},
		{
			name:   "slot too small",
			mutate: func(g *Graph) { g.Slots[2].Size = 5 },
			want:   []string{`v7 = mse_grad[reduction=mean] <f32[2,3]> v3 v4 v6 "dh" @slot2: does not fit its slot`},
		},
		{
			name:   "no such slot",
			mutate: func(g *Graph) { g.Values[5].Storage.Slot = 4 },
			want:   []string{`v5 = mse[reduction=mean] <f32[]> v3 v4 "loss" @slot4: does not fit its slot`},
		},
		{
			name: "several at once",
			mutate: func(g *Graph) {
				g.Values[5].DType = F64
				g.Values[1].Grad = g.Values[10]
				g.Slots[2].Size = 1
				g.Loss = g.Values[7]
				g.Outputs = append(g.Outputs, &Value{ID: 99})
				g.Unbatched = true
			},
			want: []string{
				`v1 = param <f32[3,4]> "fc.weight" @param(fc.weight): gradient shape [3]`,
				`v5 = mse[reduction=mean] <f64[]> v3 v4 "loss" @slot1: dtype f64 in a f32 graph`,
				`v7 = mse_grad[reduction=mean] <f32[2,3]> v3 v4 v6 "dh" @slot2: does not fit its slot`,
				"output v99 is not in the graph",
				"loss v7 must be a scalar in the graph",
				"unbatched graph with batch 2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tiny(t, true)
			tt.mutate(g)
			got := errorLines(g.Verify())
			if !slices.Equal(got, tt.want) {
				t.Errorf("Verify() reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Verify must not stop at an unknown op: it reports it like any other
// shape error.
func TestVerifyUnknownOp(t *testing.T) {
	g := tiny(t, false)
	g.Values[3].Op = "relu6"
	want := []string{`v3 = relu6[act=sigmoid] <f32[2,3]> v0 v1 v2 "h": unknown op "relu6"`}
	if got := errorLines(g.Verify()); !slices.Equal(got, want) {
		t.Errorf("Verify() reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The rules for the values that optimizers and fusion add, on tinyAdam:
// Int is the dtype of inputs (class labels), state (the step count) and
// step_count only; a linear's Also value is an activation of it, computed
// in its loop, so it must come right after it.
func TestVerifyNewValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(g *Graph)
		want   []string
	}{
		{
			name:   "int linear",
			mutate: func(g *Graph) { g.Values[3].DType = Int },
			want:   []string{`v3 = linear[also=v4] <int[2,3]> v0 v1 v2 "fc": dtype int in a f64 graph`},
		},
		{
			name:   "int parameter",
			mutate: func(g *Graph) { g.Values[1].DType = Int },
			want:   []string{`v1 = param <int[3,4]> "fc.weight": dtype int in a f64 graph`},
		},
		{
			name:   "int loss",
			mutate: func(g *Graph) { g.Values[6].DType = Int },
			want:   []string{`v6 = cross_entropy[reduction=mean] <int[]> v4 v5 "loss": dtype int in a f64 graph`},
		},
		{
			name:   "int const",
			mutate: func(g *Graph) { g.Values[7].DType = Int },
			want:   []string{`v7 = const[value=1] <int[]>: dtype int in a f64 graph`},
		},
		{
			name:   "int hyperparameter",
			mutate: func(g *Graph) { g.Values[16].DType = Int },
			want:   []string{`v16 = hyper[value=0.001] <int[]> "lr": dtype int in a f64 graph`},
		},
		{
			name:   "int update",
			mutate: func(g *Graph) { g.Values[21].DType = Int },
			want:   []string{`v21 = adam[decoupled] <int[3,4]> v1 v10 v14 v15 v13 v16 v17 v18 v19 v20 "fc.weight": dtype int in a f64 graph`},
		},
		{
			// Only Int is exempt from the graph's dtype.
			name:   "f32 state in a f64 graph",
			mutate: func(g *Graph) { g.Values[14].DType = F32 },
			want:   []string{`v14 = state <f32[3,4]> "fc.weight.exp_avg": dtype f32 in a f64 graph`},
		},
		{
			// Labels must be Int: both the dtype rule and the losses say so.
			name:   "f32 labels in a f64 graph",
			mutate: func(g *Graph) { g.Values[5].DType = F32 },
			want: []string{
				`v5 = input <f32[2]> "label": dtype f32 in a f64 graph`,
				`v6 = cross_entropy[reduction=mean] <f64[]> v4 v5 "loss": cross_entropy: want logits [batch, ..., classes] and class indices [batch, ...], got [2,3] and f32[2]`,
				`v8 = cross_entropy_grad[reduction=mean] <f64[2,3]> v4 v5 v7 "dh": cross_entropy_grad: want logits [batch, ..., classes] and class indices [batch, ...], got [2,3] and f32[2]`,
			},
		},
		{
			// A float step count is the graph's dtype, so only its
			// increment objects.
			name:   "float step count",
			mutate: func(g *Graph) { g.Values[12].DType = F64 },
			want:   []string{`v13 = step_count <int[]> v12 "steps": step_count: counts in an integer state, not v12 = state <f64[]> "steps"`},
		},
		{
			name:   "also not right after",
			mutate: func(g *Graph) { g.Values[4], g.Values[5] = g.Values[5], g.Values[4] },
			want:   []string{`v3 = linear[also=v4] <f64[2,3]> v0 v1 v2 "fc": also computes v4, which must be an activation of it scheduled right after it`},
		},
		{
			name:   "also on a fused linear",
			mutate: func(g *Graph) { g.Values[3].Act = "sigmoid" },
			want:   []string{`v3 = linear[act=sigmoid,also=v4] <f64[2,3]> v0 v1 v2 "fc": also computes v4, which must be an activation of it scheduled right after it`},
		},
		{
			// gelu(other) right after fc, but of another linear.
			name: "also of another value",
			mutate: func(g *Graph) {
				fc := g.Values[3]
				other := &Value{ID: 30, Op: OpLinear, DType: F64, Shape: fc.Shape, Args: fc.Args}
				g.Values[4].Args[0] = other
				g.Values = slices.Insert(g.Values, 3, other)
			},
			want: []string{`v3 = linear[also=v4] <f64[2,3]> v0 v1 v2 "fc": also computes v4, which must be an activation of it scheduled right after it`},
		},
		{
			// tanh(fc) with gelu(tanh) right after it, as its Also.
			name: "also on a non-linear",
			mutate: func(g *Graph) {
				fc := g.Values[3]
				th := &Value{ID: 30, Op: OpTanh, DType: F64, Shape: fc.Shape, Args: []*Value{fc}}
				gl := &Value{ID: 31, Op: OpGELU, DType: F64, Shape: fc.Shape, Args: []*Value{th}}
				th.Also = gl
				g.Values = slices.Insert(g.Values, 5, th, gl)
			},
			want: []string{`v30 = tanh[also=v31] <f64[2,3]> v3: also computes v31, which must be an activation of it scheduled right after it`},
		},
		{
			name: "several at once",
			mutate: func(g *Graph) {
				g.Values[3].Act = "sigmoid"
				g.Values[16].DType = Int
				g.Values[12].DType = F32
			},
			want: []string{
				`v3 = linear[act=sigmoid,also=v4] <f64[2,3]> v0 v1 v2 "fc": also computes v4, which must be an activation of it scheduled right after it`,
				`v12 = state <f32[]> "steps": dtype f32 in a f64 graph`,
				`v13 = step_count <int[]> v12 "steps": step_count: counts in an integer state, not v12 = state <f32[]> "steps"`,
				`v16 = hyper[value=0.001] <int[]> "lr": dtype int in a f64 graph`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tinyAdam(t)
			tt.mutate(g)
			// The broken value is reported as wanted; its users may be
			// reported too (an argument of the wrong dtype).
			got := errorLines(g.Verify())
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("Verify() reported:\n%s\nwant among them:\n%s", strings.Join(got, "\n"), w)
				}
			}
			for _, line := range got {
				if !slices.Contains(tt.want, line) && !strings.Contains(line, ": argument ") {
					t.Errorf("Verify() also reported %q", line)
				}
			}
		})
	}
}

// A linear scheduled last whose Also value is nowhere: an error, not a panic.
func TestVerifyAlsoAtTheEnd(t *testing.T) {
	g := New("End", F32, 1, true)
	x := g.Leaf(OpInput, "x", Shape{1, 2}, Attrs{})
	w := g.Leaf(OpParam, "w", Shape{3, 2}, Attrs{})
	z, err := g.Add(OpLinear, Attrs{}, x, w)
	if err != nil {
		t.Fatal(err)
	}
	z.Also = &Value{ID: 3, Op: OpGELU, Shape: z.Shape, Args: []*Value{z}}
	g.Outputs = []*Value{z}
	want := []string{"v2 = linear[also=v3] <f32[1,3]> v0 v1: also computes v3, which must be an activation of it scheduled right after it"}
	if got := errorLines(g.Verify()); !slices.Equal(got, want) {
		t.Errorf("Verify() reported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Verify's message says an Also value must be an activation, but it checks
// only the value's place and argument: a sum_rows of the linear, right after
// it, passes (verify.go, the Also rule does not consult Activations).
func TestVerifyAlsoMustBeAnActivation(t *testing.T) {
	g := New("NotActivation", F32, 2, false)
	x := g.Leaf(OpInput, "x", Shape{2, 2}, Attrs{})
	w := g.Leaf(OpParam, "w", Shape{3, 2}, Attrs{})
	z, err := g.Add(OpLinear, Attrs{}, x, w)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := g.Add(OpSumRows, Attrs{}, z)
	if err != nil {
		t.Fatal(err)
	}
	z.Also = sum
	g.Outputs = []*Value{sum}
	if err := g.Verify(); err == nil || !strings.Contains(err.Error(), "must be an activation of it") {
		t.Errorf("Verify = %v, want the Also rule", err)
	}
}

func TestVerifyArgumentDTypes(t *testing.T) {
	g := New("IntIntoLinear", F32, 2, false)
	x := g.Leaf(OpInput, "x", Shape{2, 3}, Attrs{})
	x.DType = Int
	w := g.Leaf(OpParam, "w", Shape{3, 3}, Attrs{})
	y, err := g.Add(OpLinear, Attrs{}, x, w)
	if err != nil {
		t.Fatal(err)
	}
	g.Outputs = []*Value{y}
	if err := g.Verify(); err == nil || !strings.Contains(err.Error(), "argument 0 is int, want f32") {
		t.Errorf("Verify = %v, want the argument dtype rule", err)
	}
}

// A buffer may hold int64 numbers (a counter such as num_batches_tracked);
// a parameter may not, nor may a float op read an int64 buffer.
func TestVerifyInt64Buffer(t *testing.T) {
	g := New("B", F32, 1, true)
	count := g.Leaf(OpBuffer, "bn.num_batches_tracked", Shape{}, Attrs{})
	count.DType = I64
	if err := g.Verify(); err != nil {
		t.Errorf("an int64 buffer: %v", err)
	}
	p := g.Leaf(OpParam, "w", Shape{}, Attrs{})
	p.DType = I64
	if err := g.Verify(); err == nil || !strings.Contains(err.Error(), "dtype i64 in a f32 graph") {
		t.Errorf("an int64 parameter: %v", err)
	}
	p.DType = F32
	if _, err := g.Add(OpMul, Attrs{}, p, count); err == nil {
		if err := g.Verify(); err == nil || !strings.Contains(err.Error(), "argument 1 is i64, want f32") {
			t.Errorf("a float op of an int64 buffer: %v", err)
		}
	}
}
