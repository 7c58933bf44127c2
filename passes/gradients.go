package passes

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// A gradRule returns, for value v whose gradient is dv, the gradient of each
// of v's arguments (nil where the argument takes none). A rule may return a
// gradient shaped like v where the argument was broadcast to v's shape:
// autodiff sums it back to the argument's shape.
type gradRule func(b *builder, v, dv *ir.Value) []*ir.Value

// gradRules holds the derivative of every differentiable op that is not a
// unary function or a loss; those follow one pattern each (see ruleFor).
var gradRules = map[ir.Op]gradRule{
	// linear: z = x·wᵀ + b, y = act(z).
	ir.OpLinear: func(b *builder, v, dy *ir.Value) []*ir.Value {
		dz := preActivation(b, v, dy)
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
	ir.OpConv: convGrads,
	ir.OpMaxPool: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpMaxPoolGrad, windowAttrs(v), dy, v.Args[0])}
	},
	ir.OpAvgPool: func(b *builder, v, dy *ir.Value) []*ir.Value {
		a := windowAttrs(v)
		a.To = v.Args[0].Shape
		return []*ir.Value{b.add(ir.OpAvgPoolGrad, a, dy)}
	},
	// embedding: each id's row gets the gradient of the places that
	// picked it (divided by its bag's count for a mean), the padding row
	// none; the ids take none.
	ir.OpEmbedding: func(b *builder, v, dy *ir.Value) []*ir.Value {
		w, ids := v.Args[0], v.Args[1]
		a := ir.Attrs{Reduction: v.Reduction, Padded: v.Padded, PaddingIdx: v.PaddingIdx, To: w.Shape}
		return []*ir.Value{b.add(ir.OpEmbeddingGrad, a, dy, ids), nil}
	},
	ir.OpAdd: func(b *builder, v, dv *ir.Value) []*ir.Value {
		return []*ir.Value{dv, dv}
	},
	ir.OpSub: func(b *builder, v, dv *ir.Value) []*ir.Value {
		return []*ir.Value{dv, b.add(ir.OpNeg, ir.Attrs{}, dv)}
	},
	// mul: d(a·b) = dv·b, dv·a.
	ir.OpMul: func(b *builder, v, dv *ir.Value) []*ir.Value {
		x, y := v.Args[0], v.Args[1]
		return []*ir.Value{b.add(ir.OpMul, ir.Attrs{}, dv, y), b.add(ir.OpMul, ir.Attrs{}, dv, x)}
	},
	// div: v = a/b; da = dv/b, db = -dv·v/b.
	ir.OpDiv: func(b *builder, v, dv *ir.Value) []*ir.Value {
		y := v.Args[1]
		da := b.add(ir.OpDiv, ir.Attrs{}, dv, y)
		return []*ir.Value{da, b.add(ir.OpNeg, ir.Attrs{}, b.add(ir.OpMul, ir.Attrs{}, da, v))}
	},
	ir.OpSoftmax: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpSoftmaxGrad, ir.Attrs{}, dy, v)}
	},
	ir.OpLogSoftmax: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpLogSoftmaxGrad, ir.Attrs{}, dy, v)}
	},
	// layer_norm: y = x̂·w + b; dx through x̂ with dy·w, dw = Σ dy·x̂ and
	// db = Σ dy over the leading axes.
	ir.OpLayerNorm: func(b *builder, v, dy *ir.Value) []*ir.Value {
		attrs, x := ir.Attrs{Axes: v.Axes, Eps: v.Eps}, v.Args[0]
		if len(v.Args) == 1 {
			return []*ir.Value{b.add(ir.OpLayerNormGrad, attrs, dy, x, v)}
		}
		grads := []*ir.Value{b.add(ir.OpLayerNormAffineGrad, attrs, dy, x, v.Args[1]), b.add(ir.OpLayerNormWeightGrad, attrs, dy, x)}
		if len(v.Args) == 3 {
			grads = append(grads, b.add(ir.OpSumTo, ir.Attrs{To: v.Args[2].Shape}, dy))
		}
		return grads
	},
	// batch_norm: through the batch's statistics in training mode, the
	// running ones in evaluation mode, x̂ recomputed from x; the buffers
	// take no gradient; dweight = Σ dy·x̂ and dbias = Σ dy per channel.
	ir.OpBatchNorm: func(b *builder, v, dy *ir.Value) []*ir.Value {
		x, mean, variance, _, weight, _ := ir.BatchNormParts(v)
		stats := []*ir.Value{dy, x}
		if mean != nil {
			stats = append(stats, mean, variance)
		}
		attrs := ir.Attrs{Eps: v.Eps}
		dxArgs := slices.Clone(stats)
		if weight != nil {
			dxArgs = append(dxArgs, weight)
		}
		dx := b.add(ir.OpBatchNormGrad, attrs, dxArgs...)
		grads := make([]*ir.Value, len(v.Args))
		grads[0] = dx
		if weight != nil {
			axes := []int{0}
			for a := 2; a < len(x.Shape); a++ {
				axes = append(axes, a)
			}
			grads[len(grads)-2] = b.add(ir.OpBatchNormWeightGrad, attrs, stats...)
			grads[len(grads)-1] = b.add(ir.OpSum, ir.Attrs{Axes: axes}, dy)
		}
		return grads
	},
	// dropout_mask: the mask does not depend on x's numbers.
	ir.OpDropoutMask: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{nil}
	},
	// causal_mask: the constant -∞ above the diagonal takes no gradient.
	ir.OpCausalMask: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpCausalMaskGrad, ir.Attrs{}, dy)}
	},
	// The recurrent cells: the gradient of each argument is its own op,
	// which recomputes the gates from the arguments.
	ir.OpGRUCell:    cellGrads(ir.OpGRUCellGrad),
	ir.OpLSTMCell:   cellGrads(ir.OpLSTMCellGrad),
	ir.OpLSTMHidden: cellGrads(ir.OpLSTMHiddenGrad),
	// sum: every element of x contributes once to its sum.
	ir.OpSum: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{spread(b, v, dy)}
	},
	// mean: once, divided by the number of elements averaged.
	ir.OpMean: func(b *builder, v, dy *ir.Value) []*ir.Value {
		n := 1
		for _, a := range v.Axes {
			n *= v.Args[0].Shape[a]
		}
		scaled := b.add(ir.OpMul, ir.Attrs{}, dy, b.constant(1/float64(n)))
		return []*ir.Value{spread(b, v, scaled)}
	},
	ir.OpMax: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpMaxGrad, ir.Attrs{Axes: v.Axes, KeepDims: v.KeepDims}, dy, v.Args[0], v)}
	},
	ir.OpReshape: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpReshape, ir.Attrs{To: v.Args[0].Shape}, dy)}
	},
	ir.OpPermute: func(b *builder, v, dy *ir.Value) []*ir.Value {
		inverse := make([]int, len(v.Perm))
		for i, p := range v.Perm {
			inverse[p] = i
		}
		return []*ir.Value{b.add(ir.OpPermute, ir.Attrs{Perm: inverse}, dy)}
	},
	ir.OpExpand: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{dy} // summed back to x's shape by autodiff
	},
	ir.OpSumTo: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpExpand, ir.Attrs{To: v.Args[0].Shape}, dy)}
	},
	ir.OpConcat: func(b *builder, v, dy *ir.Value) []*ir.Value {
		grads := make([]*ir.Value, len(v.Args))
		start := 0
		for i, a := range v.Args {
			end := start + a.Shape[v.Axis]
			grads[i] = b.add(ir.OpSlice, ir.Attrs{Axis: v.Axis, Start: start, End: end}, dy)
			start = end
		}
		return grads
	},
	ir.OpSlice: func(b *builder, v, dy *ir.Value) []*ir.Value {
		return []*ir.Value{b.add(ir.OpSliceGrad, ir.Attrs{Axis: v.Axis, Start: v.Start, End: v.End, To: v.Args[0].Shape}, dy)}
	},
	// matmul: C = op(A)·op(B), op transposing where the attribute says.
	// dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC, each written as one
	// matmul of the arguments as stored.
	ir.OpMatMul: func(b *builder, v, dc *ir.Value) []*ir.Value {
		x, y := v.Args[0], v.Args[1]
		var da, db *ir.Value
		if v.TransA {
			da = b.add(ir.OpMatMul, ir.Attrs{TransA: v.TransB, TransB: true}, y, dc) // op(B)·dCᵀ
		} else {
			da = b.add(ir.OpMatMul, ir.Attrs{TransB: !v.TransB}, dc, y) // dC·op(B)ᵀ
		}
		if v.TransB {
			db = b.add(ir.OpMatMul, ir.Attrs{TransA: true, TransB: v.TransA}, dc, x) // dCᵀ·op(A)
		} else {
			db = b.add(ir.OpMatMul, ir.Attrs{TransA: !v.TransA}, x, dc) // op(A)ᵀ·dC
		}
		return []*ir.Value{da, db}
	},
}

