package passes

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestPlanTutorialSlots(t *testing.T) {
	g := mlp(t, 1, 4, 5, 7, 3)
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	// h1 and h2 live until backward reads them; the output until the loss;
	// backward temporaries reuse what is dead by then.
	var sizes []int
	for _, s := range g.Slots {
		sizes = append(sizes, s.Size)
	}
	if want := []int{5, 7, 7, 1, 7}; !slices.Equal(sizes, want) {
		t.Errorf("slot sizes %v, want %v\n%s", sizes, want, g)
	}
	checkLifetimes(t, g)
}

func TestPlanStorageKinds(t *testing.T) {
	g := mlp(t, 8, 4, 5, 3)
	if err := Run(g, Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Values {
		want := ir.InSlot
		switch {
		case v.Op == ir.OpInput:
			want = ir.InArg
		case v.Op == ir.OpParam, v.Op == ir.OpSGD:
			want = ir.InParam
		case v.Op == ir.OpHyper:
			want = ir.InHyper
		case v.Op == ir.OpConst:
			want = ir.InConst
		}
		for _, p := range g.Params() {
			if p.Grad == v {
				want = ir.InGrad
			}
		}
		if v.Storage.Kind != want {
			t.Errorf("%s: storage %v, want kind %d", v.LongString(), v.Storage, want)
		}
	}
	checkLifetimes(t, g)
}

// checkLifetimes fails if two values share a slot while both are live, in
// the order Backward runs them, or if a value shares a slot with one of its
// arguments.
func checkLifetimes(t *testing.T, g *ir.Graph) {
	t.Helper()
	last := lastUses(g)
	index := map[*ir.Value]int{}
	for i, v := range g.Values {
		index[v] = i
	}
	for _, s := range g.Slots {
		for i, a := range s.Values {
			for _, b := range s.Values[i+1:] {
				if index[b] <= last[a] {
					t.Errorf("%s is written while %s, in the same slot, is still read", b, a)
				}
			}
		}
	}
	for _, v := range g.Values {
		for _, a := range v.Args {
			if v.Storage.Kind == ir.InSlot && a.Storage == v.Storage {
				t.Errorf("%s shares a slot with its argument %s", v, a)
			}
		}
	}
}
