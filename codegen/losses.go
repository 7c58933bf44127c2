package codegen

import (
	"github.com/dave/jennifer/jen"
	"slices"

	"github.com/nngen/nngen/ir"
)

// genLoss: L = Σ term(y, t) / N over every element (N = 1 for reduction
// sum), with term (y-t)² for mse, |y-t| for l1, the stable
// max(z,0) - z·t + log(1+e^-|z|) for bce_with_logits, and for smooth_l1
// and huber their piecewise terms of y-t (see nnrt.SmoothL1, nnrt.Huber).
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
		case ir.OpSmoothL1, ir.OpHuber:
			fn := map[ir.Op]string{ir.OpSmoothL1: "SmoothL1", ir.OpHuber: "Huber"}[v.Op]
			return []jen.Code{jen.Id("s").Op("+=").Add(rt(fn, gen.at(y, idx...).Op("-").Add(gen.at(t, idx...)), gen.lit(v.Delta)))}
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
// σ(z)-t for bce_with_logits, (y-t)/β clamped to ±1 for smooth_l1 and y-t
// clamped to ±δ for huber. The scale is hoisted out of the loop.
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
		case ir.OpSmoothL1Grad:
			term = rt("SmoothL1Grad", diff, gen.lit(v.Delta))
		case ir.OpHuberGrad:
			term = rt("HuberGrad", diff, gen.lit(v.Delta))
		default:
			term = jen.Parens(rt("Sigmoid", gen.at(y, idx...)).Op("-").Add(gen.at(t, idx...)))
		}
		return []jen.Code{gen.at(v, idx...).Op("=").Id("scale").Op("*").Add(term)}
	})...)
}

// classIndex reads sample n's class index into c, refusing one out of range as
// PyTorch does (with a panic: it is a bug in the caller's data, and the
// flat buffers would otherwise read another sample's logits).
func (gen *generator) classIndex(t *ir.Value, n []index, classes int) []jen.Code {
	return []jen.Code{
		jen.Id("c").Op(":=").Add(gen.at(t, n...)),
		jen.If(jen.Id("c").Op("<").Lit(0).Op("||").Id("c").Op(">=").Lit(classes)).Block(
			jen.Panic(jen.Lit(gen.pkg + ": class index out of range in the loss target")),
		),
	}
}

// The losses of class indices, cross_entropy on logits z and nll_loss on
// log-probabilities, with PyTorch's options: a weight w per class (1
// without), an ignored class index, and cross_entropy's label smoothing ε
// over C classes. With logp = z - log Σ e^z for cross_entropy (logp = z
// for nll_loss), each sample n of class c ≠ ignore_index adds
//
//	ℓ_n = -(1-ε)·w[c]·logp[n,c] - ε/C·Σ_j w[j]·logp[n,j]
//
// and L = Σ_n ℓ_n / D, D = Σ_n w[c_n] over the samples not ignored for
// reduction mean (their count without weights), 1 for sum: aten's
// cross_entropy_loss_label_smoothing, which divides its smoothing term by
// the same weighted count as nll_loss.

// classWeights declares the class weights as a local array, weight[c].
func (gen *generator) classWeights(v *ir.Value) []jen.Code {
	if v.Weight == nil {
		return nil
	}
	ws := make([]jen.Code, len(v.Weight))
	for i, w := range v.Weight {
		ws[i] = jen.Lit(w) // untyped: the array's type rounds it
	}
	return []jen.Code{jen.Id("weight").Op(":=").Index(jen.Lit(len(ws))).Add(gen.elem()).Values(ws...)}
}

// classWeight is the weight of class c: weight[c], or nil for 1.
func (gen *generator) classWeight(v *ir.Value) *jen.Statement {
	if v.Weight == nil {
		return nil
	}
	return jen.Id("weight").Index(jen.Id("c"))
}

// weighted is weight[c]·x, or x without weights; x in parentheses if
// it is a sum.
func (gen *generator) weighted(v *ir.Value, x *jen.Statement, sum bool) *jen.Statement {
	w := gen.classWeight(v)
	switch {
	case w == nil:
		return x
	case sum:
		return w.Op("*").Parens(x)
	}
	return w.Op("*").Add(x)
}

// countsWeights says whether the mean divides by the weighted count D of
// the samples not ignored, rather than by the batch.
func countsWeights(v *ir.Value) bool {
	return v.Reduction == ir.ReduceMean && (v.Weight != nil || v.Ignores)
}

