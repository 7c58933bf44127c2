package syntax

import (
	"fmt"
	"testing"
)

// TestRecurrentLowering reads the unrolled GRU step by step: a
// gru_cell per step, the zero initial state folded away at the first
// (the bias alone for gh), and the states batch first. The cell's gates
// are checked by the traces, against nn.GRU.
func TestRecurrentLowering(t *testing.T) {
	g, err := Compile("model.nn", []byte(`network G
batch 1
input x[2, 3]
rnn, h = gru(x, 2)
output rnn, h
`))
	if err != nil {
		t.Fatal(err)
	}
	want := `network G f32 batch=1
# forward
v0 = input <f32[1,2,3]> "x"
v1 = param[fan_in=2] <f32[6,3]> "rnn.weight_ih_l0"
v2 = param[fan_in=2] <f32[6,2]> "rnn.weight_hh_l0"
v3 = param[fan_in=2] <f32[6]> "rnn.bias_ih_l0"
v4 = param[fan_in=2] <f32[6]> "rnn.bias_hh_l0"
v5 = slice[axis=1,start=0,end=1] <f32[1,1,3]> v0
v6 = reshape[to=[1,3]] <f32[1,3]> v5
v7 = slice[axis=1,start=1,end=2] <f32[1,1,3]> v0
v8 = reshape[to=[1,3]] <f32[1,3]> v7
v9 = matmul[tb] <f32[1,6]> v6 v1
v10 = add <f32[1,6]> v9 v3
v11 = gru_cell <f32[1,2]> v10 v4
v12 = matmul[tb] <f32[1,6]> v8 v1
v13 = add <f32[1,6]> v12 v3
v14 = matmul[tb] <f32[1,6]> v11 v2
v15 = add <f32[1,6]> v14 v4
v16 = gru_cell <f32[1,2]> v13 v15 v11
v17 = reshape[to=[1,1,2]] <f32[1,1,2]> v11
v18 = reshape[to=[1,1,2]] <f32[1,1,2]> v16
v19 = concat[axis=1] <f32[1,2,2]> v17 v18 "rnn"
v20 = reshape[to=[1,1,2]] <f32[1,1,2]> v16
v21 = concat[axis=1] <f32[1,1,2]> v20 "h"
output v19
output v21
`
	if got := g.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestRecurrentParams checks the parameters' names, shapes and order
// (state_dict order) and PyTorch's init bound 1/√hidden for every one.
func TestRecurrentParams(t *testing.T) {
	for _, test := range []struct {
		src  string
		dirs int
		want []string
	}{{
		src:  "a, ah, ac = lstm(x, 3, 5, num_layers=2, bias=false)\noutput a, ah, ac",
		dirs: 1,
		want: []string{"a.weight_ih_l0 [20,3]", "a.weight_hh_l0 [20,5]", "a.weight_ih_l1 [20,5]", "a.weight_hh_l1 [20,5]"},
	}, {
		src:  "a, ah = gru(x, 4, num_layers=2, batch_first=True, bias=True)\noutput a, ah",
		dirs: 1,
		want: []string{"a.weight_ih_l0 [12,3]", "a.weight_hh_l0 [12,4]", "a.bias_ih_l0 [12]", "a.bias_hh_l0 [12]",
			"a.weight_ih_l1 [12,4]", "a.weight_hh_l1 [12,4]", "a.bias_ih_l1 [12]", "a.bias_hh_l1 [12]"},
	}, {
		src:  "a, ah = gru(x, 4, bidirectional=true, bias=false)\noutput a, ah",
		dirs: 2,
		want: []string{"a.weight_ih_l0 [12,3]", "a.weight_hh_l0 [12,4]", "a.weight_ih_l0_reverse [12,3]", "a.weight_hh_l0_reverse [12,4]"},
	}} {
		g, err := Compile("model.nn", []byte("network R\nbatch 2\ninput x[7, 3]\n"+test.src+"\n"))
		if err != nil {
			t.Fatalf("%s: %v", test.src, err)
		}
		var got []string
		hidden := g.Outputs[1].Shape[2]
		for _, p := range g.Params() {
			got = append(got, fmt.Sprintf("%s %v", p.Name, p.Shape))
			if p.FanIn != hidden {
				t.Errorf("%s: %s has fan-in %d, want the hidden size %d", test.src, p.Name, p.FanIn, hidden)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(test.want) {
			t.Errorf("%s: got %v, want %v", test.src, got, test.want)
		}
		if out, h := g.Outputs[0].Shape, g.Outputs[1].Shape; fmt.Sprint(out) != fmt.Sprintf("[2,7,%d]", test.dirs*hidden) || fmt.Sprint(h) != fmt.Sprintf("[2,2,%d]", hidden) {
			t.Errorf("%s: outputs %v and %v", test.src, out, h)
		}
	}
}
