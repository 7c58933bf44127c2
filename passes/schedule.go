package passes

import (
	"slices"

	"github.com/nngen/nngen/ir"
)

// schedule orders values by phase, keeping the source order within a phase.
// This stays topological because an argument's phase never exceeds its
// user's (ir.Verify checks that), and it lets each generated method run one
// contiguous stretch of the schedule.
func schedule(g *ir.Graph, _ Options) error {
	slices.SortStableFunc(g.Values, func(a, b *ir.Value) int { return int(a.Phase) - int(b.Phase) })
	return nil
}