// perClass emits body for each row n of the logits (a sample, or a
// sample's position: the indexes of the axes before the classes'), its
// class index in c, checked, and with ignore_index only for a class other
// than it (otherwise ignored runs instead, if not nil).
func (gen *generator) perClass(v *ir.Value, body func(n []index) []jen.Code, ignored func(n []index) []jen.Code) []jen.Code {
	z, t := v.Args[0], v.Args[1]
	extents := gen.classRows(z)
	classes := z.Shape[len(z.Shape)-1]
	code := gen.loops(axisNames("n", len(extents)), extents, func(n []index) []jen.Code {
		if !v.Ignores {
			return append(gen.classIndex(t, n, classes), body(n)...)
		}
		code := []jen.Code{jen.Id("c").Op(":=").Add(gen.at(t, n...))}
		check := gen.classIndex(t, n, classes)[1:]
		cond := jen.Id("c").Op("!=").Lit(v.IgnoreIndex)
		if ignored == nil {
			return append(code, jen.If(cond).Block(append(check, body(n)...)...))
		}
		return append(code, jen.If(cond).Block(append(check, body(n)...)...).Else().Block(ignored(n)...))
	})
	if ir.Shape(extents).Size() == 1 {
		return []jen.Code{jen.Block(code...)} // one sample, no loop: c stays local
	}
	return code
}

// classRows are the extents of the axes of the logits z before the
// classes': each index of them is a row with its own class index.
func (gen *generator) classRows(z *ir.Value) []int {
	return gen.axes(z, allAxes(len(z.Shape)-1))
}

// classDenominator declares d, the weighted count D of the samples not
// ignored, for a mean that divides by it.
func (gen *generator) classDenominator(v *ir.Value) []jen.Code {
	code := []jen.Code{jen.Id("d").Op(":=").Add(gen.lit(0))}
	return append(code, gen.perClass(v, func([]index) []jen.Code {
		if w := gen.classWeight(v); w != nil {
			return []jen.Code{jen.Id("d").Op("+=").Add(w)}
		}
		return []jen.Code{jen.Id("d").Op("++")}
	}, nil)...)
}

// genCrossEntropy: L = Σ_n ℓ_n / D for cross_entropy and nll_loss, as the
// comment above the helpers says; without options Σ_n (log Σ_c e^z[n,c] -
// z[n,class_n]) / B, PyTorch's plain cross_entropy.
func (gen *generator) genCrossEntropy(v *ir.Value) []jen.Code {
	z := v.Args[0]
	classes := z.Shape[len(z.Shape)-1]
	eps := v.LabelSmoothing
	code := gen.classWeights(v)
	code = append(code, jen.Id("s").Op(":=").Add(gen.lit(0)))
	if eps != 0 {
		code = append(code, jen.Id("smooth").Op(":=").Add(gen.lit(0)))
	}
	if countsWeights(v) {
		code = append(code, jen.Id("d").Op(":=").Add(gen.lit(0)))
	}
	code = append(code, gen.perClass(v, func(n []index) []jen.Code {
		// -logp[n,j]: lse - z[n,j] for cross_entropy, -logp[n,j] for nll_loss.
		minusLogp := func(j index) *jen.Statement {
			if v.Op == ir.OpNLL {
				return jen.Op("-").Add(gen.at(z, append(slices.Clone(n), j)...))
			}
			return jen.Id("lse").Op("-").Add(gen.at(z, append(slices.Clone(n), j)...))
		}
		var body []jen.Code
		if v.Op == ir.OpCrossEntropy {
			body = append(body, jen.Id("lse").Op(":=").Add(kernel(gen.suffixed("LogSumExp"), gen.rowAt(z, n))))
		}
		if v.Op == ir.OpNLL {
			body = append(body, jen.Id("s").Op("-=").Add(gen.weighted(v, gen.at(z, append(slices.Clone(n), index{name: "c"})...), false)))
		} else {
			body = append(body, jen.Id("s").Op("+=").Add(gen.weighted(v, minusLogp(index{name: "c"}), true)))
		}
		if eps != 0 {
			body = append(body, gen.loops([]string{"j"}, []int{classes}, func(jx []index) []jen.Code {
				term := minusLogp(jx[0])
				if v.Weight != nil {
					term = jen.Id("weight").Index(jx[0].code()).Op("*").Parens(term)
				}
				return []jen.Code{jen.Id("smooth").Op("+=").Add(term)}
			})...)
		}
		if countsWeights(v) {
			if w := gen.classWeight(v); w != nil {
				body = append(body, jen.Id("d").Op("+=").Add(w))
			} else {
				body = append(body, jen.Id("d").Op("++"))
			}
		}
		return body
	}, nil)...)
	total := jen.Id("s")
	if eps != 0 {
		total = gen.lit(1 - eps).Op("*").Id("s").Op("+").Add(gen.lit(eps / float64(classes))).Op("*").Id("smooth")
		if v.Reduction == ir.ReduceMean {
			total = jen.Parens(total)
		}
	}
	switch {
	case countsWeights(v):
		total = total.Op("/").Id("d")
	default:
		total = gen.reduce(v, total, gen.classRows(z))
	}
	return append(code, gen.at(v).Op("=").Add(total))
}

