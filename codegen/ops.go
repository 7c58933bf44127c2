package codegen

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// opEmitters write the code computing one value into its storage. Each
// emitter's comment gives the formula its loops implement.
var opEmitters = map[ir.Op]func(gen *generator, v *ir.Value) []jen.Code{
	ir.OpLinear:           (*generator).genLinear,
	ir.OpMatMul:           (*generator).genMatMul,
	ir.OpSumRows:          (*generator).genSumRows,
	ir.OpAdd:              (*generator).genAdd,
	ir.OpMSE:              (*generator).genLoss,
	ir.OpL1:               (*generator).genLoss,
	ir.OpBCEWithLogits:    (*generator).genLoss,
	ir.OpCrossEntropy:     (*generator).genCrossEntropy,
	ir.OpMSEGrad:          (*generator).genLossGrad,
	ir.OpL1Grad:           (*generator).genLossGrad,
	ir.OpBCEGrad:          (*generator).genLossGrad,
	ir.OpCrossEntropyGrad: (*generator).genCrossEntropyGrad,
	ir.OpNLL:              (*generator).genCrossEntropy,
	ir.OpNLLGrad:          (*generator).genCrossEntropyGrad,
	ir.OpSmoothL1:         (*generator).genLoss,
	ir.OpHuber:            (*generator).genLoss,
	ir.OpSmoothL1Grad:     (*generator).genLossGrad,
	ir.OpHuberGrad:        (*generator).genLossGrad,
	ir.OpStepCount:        (*generator).genStepCount,
	ir.OpSGD:              (*generator).genSGD,
	ir.OpSGDMomentum:      (*generator).genSGDMomentum,
	ir.OpAdam:             (*generator).genAdam,

	// Tensors of any rank (tensor.go).
	ir.OpSub:                 (*generator).genBinary,
	ir.OpMul:                 (*generator).genBinary,
	ir.OpDiv:                 (*generator).genBinary,
	ir.OpSoftmax:             (*generator).genActivation,
	ir.OpSoftmaxGrad:         (*generator).genActivationGrad,
	ir.OpLogSoftmax:          (*generator).genLogSoftmax,
	ir.OpLogSoftmaxGrad:      (*generator).genLogSoftmaxGrad,
	ir.OpLayerNorm:           (*generator).genLayerNorm,
	ir.OpLayerNormGrad:       (*generator).genLayerNormGrad,
	ir.OpBatchNorm:           (*generator).genBatchNorm,
	ir.OpBatchNormGrad:       (*generator).genBatchNormGrad,
	ir.OpBatchNormWeightGrad: (*generator).genBatchNormWeightGrad,
	ir.OpDropoutMask:         (*generator).genDropoutMask,
	ir.OpSum:                 (*generator).genReduce,
	ir.OpMean:                (*generator).genReduce,
	ir.OpMax:                 (*generator).genReduce,
	ir.OpMaxGrad:             (*generator).genMaxGrad,
	ir.OpReshape:             (*generator).genReshape,
	ir.OpPermute:             (*generator).genPermute,
	ir.OpExpand:              (*generator).genExpand,
	ir.OpSumTo:               (*generator).genSumTo,
	ir.OpConcat:              (*generator).genConcat,
	ir.OpSlice:               (*generator).genSlice,
	ir.OpSliceGrad:           (*generator).genSliceGrad,
	ir.OpCausalMask:          (*generator).genCausalMask,
	ir.OpCausalMaskGrad:      (*generator).genCausalMask,
	ir.OpLayerNormAffineGrad: (*generator).genLayerNormAffineGrad,
	ir.OpLayerNormWeightGrad: (*generator).genLayerNormWeightGrad,

	// Recurrent cells (tensor.go).
	ir.OpGRUCell:        (*generator).genCell,
	ir.OpGRUCellGrad:    (*generator).genCell,
	ir.OpLSTMCell:       (*generator).genCell,
	ir.OpLSTMCellGrad:   (*generator).genCell,
	ir.OpLSTMHidden:     (*generator).genCell,
	ir.OpLSTMHiddenGrad: (*generator).genCell,

	// Lookups (embedding.go).
	ir.OpEmbedding:     (*generator).genEmbedding,
	ir.OpEmbeddingGrad: (*generator).genEmbeddingGrad,

	// Convolutions (conv.go).
	ir.OpConv:           (*generator).genConv,
	ir.OpConvInputGrad:  (*generator).genConvInputGrad,
	ir.OpConvWeightGrad: (*generator).genConvWeightGrad,
	ir.OpMaxPool:        (*generator).genPool,
	ir.OpAvgPool:        (*generator).genPool,
	ir.OpMaxPoolGrad:    (*generator).genMaxPoolGrad,
	ir.OpAvgPoolGrad:    (*generator).genAvgPoolGrad,
}

