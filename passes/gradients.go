package passes

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// A gradRule returns, for value v whose gradient is dv, the gradient of each
// of v's arguments (nil where the argument takes none).
type gradRule func(b *builder, v, dv *ir.Value) []*ir.Value

// gradRules holds the derivative of every differentiable op that is not an
// activation or a loss; those follow one pattern each (see ruleFor).
var gradRules = map[ir.Op]gradRule{
	// linear: z = x·wᵀ + b, y = act(z).
	ir.OpLinear: func(b *builder, v, dy *ir.Value) []*ir.Value {
		dz := dy
		if v.Act != "" {
			info := ir.Activations[ir.Op(v.Act)]
			if info.FromInput {
				panic(ruleError{fmt.Errorf("%s: fused %s needs its input for the gradient", v, v.Act)})
			}
			dz = b.add(info.Grad, ir.Attrs{Alpha: v.Alpha, Approx: v.Approx}, dy, v)
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
	ir.OpAdd: func(b *builder, v, dv *ir.Value) []*ir.Value {
		return []*ir.Value{dv, dv}
	},
}

// ruleFor returns op's gradient rule.
func ruleFor(op ir.Op) (gradRule, bool) {
	if rule, ok := gradRules[op]; ok {
		return rule, true
	}
	if _, ok := ir.Activations[op]; ok {
		return activationRule, true
	}
	if _, ok := ir.Losses[op]; ok {
		return lossRule, true
	}
	return nil, false
}

// activationRule: y = act(x), dx = act'(x)·dy, written from y where the
// derivative allows it (σ' = y(1-y), tanh' = 1-y²...) so the input need
// not be kept, and from x otherwise (gelu).
func activationRule(b *builder, v, dy *ir.Value) []*ir.Value {
	info := ir.Activations[v.Op]
	from := v
	if info.FromInput {
		from = v.Args[0]
	}
	return []*ir.Value{b.add(info.Grad, ir.Attrs{Alpha: v.Alpha, Approx: v.Approx}, dy, from)}
}

// lossRule: L = loss(y, t); the gradient op takes y, t and dL. The target
// is data, so it takes no gradient.
func lossRule(b *builder, v, dl *ir.Value) []*ir.Value {
	return []*ir.Value{b.add(ir.Losses[v.Op], ir.Attrs{Reduction: v.Reduction}, v.Args[0], v.Args[1], dl), nil}
}
