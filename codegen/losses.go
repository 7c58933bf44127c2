package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// genLoss: L = Σ term(y, t) / N over every element (N = 1 for reduction
// sum), with term (y-t)² for mse, |y-t| for l1, and the stable
// max(z,0) - z·t + log(1+e^-|z|) for bce_with_logits.
func (gen *generator) genLoss(v *ir.Value) []jen.Code {
	y, t := v.Args[0], v.Args[1]
	if v.Op == ir.OpMSE && vectorized(y) {
		return []jen.Code{gen.at(v).Op("=").Add(gen.reduce(v, kernel(gen.suffixed("SumSquaredDiff"), gen.flatValue(y), gen.flatValue(t)), gen.dims(y)))}
	}
	code := []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
	code = append(code, gen.each(y, func(idx []index) []jen.Code {
		switch v.Op {
		case ir.OpMSE:
			return []jen.Code{
				jen.Id("d").Op(":=").Add(gen.at(y, idx...)).Op("-").Add(gen.at(t, idx...)),
				jen.Id("s").Op("+=").Id("d").Op("*").Id("d"),
			}
		case ir.OpL1:
			return []jen.Code{jen.Id("s").Op("+=").Add(rt("Abs", gen.at(y, idx...).Op("-").Add(gen.at(t, idx...))))}
		}
		return []jen.Code{jen.Id("s").Op("+=").Add(rt("BCEWithLogits", gen.at(y, idx...), gen.at(t, idx...)))}
	})...)
	return append(code, gen.at(v).Op("=").Add(gen.reduce(v, jen.Id("s"), gen.dims(y))))
}

// reduce divides a summed loss (or its gradient's scale) by the number of
// elements of the extents for reduction mean.
func (gen *generator) reduce(v *ir.Value, sum *jen.Statement, extents []int) *jen.Statement {
	if v.Reduction == ir.ReduceMean {
		return gen.divide(sum, extents)
	}
	return sum
}

// genLossGrad: dy = dL·term'(y, t)/N: 2(y-t) for mse, sign(y-t) for l1,
// σ(z)-t for bce_with_logits. The scale is hoisted out of the loop.
func (gen *generator) genLossGrad(v *ir.Value) []jen.Code {
	y, t, dl := v.Args[0], v.Args[1], v.Args[2]
	scale := gen.at(dl)
	if v.Op == ir.OpMSEGrad {
		scale = scale.Op("*").Lit(2)
	}
	code := []jen.Code{jen.Id("scale").Op(":=").Add(gen.reduce(v, scale, gen.dims(y)))}
	if v.Op == ir.OpMSEGrad && vectorized(v) {
		return append(code, kernel(gen.suffixed("ScaledDiff"), gen.flatValue(v), gen.flatValue(y), gen.flatValue(t), jen.Id("scale")))
	}
	return append(code, gen.each(v, func(idx []index) []jen.Code {
		diff := gen.at(y, idx...).Op("-").Add(gen.at(t, idx...))
		var term jen.Code
		switch v.Op {
		case ir.OpMSEGrad:
			term = jen.Parens(diff)
		case ir.OpL1Grad:
			term = rt("Sign", diff)
		default:
			term = jen.Parens(rt("Sigmoid", gen.at(y, idx...)).Op("-").Add(gen.at(t, idx...)))
		}
		return []jen.Code{gen.at(v, idx...).Op("=").Id("scale").Op("*").Add(term)}
	})...)
}

// classIndex reads sample n's class index into c, refusing one out of range as
// PyTorch does (with a panic: it is a bug in the caller's data, and the
// flat buffers would otherwise read another sample's logits).
func (gen *generator) classIndex(t *ir.Value, n index, classes int) []jen.Code {
	return []jen.Code{
		jen.Id("c").Op(":=").Add(gen.at(t, n)),
		jen.If(jen.Id("c").Op("<").Lit(0).Op("||").Id("c").Op(">=").Lit(classes)).Block(
			jen.Panic(jen.Lit(gen.pkg + ": class index out of range in the loss target")),
		),
	}
}

// genCrossEntropy: L = Σ_n (log Σ_c e^z[n,c] - z[n,class_n]) / B, B = 1 for
// reduction sum: PyTorch's cross_entropy on logits and class indices.
func (gen *generator) genCrossEntropy(v *ir.Value) []jen.Code {
	z, t := v.Args[0], v.Args[1]
	code := []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
	code = append(code, gen.loops([]string{"n"}, gen.axes(z, []int{0}), func(nx []index) []jen.Code {
		n := nx[0]
		return append(gen.classIndex(t, n, z.Shape[1]),
			jen.Id("s").Op("+=").Add(kernel(gen.suffixed("LogSumExp"), gen.row(z, n))).Op("-").Add(gen.at(z, n, index{name: "c"})))
	})...)
	return append(code, gen.at(v).Op("=").Add(gen.reduce(v, jen.Id("s"), gen.axes(z, []int{0}))))
}

// genCrossEntropyGrad: dz[n] = dL·(softmax(z[n]) - onehot(class_n))/B.
func (gen *generator) genCrossEntropyGrad(v *ir.Value) []jen.Code {
	z, t, dl := v.Args[0], v.Args[1], v.Args[2]
	code := []jen.Code{jen.Id("scale").Op(":=").Add(gen.reduce(v, gen.at(dl), gen.axes(z, []int{0})))}
	return append(code, gen.loops([]string{"n"}, gen.axes(z, []int{0}), func(nx []index) []jen.Code {
		n := nx[0]
		body := gen.classIndex(t, n, z.Shape[1])
		body = append(body,
			jen.Copy(gen.row(v, n), gen.row(z, n)),
			kernel(gen.suffixed("Softmax"), gen.row(v, n)),
			gen.at(v, n, index{name: "c"}).Op("-=").Lit(1),
		)
		return append(body, gen.loops([]string{"i"}, z.Shape[1:], func(ix []index) []jen.Code {
			return []jen.Code{gen.at(v, n, ix[0]).Op("*=").Id("scale")}
		})...)
	})...)
}
