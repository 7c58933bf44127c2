package passes

import "github.com/nngen/nngen/ir"

// fuse folds an activation into the linear layer that feeds it, so the
// layer's sums and the activation happen in one loop. Fusion is legal only
// when the activation is the linear's sole user: otherwise the
// pre-activation values are still needed.
//
// An activation whose gradient needs its input (gelu) cannot drop the
// pre-activation when the graph trains: there the linear keeps its value
// and also writes the activation in the same loop (Value.Also), which still
// saves the second pass over memory.
func fuse(g *ir.Graph, opts Options) error {
	if opts.NoFuse {
		return nil
	}
	uses := g.Uses()
	dead := map[*ir.Value]bool{}
	var moved []*ir.Value
	for _, act := range g.Values {
		info, ok := ir.Activations[act.Op]
		lin := act.Args
		if !ok || lin[0].Op != ir.OpLinear || lin[0].Act != "" || lin[0].Also != nil || uses[lin[0]] != 1 {
			continue
		}
		if info.FromInput && g.Loss != nil {
			lin[0].Also = act
			moved = append(moved, act)
			continue
		}
		l := lin[0]
		l.Act, l.Alpha, l.Approx, l.Name = string(act.Op), act.Alpha, act.Approx, act.Name
		g.Replace(act, l)
		dead[act] = true
	}
	g.Remove(dead)
	// The linear's loop computes each Also value, so schedule it right
	// there: nothing may run between them.
	for _, act := range moved {
		g.Remove(map[*ir.Value]bool{act: true})
		at := 0
		for i, v := range g.Values {
			if v == act.Args[0] {
				at = i + 1
			}
		}
		g.Values = append(g.Values[:at], append([]*ir.Value{act}, g.Values[at:]...)...)
	}
	return nil
}
