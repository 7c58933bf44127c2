package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
)

func TestLowerSGD(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	runUpTo(t, g, "optimizer", Options{})
	want := `v11 = hyper[value=0.3] <f64[]> "lr"
v12 = sgd <f64[3,4]> v1 v9 v11 "layer1.weight"
v13 = sgd <f64[3]> v2 v10 v11 "layer1.bias"`
	if got := section(g, ir.Update); got != want {
		t.Errorf("update:\n%s\nwant:\n%s", got, want)
	}
}
