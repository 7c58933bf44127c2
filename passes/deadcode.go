package passes

import "github.com/nngen/nngen/ir"

// deadcode removes values that no output, loss, gradient or update needs.
// Autodiff derives the gradient of every argument, including ones nobody
// asked for (such as the input's); this is where those go away. Inputs,
// parameters and hyperparameters stay: they are the generated API.
func deadcode(g *ir.Graph, _ Options) error {
	live := map[*ir.Value]bool{}
	var mark func(v *ir.Value)
	mark = func(v *ir.Value) {
		if live[v] {
			return
		}
		live[v] = true
		for _, a := range v.Args {
			mark(a)
		}
	}
	for _, v := range g.Outputs {
		mark(v)
	}
	if g.Loss != nil {
		mark(g.Loss)
	}
	dead := map[*ir.Value]bool{}
	for _, v := range g.Values {
		switch {
		case v.Op == ir.OpInput || v.Op == ir.OpParam || v.Op == ir.OpHyper:
			if v.Grad != nil {
				mark(v.Grad)
			}
		case v.Phase == ir.Update:
			mark(v) // updates are effects: they write the parameters
		}
	}
	for _, v := range g.Values {
		if !live[v] && v.Op != ir.OpInput && v.Op != ir.OpParam && v.Op != ir.OpHyper {
			dead[v] = true
		}
	}
	g.Remove(dead)
	return nil
}
