package ir

import (
	"fmt"
	"testing"
)

// TestRecurrentLayouts builds an LSTM of two layers in ONNX's layout
// ([seq, batch, in], states [layers, batch, hidden]) and in the .nn
// front end's (batch first), and refuses an initial state of the other.
func TestRecurrentLayouts(t *testing.T) {
	for _, batchFirst := range []bool{false, true} {
		g := New("R", F64, 3, false)
		xShape, stateShape := Shape{5, 3, 4}, Shape{2, 3, 6}
		if batchFirst {
			xShape, stateShape = Shape{3, 5, 4}, Shape{3, 2, 6}
		}
		x := g.Leaf(OpInput, "x", xShape, Attrs{})
		h0 := g.Leaf(OpInput, "h0", stateShape, Attrs{})
		r := Recurrent{Cell: LSTM, Hidden: 6, BatchFirst: batchFirst, H0: h0}
		for k, in := range []int{4, 6} {
			r.Layers = append(r.Layers, RecurrentLayer{
				WeightIH: g.Leaf(OpParam, fmt.Sprintf("rnn.weight_ih_l%d", k), Shape{24, in}, Attrs{}),
				WeightHH: g.Leaf(OpParam, fmt.Sprintf("rnn.weight_hh_l%d", k), Shape{24, 6}, Attrs{}),
			})
		}
		out, h, c, err := r.Build(g, x)
		if err != nil {
			t.Fatalf("batch first %v: %v", batchFirst, err)
		}
		wantOut := Shape{5, 3, 6}
		if batchFirst {
			wantOut = Shape{3, 5, 6}
		}
		if fmt.Sprint(out.Shape, h.Shape, c.Shape) != fmt.Sprint(wantOut, stateShape, stateShape) {
			t.Errorf("batch first %v: out %v, h %v, c %v", batchFirst, out.Shape, h.Shape, c.Shape)
		}
		if err := g.Verify(); err != nil {
			t.Errorf("batch first %v: %v", batchFirst, err)
		}
		r.C0 = x // of the wrong shape
		if _, _, _, err := r.Build(g, x); err == nil || err.Error() != fmt.Sprintf("lstm's initial state c0 must be %v, found %v", stateShape, xShape) {
			t.Errorf("batch first %v: got %v", batchFirst, err)
		}
	}
}
