package passes

import "github.com/nngen/nngen/ir"

// fuse folds an activation into the linear layer that feeds it, so the
// layer's sum and activation happen in one loop with no intermediate
// buffer. Fusion is legal only when the activation is the linear's sole
// user: otherwise the pre-activation values are still needed.
func fuse(g *ir.Graph, opts Options) error {
	if opts.NoFuse {
		return nil
	}
	uses := g.Uses()
	dead := map[*ir.Value]bool{}
	for _, act := range g.Values {
		if !ir.Activations[act.Op] {
			continue
		}
		lin := act.Args[0]
		if lin.Op != ir.OpLinear || lin.Act != "" || uses[lin] != 1 {
			continue
		}
		lin.Act = string(act.Op)
		lin.Name = act.Name
		g.Replace(act, lin)
		dead[act] = true
	}
	g.Remove(dead)
	return nil
}