// genCrossEntropyGrad: for a sample n of class c not ignored, with
// p = softmax(z[n]) and W = Σ_j w[j],
//
//	dz[n,j] = dL/D·[(1-ε)·w[c]·(p_j - [j=c]) + ε/C·(W·p_j - w[j])]
//
// (dL·(softmax(z[n]) - onehot(c))/B without options); an ignored sample's
// row is zero. For nll_loss, dlogp[n,j] = -dL/D·w[c]·[j=c].
func (gen *generator) genCrossEntropyGrad(v *ir.Value) []jen.Code {
	z, dl := v.Args[0], v.Args[2]
	classes := z.Shape[len(z.Shape)-1]
	eps := v.LabelSmoothing
	code := gen.classWeights(v)
	scale := gen.at(dl)
	if countsWeights(v) {
		code = append(code, gen.classDenominator(v)...)
		scale = scale.Op("/").Id("d")
	} else {
		scale = gen.reduce(v, scale, gen.classRows(z))
	}
	code = append(code, jen.Id("scale").Op(":=").Add(scale))
	sumW := float64(classes)
	if v.Weight != nil {
		sumW = 0
		for _, w := range v.Weight {
			sumW += w
		}
	}
	zero := func(n []index) []jen.Code { return []jen.Code{jen.Clear(gen.rowAt(v, n))} }
	// at is v[n..., j].
	at := func(n []index, j index) *jen.Statement { return gen.at(v, append(slices.Clone(n), j)...) }
	code = append(code, gen.perClass(v, func(n []index) []jen.Code {
		c := index{name: "c"}
		if v.Op == ir.OpNLLGrad {
			body := zero(n)
			return append(body, at(n, c).Op("=").Op("-").Add(gen.weighted(v, jen.Id("scale"), false)))
		}
		body := []jen.Code{
			jen.Copy(gen.rowAt(v, n), gen.rowAt(z, n)),
			kernel(gen.suffixed("Softmax"), gen.rowAt(v, n)),
		}
		if eps == 0 && v.Weight == nil {
			body = append(body, at(n, c).Op("-=").Lit(1))
			return append(body, gen.loops([]string{"j"}, []int{classes}, func(jx []index) []jen.Code {
				return []jen.Code{at(n, jx[0]).Op("*=").Id("scale")}
			})...)
		}
		// k = dL/D·((1-ε)·w[c] + ε·W/C) multiplies p; the one-hot and the
		// smoothing's share of each class come off after.
		hot := gen.weighted(v, jen.Id("scale"), false)
		if eps != 0 {
			hot = gen.lit(1 - eps).Op("*").Add(hot)
		}
		body = append(body, jen.Id("hot").Op(":=").Add(hot))
		k := jen.Id("hot")
		if eps != 0 {
			k = k.Op("+").Add(gen.lit(eps * sumW / float64(classes))).Op("*").Id("scale")
		}
		body = append(body, jen.Id("k").Op(":=").Add(k))
		body = append(body, gen.loops([]string{"j"}, []int{classes}, func(jx []index) []jen.Code {
			line := at(n, jx[0]).Op("=").Id("k").Op("*").Add(at(n, jx[0]))
			if eps != 0 {
				share := gen.lit(eps / float64(classes)).Op("*").Id("scale")
				if v.Weight != nil {
					share = share.Op("*").Id("weight").Index(jx[0].code())
				}
				line = line.Op("-").Add(share)
			}
			return []jen.Code{line}
		})...)
		return append(body, at(n, c).Op("-=").Id("hot"))
	}, zero)...)
	return code
}