// emitterFor returns the emitter of op: its own, or the shared one of the
// unary functions and their gradients.
func emitterFor(op ir.Op) (func(gen *generator, v *ir.Value) []jen.Code, bool) {
	if emit, ok := opEmitters[op]; ok {
		return emit, true
	}
	d, _ := ir.Def(op)
	switch {
	case d.Unary != nil:
		return (*generator).genActivation, true
	case d.GradOf != nil:
		return (*generator).genActivationGrad, true
	}
	return nil, false
}

// genValue emits the code computing v, after a comment naming it.
func (gen *generator) genValue(v *ir.Value) []jen.Code {
	if ir.IsLeaf(v.Op) || gen.computedBy[v] != nil {
		return nil
	}
	if as := gen.assembled[v]; as != nil {
		return append([]jen.Code{jen.Comment(gen.describe(v))}, jen.Block(gen.genAssembly(v, as)...))
	}
	emit, ok := emitterFor(v.Op)
	if !ok {
		gen.fail(fmt.Errorf("codegen: no emitter for %s", v.Op))
		return nil
	}
	code := emit(gen, v)
	if len(code) > 1 {
		// A block keeps each value's locals (s, d, scale) to itself where
		// no loop encloses them.
		code = []jen.Code{jen.Block(code...)}
	}
	return append([]jen.Code{jen.Comment(gen.describe(v))}, code...)
}

// rt calls a function of package nnrt: the scalar and row functions of
// the loops.
func rt(name string, args ...jen.Code) *jen.Statement {
	return jen.Qual(nnrtPath, name).Call(args...)
}

// kernel calls a function of package kernels: GEMM and the vector kernels.
func kernel(name string, args ...jen.Code) *jen.Statement {
	return jen.Qual(kernelsPath, name).Call(args...)
}

// constants are a unary function's extra arguments, as untyped literals
// that take the type of the value they go with.
func (gen *generator) constants(u *ir.Unary, attrs ir.Attrs) []jen.Code {
	var out []jen.Code
	for _, c := range u.Constants(attrs) {
		switch {
		case math.IsInf(c, 0): // clamp without one of its bounds
			out = append(out, gen.elem().Call(jen.Qual("math", "Inf").Call(jen.Lit(int(math.Copysign(1, c))))))
		default:
			out = append(out, jen.Lit(c))
		}
	}
	return out
}

// activation applies an elementwise function (of v's op or v's Act) to x.
func (gen *generator) activation(act ir.Op, attrs ir.Attrs, x jen.Code) *jen.Statement {
	if act == "" {
		return jen.Add(x)
	}
	u := ir.UnaryOf(act)
	if u == nil {
		gen.fail(fmt.Errorf("codegen: %s is not an elementwise function", act))
		return jen.Null()
	}
	if act == ir.OpSigmoid && gen.g.DType == ir.F32 {
		return rt("Sigmoid32", x) // through a float32 exp, within 2 ulps
	}
	fn, _, _ := u.Names(attrs)
	return rt(fn, append([]jen.Code{x}, gen.constants(u, attrs)...)...)
}

// activationGrad is the gradient through a unary function: dy times its
// derivative, from the output y or, for some, the input x.
func (gen *generator) activationGrad(op ir.Op, attrs ir.Attrs, dy, from jen.Code) *jen.Statement {
	d, _ := ir.Def(op)
	if d.GradOf == nil {
		gen.fail(fmt.Errorf("codegen: %s is not the gradient of an elementwise function", op))
		return jen.Null()
	}
	fn, _, _ := d.GradOf.Names(attrs)
	return rt(fn+"Grad", append([]jen.Code{dy, from}, gen.constants(d.GradOf, attrs)...)...)
}

func rowWise(op ir.Op) bool {
	info, _ := ir.ActivationOf(op)
	return info.RowWise
}

