package passes

import "github.com/nngen/nngen/ir"

// deadcode removes values that no output, loss, gradient or update needs.
// Autodiff derives the gradient of every argument, including ones nobody
// asked for (such as the input's); this is where those go away. Inputs,
// parameters, buffers and hyperparameters stay: they are the generated API.
func deadcode(g *ir.Graph, _ Options) error {
	live := g.NeededByResults()
	dead := map[*ir.Value]bool{}
	for _, v := range g.Values {
		switch {
		case v.Op == ir.OpInput || v.Op == ir.OpParam || v.Op == ir.OpHyper:
			if v.Grad != nil {
				live.Mark(v.Grad)
			}
		case v.Phase == ir.Update:
			live.Mark(v) // updates are effects: they write the parameters
		}
	}
	for _, v := range g.Values {
		if !live[v] && v.Op != ir.OpInput && v.Op != ir.OpParam && v.Op != ir.OpBuffer && v.Op != ir.OpHyper {
			dead[v] = true
		}
	}
	g.Remove(dead)
	return nil
}
