package passes

import "github.com/nngen/nngen/ir"

// fuse folds an activation into the linear layer or convolution that
// feeds it, so the layer's sums and the activation happen in one loop (a
// convolution's kernel applies relu as it adds the bias, and the other
// activations in one pass after). Fusion is legal only
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
	fused := map[*ir.Value]*ir.Value{}
	var moved []*ir.Value
	for _, act := range g.Values {
		info, ok := ir.ActivationOf(act.Op)
		lin := act.Args
		if !ok || lin[0].Act != "" || lin[0].Also != nil || uses[lin[0]] != 1 {
			continue
		}
		switch lin[0].Op {
		case ir.OpLinear:
		case ir.OpConv: // an elementwise activation whose gradient needs only its output
			if info.RowWise || info.FromInput && g.Loss != nil {
				continue
			}
		default:
			continue
		}
		if info.FromInput && g.Loss != nil {
			lin[0].Also = act
			moved = append(moved, act)
			continue
		}
		l := lin[0]
		l.Act, l.Alpha, l.Approx, l.Exponent, l.Min, l.Max, l.Name = act.Op, act.Alpha, act.Approx, act.Exponent, act.Min, act.Max, act.Name
		fused[act] = l
		dead[act] = true
	}
	g.ReplaceAll(fused)
	// The linear's loop computes each Also value, so schedule it right
	// after the linear: nothing may run between them.
	after := map[*ir.Value]*ir.Value{}
	for _, act := range moved {
		dead[act] = true
		after[act.Args[0]] = act
	}
	g.Remove(dead)
	if len(after) > 0 {
		values := make([]*ir.Value, 0, len(g.Values)+len(after))
		for _, v := range g.Values {
			values = append(values, v)
			if act := after[v]; act != nil {
				values = append(values, act)
			}
		}
		g.Values = values
	}
	return nil
}