// preActivation is the gradient of a linear layer's or convolution's sums
// from its output's dy: dy itself, or through its fused activation.
func preActivation(b *builder, v, dy *ir.Value) *ir.Value {
	if v.Act == "" {
		return dy
	}
	info, _ := ir.ActivationOf(v.Act)
	if info.FromInput {
		panic(ruleError{fmt.Errorf("%s: fused %s needs its input for the gradient", v, v.Act)})
	}
	dz := b.add(info.Grad, unaryAttrs(v.Attrs), dy, v)
	dz.Name = "d" + v.Name + ".pre"
	return dz
}

// convGrads is the conv rule: the input's and the weight's gradients by
// their ops, and the bias's, the sum of dy over the samples and the
// spatial axes (dy through the fused activation, if any).
func convGrads(b *builder, v, dy *ir.Value) []*ir.Value {
	dy = preActivation(b, v, dy)
	x, w := v.Args[0], v.Args[1]
	window := ir.Attrs{Stride: v.Stride, Pad: v.Pad, Dilation: v.Dilation, Groups: v.Groups}
	dx, dw := window, window
	dx.To, dw.To = x.Shape, w.Shape
	grads := []*ir.Value{
		b.add(ir.OpConvInputGrad, dx, dy, w),
		b.add(ir.OpConvWeightGrad, dw, dy, x),
	}
	if len(v.Args) == 3 {
		axes := []int{0}
		for a := 2; a < len(dy.Shape); a++ {
			axes = append(axes, a)
		}
		grads = append(grads, b.add(ir.OpSum, ir.Attrs{Axes: axes}, dy))
	}
	return grads
}