// genLinear: y[n,i] = act(b[i] + Σ_j x[n,j]·w[i,j]). A row-wise activation
// (softmax) runs over each finished row.
func (gen *generator) genLinear(v *ir.Value) []jen.Code {
	if m, n, k, ok := gen.gemmShape(v); ok {
		return gen.genLinearGemm(v, m, n, k)
	}
	x, w := v.Args[0], v.Args[1]
	out, in := v.Shape[1], x.Shape[1]
	act := v.Act
	vecAct := gen.vectorSigmoid(v, act)
	code := gen.loops([]string{"n"}, gen.axes(v, []int{0}), func(nx []index) []jen.Code {
		n := nx[0]
		code := gen.loops([]string{"i"}, []int{out}, func(ix []index) []jen.Code {
			i := ix[0]
			var bias *jen.Statement
			if len(v.Args) == 3 {
				bias = gen.at(v.Args[2], i)
			}
			body := gen.sum(bias, "j", in, func(j index) *jen.Statement {
				return gen.at(w, i, j).Op("*").Add(gen.at(x, n, j))
			})
			switch {
			case v.Also != nil:
				return append(body, gen.at(v, n, i).Op("=").Id("s"),
					gen.at(v.Also, n, i).Op("=").Add(gen.activation(v.Also.Op, v.Also.Attrs, jen.Id("s"))))
			case rowWise(act) || vecAct:
				return append(body, gen.at(v, n, i).Op("=").Id("s"))
			}
			return append(body, gen.at(v, n, i).Op("=").Add(gen.activation(act, v.Attrs, jen.Id("s"))))
		})
		if rowWise(act) {
			code = append(code, kernel(gen.suffixed("Softmax"), gen.row(v, n)))
		}
		return code
	})
	if vecAct {
		code = append(code, kernel("SigmoidInPlace32", gen.flatValue(v)))
	}
	return code
}

// vectorSigmoid reports whether v's activation act is a float32 sigmoid
// over more than one element, applied after the sums by the runtime's
// vector kernel (eight elements at a time, within 3 ulps like Sigmoid32).
func (gen *generator) vectorSigmoid(v *ir.Value, act ir.Op) bool {
	return act == ir.OpSigmoid && gen.g.DType == ir.F32 && v.Also == nil && v.Shape.Size() > 1
}

// genActivation: y = act(x), element by element or, for softmax, row by row
// (float32: every row in one call of the kernels).
func (gen *generator) genActivation(v *ir.Value) []jen.Code {
	x := v.Args[0]
	if rowWise(v.Op) && gen.g.DType == ir.F32 {
		return []jen.Code{kernel("SoftmaxRows32", gen.flatValue(v), gen.flatValue(x), jen.Lit(v.Shape[len(v.Shape)-1]))}
	}
	if rowWise(v.Op) {
		return gen.rows(v, func(lead []index) []jen.Code {
			return []jen.Code{
				jen.Copy(gen.rowAt(v, lead), gen.rowAt(x, lead)),
				kernel(gen.suffixed("Softmax"), gen.rowAt(v, lead)),
			}
		})
	}
	if gen.vectorSigmoid(v, v.Op) {
		return []jen.Code{jen.Copy(gen.flatValue(v), gen.flatValue(x)), kernel("SigmoidInPlace32", gen.flatValue(v))}
	}
	return gen.each(v, func(idx []index) []jen.Code {
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.activation(v.Op, v.Attrs, gen.at(x, idx...)))}
	})
}

// genActivationGrad: dx = dy·act'(x), element by element or, for softmax,
// y·(dy - Σ dy·y) row by row (float32: every row in one call, the sum in
// 16 lanes).
func (gen *generator) genActivationGrad(v *ir.Value) []jen.Code {
	dy, from := v.Args[0], v.Args[1]
	if v.Op == ir.OpReLUGrad && vectorized(v) {
		return []jen.Code{kernel(gen.suffixed("ReLUGrad"), gen.flatValue(v), gen.flatValue(dy), gen.flatValue(from))}
	}
	if v.Op == ir.OpSoftmaxGrad && gen.g.DType == ir.F32 {
		return []jen.Code{kernel("SoftmaxGrad32", gen.flatValue(v), gen.flatValue(dy), gen.flatValue(from), jen.Lit(v.Shape[len(v.Shape)-1]))}
	}
	if v.Op == ir.OpSoftmaxGrad {
		return gen.rows(v, func(lead []index) []jen.Code {
			return []jen.Code{rt("SoftmaxGrad", gen.rowAt(v, lead), gen.rowAt(dy, lead), gen.rowAt(from, lead))}
		})
	}
	return gen.each(v, func(idx []index) []jen.Code {
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.activationGrad(v.Op, v.Attrs, gen.at(dy, idx...), gen.at(from, idx...)))}
	})
}

