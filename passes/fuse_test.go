package passes

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestFuseTutorial(t *testing.T) {
	g := mlp(t, 1, 4, 5, 7, 3)
	runUpTo(t, g, "fuse", Options{})
	want := `v3 = linear[act=sigmoid] <f64[1,5]> v0 v1 v2 "h1"
v7 = linear[act=sigmoid] <f64[1,7]> v3 v5 v6 "h2"
v11 = linear <f64[1,3]> v7 v9 v10 "layer3"`
	var got []string
	for _, v := range g.Values {
		if v.Op == ir.OpLinear {
			got = append(got, v.LongString())
		}
	}
	if s := strings.Join(got, "\n"); s != want {
		t.Errorf("after fuse:\n%s\nwant:\n%s", s, want)
	}
	if n := count(g, ir.OpSigmoid); n != 0 {
		t.Errorf("%d sigmoids left", n)
	}
}

func TestFuseNeedsSoleUse(t *testing.T) {
	// layer1 is an output and feeds the sigmoid: its pre-activation values
	// must stay, so fusing would be wrong.
	g := mlp(t, 1, 4, 5, 3)
	var layer1 *ir.Value
	for _, v := range g.Values {
		if v.Name == "layer1" {
			layer1 = v
		}
	}
	g.Outputs = append(g.Outputs, layer1)
	runUpTo(t, g, "fuse", Options{})
	if layer1.Act != "" || count(g, ir.OpSigmoid) != 1 {
		t.Errorf("fused a linear with two uses:\n%s", g)
	}
}

func TestNoFuse(t *testing.T) {
	g := mlp(t, 1, 4, 5, 3)
	runUpTo(t, g, "fuse", Options{NoFuse: true})
	if count(g, ir.OpSigmoid) != 1 {
		t.Errorf("fused with NoFuse:\n%s", g)
	}
}
