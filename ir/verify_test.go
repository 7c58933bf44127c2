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
			mutate: func(g *Graph) { g.Values[12].Shape = Shape{4, 3} },
			want:   []string{`v12 = sgd <f32[4,3]> v1 v9 v11 "fc.weight" @param(fc.weight): shape [4,3], but its arguments give [3,4]`},
		},
		{
			name:   "arguments the op rejects",
			mutate: func(g *Graph) { g.Values[10].Args = append(g.Values[10].Args, g.Values[8]) },
			want:   []string{`v10 = sum_rows <f32[3]> v8 v8 "dfc.bias" @grad(fc.bias): sum_rows takes 1 to 1 arguments, got 2`},
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