// genMatMul: c[i,j] = Σ_k a[i,k]·b[k,j], reading a or b transposed.
func (gen *generator) genMatMul(v *ir.Value) []jen.Code {
	if m, n, k, ok := gen.gemmShape(v); ok {
		return gen.genMatMulGemm(v, m, n, k)
	}
	if len(v.Args[0].Shape) != 2 || len(v.Args[1].Shape) != 2 {
		return gen.genBatchedMatMul(v)
	}
	a, b := v.Args[0], v.Args[1]
	inner := gen.axes(a, []int{1})[0]
	if v.TransA {
		inner = gen.axes(a, []int{0})[0] // the call's samples, for a weight's gradient
	}
	if inner == perCall && gen.unroll {
		return gen.loops([]string{"i"}, v.Shape[:1], func(ix []index) []jen.Code {
			return gen.sumSamples(v, "k", func(k index, j int) *jen.Statement {
				return gen.at(a, k, ix[0]).Op("*").Add(gen.at(b, k, index{value: j}))
			}, func(j int) *jen.Statement { return gen.at(v, ix[0], index{value: j}) })
		})
	}
	return gen.loops([]string{"i", "j"}, gen.dims(v), func(idx []index) []jen.Code {
		i, j := idx[0], idx[1]
		product := func(k index) *jen.Statement {
			ai, bi := []index{i, k}, []index{k, j}
			if v.TransA {
				ai = []index{k, i}
			}
			if v.TransB {
				bi = []index{j, k}
			}
			return gen.at(a, ai...).Op("*").Add(gen.at(b, bi...))
		}
		if inner == 1 { // an outer product: nothing to sum
			return []jen.Code{gen.at(v, i, j).Op("=").Add(product(index{}))}
		}
		return append(gen.sum(nil, "k", inner, product), gen.at(v, i, j).Op("=").Id("s"))
	})
}

// genSumRows: y[i] = Σ_n a[n,i].
func (gen *generator) genSumRows(v *ir.Value) []jen.Code {
	a := v.Args[0]
	if a.Shape[0] > 1 && vectorized(a) {
		// Row after row, so each sum adds in the same order as the loops.
		return []jen.Code{kernel(gen.suffixed("SumRows"), gen.flatValue(v), gen.flatValue(a))}
	}
	if gen.samples[a] && gen.unroll {
		return gen.sumSamples(v, "n", func(n index, i int) *jen.Statement { return gen.at(a, n, index{value: i}) },
			func(i int) *jen.Statement { return gen.at(v, index{value: i}) })
	}
	return gen.loops([]string{"i"}, v.Shape, func(idx []index) []jen.Code {
		i := idx[0]
		if a.Shape[0] == 1 {
			return []jen.Code{gen.at(v, i).Op("=").Add(gen.at(a, index{}, i))}
		}
		sum := gen.sum(nil, "n", gen.axes(a, []int{0})[0], func(n index) *jen.Statement { return gen.at(a, n, i) })
		return append(sum, gen.at(v, i).Op("=").Id("s"))
	})
}

// sumSamples emits, in a tiny network's written-out code, the sums over
// the call's samples of one row of a result (a weight's gradient, the
// bias's): a local per element of the row, one loop over the samples that
// adds term(k, j) to each, then the row set from them. Each element adds
// its terms in sample order, as a loop of its own would, but the row's
// additions are independent of one another and share the loop.
func (gen *generator) sumSamples(v *ir.Value, name string, term func(k index, j int) *jen.Statement, dst func(j int) *jen.Statement) []jen.Code {
	width := v.Shape[len(v.Shape)-1]
	sums := make([]jen.Code, width)
	adds := make([]jen.Code, width)
	sets := make([]jen.Code, width)
	k := index{name: name}
	for j := range width {
		s := "s" + strconv.Itoa(j)
		sums[j] = jen.Id(s)
		adds[j] = jen.Id(s).Op("+=").Add(term(k, j))
		sets[j] = dst(j).Op("=").Id(s)
	}
	code := []jen.Code{
		jen.Var().List(sums...).Add(gen.elem()),
		jen.For(jen.Id(name).Op(":=").Range().Add(gen.batch())).Block(adds...),
	}
	return []jen.Code{jen.Block(append(code, sets...)...)}
}

// genAdd: c = a + b.
func (gen *generator) genAdd(v *ir.Value) []jen.Code { return gen.genBinary(v) }
