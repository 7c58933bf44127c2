package passes

import "github.com/nngen/nngen/ir"

// A gradRule returns, for value v whose gradient is dv, the gradient of each
// of v's arguments (nil where the argument takes none).
type gradRule func(b *builder, v, dv *ir.Value) []*ir.Value

// gradRules holds the derivative of every differentiable op. Adding an op
// means adding its forward shape rule in ir and its derivative here.
var gradRules = map[ir.Op]gradRule{
	// linear: z = x·wᵀ + b, y = act(z).
	ir.OpLinear: func(b *builder, v, dy *ir.Value) []*ir.Value {
		dz := dy
		if v.Act != "" {
			dz = b.add(ir.ActivationGrad[ir.Op(v.Act)], ir.Attrs{}, dy, v)
			dz.Name = "d" + v.Name + ".pre"
		}
		x, w := v.Args[0], v.Args[1]
		grads := []*ir.Value{
			b.add(ir.OpMatMul, ir.Attrs{}, dz, w),             // dx = dz·w
			b.add(ir.OpMatMul, ir.Attrs{TransA: true}, dz, x), // dw = dzᵀ·x
		}
		if len(v.Args) == 3 {
			grads = append(grads, b.add(ir.OpSumRows, ir.Attrs{}, dz)) // db = Σ_batch dz
		}
		return grads
	},
	// sigmoid: y = σ(x), dy/dx = y(1-y), written from the output it saved.
	ir.OpSigmoid: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpSigmoidGrad, ir.Attrs{}, dy, v)}
	},
	// mse: L = Σ(y-t)²/N, dL/dy = 2(y-t)/N; N = 1 for reduction=sum.
	// The target is data, so it takes no gradient.
	ir.OpMSE: func(b *builder, v, dl *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpMSEGrad, ir.Attrs{Reduction: v.Reduction}, v.Args[0], v.Args[1], dl), nil}
	},
	ir.OpAdd: func(b *builder, v, dv *ir.Value) []*ir.Value {
		return []*ir.Value{dv, dv}
	},
}
