package passes

import (
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
)

// mlp is irtest.MLP in float64, unbatched for a batch of 1: mlp(t, 1, 4, 5,
// 7, 3) is the tutorial network.
func mlp(t testing.TB, batch int, sizes ...int) *ir.Graph {
	t.Helper()
	return irtest.MLP(t, ir.F64, batch, batch == 1, sizes...)
}
