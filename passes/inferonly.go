package passes

import "github.com/nngen/nngen/ir"

// inferOnly drops the loss and optimizer when building for inference, so no
// later pass derives gradients or updates.
func inferOnly(g *ir.Graph, opts Options) error {
	if !opts.Infer {
		return nil
	}
	g.Loss, g.Optimizer = nil, nil
	dead := map[*ir.Value]bool{}
	for _, v := range g.Values {
		if v.Phase != ir.Forward {
			dead[v] = true
		}
	}
	g.Remove(dead)
	return nil
}
