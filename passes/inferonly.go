package passes

import "github.com/nngen/nngen/ir"

// inferOnly drops the loss and optimizer when building for inference, so no
// later pass derives gradients or updates. It also drops dropout, the
// identity in evaluation mode, which inference always runs in: x ·
// dropout_mask(x) becomes x.
func inferOnly(g *ir.Graph, opts Options) error {
	if !opts.Infer {
		return nil
	}
	g.Loss, g.Optimizer = nil, nil
	dead := map[*ir.Value]bool{}
	subst := map[*ir.Value]*ir.Value{}
	for _, v := range g.Values {
		if v.Phase != ir.Forward {
			dead[v] = true
		}
		if v.Op == ir.OpMul && v.Args[1].Op == ir.OpDropoutMask && v.Args[1].Args[0] == v.Args[0] {
			x := v.Args[0]
			for subst[x] != nil {
				x = subst[x]
			}
			subst[v], dead[v], dead[v.Args[1]] = x, true, true
			if x.Name == "" {
				x.Name = v.Name
			}
		}
	}
	g.ReplaceAll(subst)
	g.Remove(dead)
	return nil
}