// windowAttrs keeps a pooling's window.
func windowAttrs(v *ir.Value) ir.Attrs {
	return ir.Attrs{Kernel: v.Kernel, Stride: v.Stride, Pad: v.Pad, Dilation: v.Dilation}
}

// spread is the gradient of a reduction v of x: dy, given back its reduced
// axes if v dropped them, broadcast over x's shape.
func spread(b *builder, v, dy *ir.Value) *ir.Value {
	x := v.Args[0]
	if !v.KeepDims {
		dy = b.add(ir.OpReshape, ir.Attrs{To: ir.Reduced(x.Shape, v.Axes, true)}, dy)
	}
	return b.add(ir.OpExpand, ir.Attrs{To: x.Shape}, dy)
}

// unaryAttrs keeps the attributes a unary function reads.
func unaryAttrs(a ir.Attrs) ir.Attrs {
	return ir.Attrs{Alpha: a.Alpha, Approx: a.Approx, Exponent: a.Exponent, Min: a.Min, Max: a.Max}
}

// ruleFor returns op's gradient rule.
func ruleFor(op ir.Op) (gradRule, bool) {
	if rule, ok := gradRules[op]; ok {
		return rule, true
	}
	if ir.UnaryOf(op) != nil {
		return unaryRule, true
	}
	if _, ok := ir.Losses[op]; ok {
		return lossRule, true
	}
	return nil, false
}

// unaryRule: y = f(x), dx = f'(x)·dy, written from y where the derivative
// allows it (σ' = y(1-y), tanh' = 1-y²...) so the input need not be kept,
// and from x otherwise (gelu).
func unaryRule(b *builder, v, dy *ir.Value) []*ir.Value {
	u := ir.UnaryOf(v.Op)
	from := v
	if u.FromInput {
		from = v.Args[0]
	}
	return []*ir.Value{b.add(u.Grad(), unaryAttrs(v.Attrs), dy, from)}
}

// lossRule: L = loss(y, t); the gradient op takes y, t and dL. The target
// is data, so it takes no gradient.
func lossRule(b *builder, v, dl *ir.Value) []*ir.Value {
	return []*ir.Value{b.add(ir.Losses[v.Op], v.LossAttrs(), v.Args[0], v.Args[1], dl), nil}
}

// cellGrads is a recurrent cell's rule: grad(dy, the cell's arguments)
// with Wrt each argument in turn.
func cellGrads(grad ir.Op) gradRule {
	return func(b *builder, v, dy *ir.Value) []*ir.Value {
		args := append([]*ir.Value{dy}, v.Args...)
		grads := make([]*ir.Value, len(v.Args))
		for k := range grads {
			grads[k] = b.add(grad, ir.Attrs{Wrt: k}, args...)
		}
		return grads
	}
}

// fitTo sums a gradient computed at a broadcast shape back to the shape of
// the argument it belongs to.
func fitTo(b *builder, da, a *ir.Value) *ir.Value {
	if slices.Equal(da.Shape, a.Shape) {
		return da
	}
	return b.add(ir.OpSumTo, ir.Attrs{To: a.Shape}, da)
}
