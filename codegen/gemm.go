package codegen

import (
	"fmt"
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// gemmMin is the work (multiply-adds) from which a linear layer or a
// matmul calls the runtime's kernels instead of plain loops. Go's loops
// run a sum as one dependent chain of scalar multiply-adds, about 1.5
// GMAC/s; the kernels' small-product tiles (runtime/kernels/small.go) run
// a 16×32×8 product in about 120 ns, against 1.4 µs of loops. Measured on
// bench/mid (8-32-16-1 at batch 16, AVX-512, one core): forward 8.5 µs as
// loops, 0.41 µs on the kernels; train step 19.5 µs and 1.3 µs. The
// tutorial's networks (at most 1024 multiply-adds in all) are written out
// instead (unrollMax).
const gemmMin = 256

// poolMin is the work from which a GEMM is split across the cores by the
// model's kernels.Pool: below it, handing the halves to another core costs
// more than it saves. In a training step the cost is not the hand-off
// alone: a weight whose rows one core read in the forward product and
// whose gradient's columns it wrote is then updated by the other, and its
// cache lines cross between the cores every step. With 2M (measured on
// Intel at stop 10) the 784-128-10 network's train step at batch 32
// (products of 3.2M) ran 1.6x slower on two cores than on one on AMD EPYC
// (84 against 132 µs, 2026-12-07, GOMAXPROCS 2 against 1); from 4M it
// runs on one core, at one core's speed, while W3's (26M and 17M), W4's
// and the transformer's (6.3M) products still split: W2 at batch 256 1.7x
// forward and 1.25x per train step on two cores.
const poolMin = 1 << 22

// usesDropout reports whether the model has dropout layers, whose masks
// need its generator and hook.
func (gen *generator) usesDropout() bool {
	return slices.ContainsFunc(gen.g.Values, func(v *ir.Value) bool { return v.Op == ir.OpDropoutMask })
}

// usesPool reports whether any GEMM is big enough for the pool.
func (gen *generator) usesPool() bool {
	for _, v := range gen.g.Values {
		if m, n, k, ok := gen.gemmShape(v); ok && gen.pooled(m, n, k) {
			return true
		}
		if isConv(v) && gen.convPooled(v) {
			return true
		}
	}
	return false
}

// pooled reports whether an m×n×k GEMM runs on the model's pool: a big one,
// unless a Predictor runs it (predictors run side by side on goroutines
// of their own, each GEMM on one core).
func (gen *generator) pooled(m, n, k int) bool { return m*n*k >= poolMin && !gen.predictor }

// gemmShape is the m×n×k of a value's product, and whether it is one. A
// matmul over more than two axes is one product where its leading axes
// are more rows (see flatRows) or, summed by a sum_to, more depth (see
// summedProducts); one product per index of them otherwise, the m×n×k of
// each (see perIndex).
func (gen *generator) gemmShape(v *ir.Value) (m, n, k int, ok bool) {
	return productShape(v, gen.summedBy[v] != nil)
}

// productShape is gemmShape for a batch of products that a sum_to adds up
// (summed) or not.
func productShape(v *ir.Value, summed bool) (m, n, k int, ok bool) {
	switch v.Op {
	case ir.OpLinear:
		m, n, k = v.Shape[0], v.Shape[1], v.Args[0].Shape[1]
	case ir.OpMatMul:
		if len(v.Args[0].Shape) != 2 || len(v.Args[1].Shape) != 2 {
			m, n, k, batch, _ := ir.MatMulDims(v)
			switch {
			case flatRows(v):
				m *= batch.Size()
			case summed:
				k *= batch.Size()
			case !perIndex(v):
				return m * batch.Size(), n, k, false // loops
			}
			return m, n, k, m*n*k >= gemmMin
		}
		m, n, k = v.Shape[0], v.Shape[1], v.Args[0].Shape[1]
		if v.TransA {
			k = v.Args[0].Shape[0]
		}
	default:
		return 0, 0, 0, false
	}
	return m, n, k, m*n*k >= gemmMin
}

// flatRows reports whether a matmul over more than two axes multiplies a
// by a matrix b (a weight, broadcast over a's leading axes) without
// transposing a: a's leading axes are then more rows of one product, as
// a linear layer over a sequence (x [batch, seq, in]·wᵀ) or its input's
// gradient.
func flatRows(v *ir.Value) bool {
	return v.Op == ir.OpMatMul && len(v.Args[0].Shape) > 2 && len(v.Args[1].Shape) == 2 && !v.TransA
}

// perIndex reports whether a matmul's arguments have the same leading
// axes (none broadcast): one product per index of them, as attention's
// per batch and head.
func perIndex(v *ir.Value) bool {
	a, b := v.Args[0].Shape, v.Args[1].Shape
	return v.Op == ir.OpMatMul && len(a) > 2 && len(a) == len(b) && slices.Equal(a[:len(a)-2], b[:len(b)-2])
}

// summedProducts maps each batch of products aᵀ·b over leading axes whose
// only use is a sum_to over all those axes into a weight's gradient to
// that sum_to: the gradient of a weight broadcast over a sequence (dw =
// Σ dzᵀ·x). The matmul's code computes it as one product whose depth runs
// over the leading axes too, a and b read as [rows, ·] matrices, and the
// batch of products is never stored. It runs where the matmul is, which
// still reads its arguments there; the gradient has memory of its own.
func summedProducts(g *ir.Graph) map[*ir.Value]*ir.Value {
	uses := g.Uses()
	folded := map[*ir.Value]*ir.Value{}
	for _, v := range g.Values {
		if v.Op != ir.OpSumTo || v.Storage.Kind != ir.InGrad {
			continue
		}
		mm := v.Args[0]
		if mm.Op == ir.OpMatMul && perIndex(mm) && mm.TransA && !mm.TransB && uses[mm] == 1 &&
			slices.Equal(v.Shape, mm.Shape[len(mm.Shape)-2:]) {
			if _, _, _, ok := productShape(mm, true); ok {
				folded[mm] = v
			}
		}
	}
	return folded
}

// biasEpilogues maps each product over a sequence's rows (flatRows) that
// is only read by the add of a bias right after it, and maybe a relu of
// that, to those: a linear layer over a sequence as the front ends write
// it (matmul, add, activation), which codegen computes as a linear's GEMM
// and epilogue, straight into the last one's storage. The three are
// consecutive in the schedule, so the last one's slot held no live value
// when the product starts, unless it is one of the product's arguments,
// which would be overwritten while read: such a product keeps its own
// steps.
func biasEpilogues(g *ir.Graph) map[*ir.Value][]*ir.Value {
	uses := g.Uses()
	chains := map[*ir.Value][]*ir.Value{}
	for i, mm := range g.Values {
		if i+1 >= len(g.Values) || !flatRows(mm) || uses[mm] != 1 {
			continue
		}
		if _, _, _, ok := productShape(mm, false); !ok {
			continue
		}
		add, n := g.Values[i+1], mm.Shape[len(mm.Shape)-1]
		if add.Op != ir.OpAdd || add.Args[0] != mm || add.Args[1].Op != ir.OpParam ||
			!slices.Equal(add.Args[1].Shape, ir.Shape{n}) || add.Also != nil {
			continue
		}
		chain := []*ir.Value{add}
		if i+2 < len(g.Values) {
			if relu := g.Values[i+2]; relu.Op == ir.OpReLU && relu.Args[0] == add && uses[add] == 1 {
				chain = append(chain, relu)
			}
		}
		last := chain[len(chain)-1]
		if last.Storage.Kind == ir.InSlot && last.Storage != mm.Args[0].Storage && last.Storage != mm.Args[1].Storage {
			chains[mm] = chain
		}
	}
	return chains
}

// usesGemm reports whether any value is computed by the GEMM kernel, or
// by a convolution's, which runs on it.
func (gen *generator) usesGemm() bool {
	for _, v := range gen.g.Values {
		if _, _, _, ok := gen.gemmShape(v); ok || isConv(v) {
			return true
		}
	}
	return false
}

// gemmWork is the expression sizing the model's GEMM workspace (each
// worker's, with a pool): the largest the kernels need over every GEMM and
// convolution the model runs, or over each worker's share of it on the
// pool.
func (gen *generator) gemmWork() *jen.Statement {
	var sizes []jen.Code
	type product struct{ m, n, k int } // each size once
	seen := map[product]bool{}
	convs := map[string]bool{} // each geometry once
	for _, v := range gen.g.Values {
		if isConv(v) {
			// The same workspace on this goroutine and on each worker.
			if work := gen.convWork(v); !convs[fmt.Sprintf("%#v", work)] {
				convs[fmt.Sprintf("%#v", work)] = true
				sizes = append(sizes, work)
			}
			continue
		}
		m, n, k, ok := gen.gemmShape(v)
		if !ok || seen[product{m, n, k}] {
			continue
		}
		seen[product{m, n, k}] = true
		switch {
		case gen.pooled(m, n, k) && !gen.partial(): // a share of it, on each of the pool's workers
			sizes = append(sizes, kernel(gen.suffixed("PoolWork"), jen.Lit(0), jen.Lit(m), jen.Lit(n), jen.Lit(k)))
		default:
			// On this goroutine (with share 0's workspace when there is a
			// pool); in a partial build, also any share of a product of
			// fewer samples, which the pool may split otherwise: GemmWork
			// serves every product up to m×n×k.
			sizes = append(sizes, kernel(gen.suffixed("GemmWork"), jen.Lit(m), jen.Lit(n), jen.Lit(k)))
		}
	}
	if len(sizes) == 1 {
		return jen.Add(sizes[0])
	}
	return jen.Max(sizes...)
}

// flatValue is a row-major slice over all of v's elements: those of the
// call's samples where it has a row per sample.
func (gen *generator) flatValue(v *ir.Value) *jen.Statement {
	s := v.Storage
	size := gen.count(gen.dims(v))
	switch s.Kind {
	case ir.InSlot:
		return gen.self().Dot(slotField(s.Slot)).Index(jen.Op(":").Add(size))
	case ir.InParam:
		return gen.flat(paramField(s.Param), s.Param.Shape)
	case ir.InBuffer:
		return gen.flat(bufferField(s.Param), s.Param.Shape)
	case ir.InGrad:
		return gen.flat(gradField(s.Param), s.Param.Shape)
	case ir.InState:
		return gen.flat(stateField(s.Param), s.Param.Shape)
	case ir.InArg:
		return gen.flatArg(gen.args[v], v)
	}
	return jen.Null()
}

// gemm calls the kernel for C = op(A)·op(B) with row-major operands: on
// the model's pool of cores when the product is big enough, else on this
// core with the model's workspace. Its rows, or its depth when it sums
// over the samples (op(A) = Aᵀ, a weight's gradient), are the call's
// samples where A has a row per sample.
func (gen *generator) gemm(transA, transB bool, m, n, k int, a, b, c *ir.Value) *jen.Statement {
	return gen.gemmInto(transA, transB, m, n, k, a, b, gen.flatValue(c))
}

// gemmInto is gemm writing C, n wide, to the slice c.
func (gen *generator) gemmInto(transA, transB bool, m, n, k int, a, b *ir.Value, c *jen.Statement) *jen.Statement {
	return gen.gemmWith(transA, transB, m, n, k, a, b, c, nil, false)
}

// gemmWith is gemmInto, with the epilogue of bias (unless nil) and relu
// in the kernel's call, which must then not be pooled.
func (gen *generator) gemmWith(transA, transB bool, m, n, k int, a, b *ir.Value, c *jen.Statement, bias *ir.Value, relu bool) *jen.Statement {
	// A's rows as stored, over all its leading axes: the product's rows, or
	// its depth when op(A) = Aᵀ.
	stored := gen.count(gen.axes(a, allAxes(len(a.Shape)-1)))
	rows, depth := jen.Lit(m), jen.Lit(k)
	if transA {
		depth = stored
	} else {
		rows = stored
	}
	args := []jen.Code{
		jen.Lit(transA), jen.Lit(transB), rows, jen.Lit(n), depth,
		gen.flatValue(a), jen.Lit(a.Shape[len(a.Shape)-1]),
		gen.flatValue(b), jen.Lit(b.Shape[len(b.Shape)-1]),
		c, jen.Lit(n),
	}
	if bias != nil {
		return kernel(gen.suffixed("GemmBias"), append(args, gen.flatValue(bias), jen.Lit(relu), gen.self().Dot("gemmWork"))...)
	}
	args = append(args, jen.False())
	if gen.pooled(m, n, k) {
		return jen.Id("m").Dot("pool").Dot(gen.suffixed("Gemm")).Call(args...)
	}
	return kernel(gen.suffixed("Gemm"), append(args, gen.self().Dot("gemmWork"))...)
}

// gemmBias is gemm followed by the epilogue of a linear layer, bias added
// to every row of C and relu when asked, in one call that applies them to
// each tile of a small product while it is in registers; for a product on
// the pool, the vector pass after it. (Each worker adding the bias to its
// band instead made W3's forward pass 4% slower on two cores: measured in
// alternating runs, three rounds.)
func (gen *generator) gemmBias(transA, transB bool, m, n, k int, a, b, c, bias *ir.Value, relu bool) []jen.Code {
	if gen.pooled(m, n, k) {
		name := "AddBias"
		if relu {
			name = "AddBiasReLU"
		}
		return []jen.Code{gen.gemm(transA, transB, m, n, k, a, b, c), kernel(gen.suffixed(name), gen.flatValue(c), gen.flatValue(bias))}
	}
	return []jen.Code{gen.gemmWith(transA, transB, m, n, k, a, b, gen.flatValue(c), bias, relu)}
}

// genBatchedGemm: c[b...] = op(a[b...])·op(b[b...]) by the kernel, one
// product per index of the leading axes, each on its own matrices.
func (gen *generator) genBatchedGemm(v *ir.Value, m, n, k int) []jen.Code {
	a, b := v.Args[0], v.Args[1]
	lead := len(v.Shape) - 2
	// operand is the matrix of x at the leading indexes, its row stride and
	// whether it is read transposed: where x lies, or in its view's source.
	operand := func(x *ir.Value, trans bool, idx []index) (*jen.Statement, int, bool) {
		if mx, ok := gen.operandView(x); ok && gen.views[x] {
			return gen.matrixAt(mx, x, idx), mx.ld, trans != mx.trans
		}
		return gen.span(x, idx), x.Shape[len(x.Shape)-1], trans
	}
	return gen.loops(axisNames("b", lead), gen.axes(v, allAxes(lead)), func(idx []index) []jen.Code {
		as, lda, ta := operand(a, v.TransA, idx)
		bs, ldb, tb := operand(b, v.TransB, idx)
		return []jen.Code{kernel(gen.suffixed("Gemm"),
			jen.Lit(ta), jen.Lit(tb), jen.Lit(m), jen.Lit(n), jen.Lit(k),
			as, jen.Lit(lda), bs, jen.Lit(ldb),
			gen.span(v, idx), jen.Lit(n), jen.False(), gen.self().Dot("gemmWork"))}
	})
}

// swapped reports whether a weight's gradient Σ dzᵀ·x, m×n, is computed
// as its transpose xᵀ·dz and then transposed: the kernels pack a
// transposed A of many rows slowly (one core, depth 512: 256×64 at 38
// GFLOP/s, 64×256 at 88; 192×64 at 45, 64×192 at 109), and the transpose
// of the m·n result costs little beside the product's m·n·k.
func swapped(m, n int) bool { return m > n }

// swapSize is the largest transposed weight gradient (see swapped), which
// the model's gemmSwap holds; 0 for none.
func (gen *generator) swapSize() int {
	size := 0
	for mm := range gen.summedBy {
		if m, n, _, _ := gen.gemmShape(mm); swapped(m, n) {
			size = max(size, m*n)
		}
	}
	return size
}

// swappedGemm: dw = (xᵀ·dz)ᵀ, the product into the model's gemmSwap,
// then transposed into the gradient.
func (gen *generator) swappedGemm(m, n, k int, dz, x, dw *ir.Value) []jen.Code {
	swap := gen.self().Dot("gemmSwap").Index(jen.Op(":").Lit(m * n))
	return []jen.Code{
		gen.gemmInto(true, false, n, m, k, x, dz, swap.Clone()),
		jen.Block(
			jen.Id("d").Op(":=").Add(gen.flatValue(dw)).Index(jen.Op(":").Lit(m*n)),
			jen.Id("s").Op(":=").Add(swap),
			jen.For(jen.Id("i").Op(":=").Range().Lit(m)).Block(
				jen.For(jen.Id("j").Op(":=").Range().Lit(n)).Block(
					jen.Id("d").Index(jen.Id("i").Op("*").Lit(n).Op("+").Id("j")).Op("=").Id("s").Index(jen.Id("j").Op("*").Lit(m).Op("+").Id("i")))),
		),
	}
}

// genClose emits Close, which stops the model's pool of workers. Every
// model has it, so that code calling it keeps compiling when a change of
// sizes (or of nngen's thresholds) gives a model a pool or takes it away.
func (gen *generator) genClose(f *jen.File) {
	if !gen.usesPool() {
		f.Comment("Close releases what the model holds besides its memory: nothing for this one, whose")
		f.Comment("layers all run on the calling goroutine. Models with layers large enough to split")
		f.Comment("across cores stop their goroutines here.")
		f.Func().Params(gen.receiver()).Id("Close").Params().Block()
		return
	}
	f.Comment("Close stops the goroutines that split the large layers across cores. The model")
	f.Comment("must not be used after. Without Close they stop once the model is garbage.")
	f.Func().Params(gen.receiver()).Id("Close").Params().Block(jen.Id("m").Dot("pool").Dot("Close").Call())
}

// genLinearGemm: z = x·wᵀ + b by the kernel, the bias added and relu
// applied in the same call (gemmBias); another activation after it, by the
// vector sigmoid or in Go loops, or the row's softmax.
func (gen *generator) genLinearGemm(v *ir.Value, m, n, k int) []jen.Code {
	x, w := v.Args[0], v.Args[1]
	act := v.Act
	relu := act == ir.OpReLU && v.Also == nil
	var code []jen.Code
	if len(v.Args) == 3 {
		code = gen.gemmBias(false, true, m, n, k, x, w, v, v.Args[2], relu)
		if relu {
			return code
		}
	} else {
		code = []jen.Code{gen.gemm(false, true, m, n, k, x, w, v)}
	}
	if act == "" && v.Also == nil {
		return code
	}
	if gen.vectorSigmoid(v, act) {
		return append(code, kernel("SigmoidInPlace32", gen.flatValue(v)))
	}
	elementwise := v.Also != nil || !rowWise(act)
	return append(code, gen.loops([]string{"n"}, gen.axes(v, []int{0}), func(nx []index) []jen.Code {
		var row []jen.Code
		if elementwise {
			row = gen.loops([]string{"i"}, []int{n}, func(ix []index) []jen.Code {
				z := gen.at(v, nx[0], ix[0])
				if v.Also != nil {
					return []jen.Code{gen.at(v.Also, nx[0], ix[0]).Op("=").Add(gen.activation(v.Also.Op, v.Also.Attrs, z.Clone()))}
				}
				return []jen.Code{z.Clone().Op("=").Add(gen.activation(act, v.Attrs, z.Clone()))}
			})
		}
		if rowWise(act) {
			row = append(row, kernel(gen.suffixed("Softmax"), gen.row(v, nx[0])))
		}
		return row
	})...)
}

// genMatMulGemm: c = op(a)·op(b) by the kernel; over more than two axes
// as one product (flatRows, or summed into a weight's gradient) or one per
// index of the leading axes.
func (gen *generator) genMatMulGemm(v *ir.Value, m, n, k int) []jen.Code {
	if chain := gen.epilogues[v]; chain != nil {
		last := chain[len(chain)-1]
		return gen.gemmBias(false, v.TransB, m, n, k, v.Args[0], v.Args[1], last, chain[0].Args[1], last.Op == ir.OpReLU)
	}
	if sum := gen.summedBy[v]; sum != nil {
		if swapped(m, n) {
			return gen.swappedGemm(m, n, k, v.Args[0], v.Args[1], sum)
		}
		return []jen.Code{gen.gemm(true, false, m, n, k, v.Args[0], v.Args[1], sum)}
	}
	if len(v.Shape) > 2 && !flatRows(v) {
		return gen.genBatchedGemm(v, m, n, k)
	}
	return []jen.Code{gen.gemm(v.TransA, v.TransB, m, n, k, v.Args[0], v.Args[1], v)}
}

// suffixed names the runtime function for the model's dtype: Gemm32.
func (gen *generator) suffixed(name string) string {
	if gen.g.DType == ir.F64 {
		return name + "64"
	}
	return name + "32"
}
