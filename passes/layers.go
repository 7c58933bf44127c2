package passes

import "github.com/nngen/nngen/ir"

// layers finds the fully connected layers in the general graph: a matmul
// of a [rows, in] value by a [out, in] parameter read transposed, plus a
// bias parameter [out] broadcast over the rows, becomes one linear, which
// fusion can give an activation and codegen computes in one loop (or one
// GEMM with the bias in its epilogue). The front ends write nn.Linear so,
// as the matmul and add that PyTorch's own graph and ONNX's Gemm mean.
//
// The linear takes the add's place in the schedule, name and position, and
// the values are renumbered so that the IR reads as if the front end had
// written the linear itself.
func layers(g *ir.Graph, _ Options) error {
	uses := g.Uses()
	dead := map[*ir.Value]bool{}
	for _, v := range g.Values {
		mm := v
		if v.Op == ir.OpAdd {
			mm = v.Args[0]
		}
		if !isLayerProduct(mm) || v.Op == ir.OpAdd && !isBias(v, mm, uses) {
			continue
		}
		if v.Op == ir.OpMatMul {
			if users := uses[mm]; users == 1 && addOfBias(g, mm, uses) {
				continue // the add below takes it
			}
			v.Op, v.TransB = ir.OpLinear, false
			continue
		}
		v.Op, v.Args = ir.OpLinear, []*ir.Value{mm.Args[0], mm.Args[1], v.Args[1]}
		dead[mm] = true
	}
	g.Remove(dead)
	g.Compact()
	return nil
}

// isLayerProduct reports whether mm is x·wᵀ of a matrix x and a weight.
func isLayerProduct(mm *ir.Value) bool {
	return mm.Op == ir.OpMatMul && mm.TransB && !mm.TransA && len(mm.Args[0].Shape) == 2 &&
		mm.Args[1].Op == ir.OpParam && len(mm.Args[1].Shape) == 2
}

// isBias reports whether add is mm + b for a bias parameter b that only
// mm's layer reads.
func isBias(add, mm *ir.Value, uses map[*ir.Value]int) bool {
	b := add.Args[1]
	return uses[mm] == 1 && b.Op == ir.OpParam && len(b.Shape) == 1 && b.Shape[0] == mm.Shape[1]
}

// addOfBias reports whether mm's one user adds a bias to it.
func addOfBias(g *ir.Graph, mm *ir.Value, uses map[*ir.Value]int) bool {
	for _, v := range g.Values {
		if v.Op == ir.OpAdd && v.Args[0] == mm && isBias(v, mm, uses) {
			return true
		}
	}
	return false
}
