package cudagen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// kernel is one __global__ function and its launch: one thread per element
// it writes (per row where a row is needed whole), each checking its index
// against threads.
type kernel struct {
	name    string
	comment string
	phase   int // phaseForward, phaseBackward or phaseStep
	mode    int // modeBoth, or the one mode whose phases launch it (batch norm's)
	threads int
	buffers []*buffer // pointer parameters, in order
	written map[*buffer]bool
	scalars []*ir.Value // hyperparameters, passed by value after the pointers
	body    []string    // statements, after the thread index t is checked
	// gemm is the kernel's matrix product, which cuBLAS computes in its
	// place where it loads; then it launches the kernels whose epilogueOf
	// is this one, which the phases do not list themselves.
	gemm       *gemm
	epilogueOf *kernel
	prologueOf *kernel // likewise, launched before the product (an im2col)
}

// gemm is a row-major product c = op(a)·op(b) of buffers, over batch
// products strides apart, c offC elements into its buffer (cuda.GEMM).
type gemm struct {
	transA, transB            bool
	m, n, k                   int
	a, b, c                   *buffer
	offC                      int
	batch                     int
	strideA, strideB, strideC int
}

// The phases: which generated method launches a kernel.
const (
	phaseForward  = iota // Forward, and the start of Backward
	phaseBackward        // the rest of Backward: the loss and the gradients
	phaseStep            // Step
	numPhases
)

var phaseNames = [numPhases]string{"phaseForward", "phaseBackward", "phaseStep"}

// The modes a kernel runs in. A model with kernels of one mode has the
// phases twice: Forward's and Backward's launches in training mode
// (phaseForward, phaseBackward), then in evaluation mode
// (phaseForwardEval, phaseBackwardEval), which run picks by the model's
// mode.
const (
	modeBoth = iota
	modeTrain
	modeEval
)

func phaseOf(v *ir.Value) int {
	switch v.Phase {
	case ir.Forward:
		return phaseForward
	case ir.Update:
		return phaseStep
	}
	return phaseBackward
}

// kernelBuilder writes one kernel, adding parameters as its body refers to
// values.
type kernelBuilder struct {
	gen *generator
	k   *kernel
}

func (gen *generator) newKernel(v *ir.Value, suffix string, threads int) *kernelBuilder {
	name := fmt.Sprintf("%s_v%d%s", v.Op, v.ID, suffix)
	k := &kernel{name: name, comment: v.LongString(), phase: phaseOf(v), threads: threads, written: map[*buffer]bool{}}
	gen.kernels = append(gen.kernels, k)
	return &kernelBuilder{gen: gen, k: k}
}

// ptr is the name of the pointer parameter for v's buffer.
func (kb *kernelBuilder) ptr(v *ir.Value) string {
	b := kb.gen.layout.of(v)
	if b == nil {
		kb.gen.fail(fmt.Errorf("cudagen: %s has no buffer", v.LongString()))
		return "nowhere"
	}
	return kb.use(b)
}

func (kb *kernelBuilder) use(b *buffer) string {
	for _, have := range kb.k.buffers {
		if have == b {
			return b.name
		}
	}
	kb.k.buffers = append(kb.k.buffers, b)
	return b.name
}

// out is ptr for a value the kernel writes.
func (kb *kernelBuilder) out(v *ir.Value) string {
	name := kb.ptr(v)
	kb.k.written[kb.gen.layout.of(v)] = true
	return name
}

// scalar is an expression for the scalar v: a parameter passed by value
// for a hyperparameter, a literal for a constant, else its buffer's first
// element.
func (kb *kernelBuilder) scalar(v *ir.Value) string {
	switch v.Storage.Kind {
	case ir.InHyper:
		for _, have := range kb.k.scalars {
			if have == v {
				return cName(v.Name)
			}
		}
		kb.k.scalars = append(kb.k.scalars, v)
		return cName(v.Name)
	case ir.InConst:
		return kb.gen.lit(v.Value)
	}
	return kb.ptr(v) + "[0]"
}

func (kb *kernelBuilder) line(format string, args ...any) {
	kb.k.body = append(kb.k.body, fmt.Sprintf(format, args...))
}

// lit is x as a literal of the model's type, rounded as Go rounds the
// constant: real(x) of the float64 x.
func (gen *generator) lit(x float64) string {
	bits := 64
	if gen.g.DType == ir.F32 {
		bits = 32
		x = float64(float32(x))
	}
	s := strconv.FormatFloat(x, 'g', -1, bits)
	switch {
	case math.IsInf(x, 0) || math.IsNaN(x):
		gen.fail(fmt.Errorf("cudagen: constant %v", x))
	case !strings.ContainsAny(s, ".e"):
		s += ".0"
	}
	if bits == 32 {
		s += "f"
	}
	return "(real)" + s
}

// kernelEmitters write the kernels computing one value; each one's
// comment gives the formula, which is that of the Go emitter of the same op
// in codegen and of nngen's runtime.
var kernelEmitters = map[ir.Op]func(gen *generator, v *ir.Value){
	ir.OpLinear:           (*generator).linear,
	ir.OpMatMul:           (*generator).matmul,
	ir.OpSumRows:          (*generator).sumRows,
	ir.OpAdd:              (*generator).add,
	ir.OpMSE:              (*generator).loss,
	ir.OpL1:               (*generator).loss,
	ir.OpBCEWithLogits:    (*generator).loss,
	ir.OpCrossEntropy:     (*generator).loss,
	ir.OpMSEGrad:          (*generator).lossGrad,
	ir.OpL1Grad:           (*generator).lossGrad,
	ir.OpBCEGrad:          (*generator).lossGrad,
	ir.OpCrossEntropyGrad: (*generator).crossEntropyGrad,
	ir.OpNLL:              (*generator).loss,
	ir.OpNLLGrad:          (*generator).crossEntropyGrad,
	ir.OpSmoothL1:         (*generator).loss,
	ir.OpSmoothL1Grad:     (*generator).lossGrad,
	ir.OpHuber:            (*generator).loss,
	ir.OpHuberGrad:        (*generator).lossGrad,
	ir.OpStepCount:        (*generator).stepCount,
	ir.OpSGD:              (*generator).sgd,
	ir.OpSGDMomentum:      (*generator).sgdMomentum,
	ir.OpAdam:             (*generator).adam,

	// Tensors of any rank (tensor.go).
	ir.OpSub:                 (*generator).binary,
	ir.OpMul:                 (*generator).binary,
	ir.OpDiv:                 (*generator).binary,
	ir.OpLogSoftmax:          (*generator).logSoftmax,
	ir.OpLayerNorm:           (*generator).layerNorm,
	ir.OpLayerNormGrad:       (*generator).layerNormGrad,
	ir.OpBatchNorm:           (*generator).batchNorm,
	ir.OpBatchNormGrad:       (*generator).batchNormGrad,
	ir.OpBatchNormWeightGrad: (*generator).batchNormWeightGrad,
	ir.OpLogSoftmaxGrad:      (*generator).logSoftmaxGrad,
	ir.OpDropoutMask:         (*generator).dropoutMask,
	ir.OpSum:                 (*generator).reduce,
	ir.OpMean:                (*generator).reduce,
	ir.OpMax:                 (*generator).reduce,
	ir.OpMaxGrad:             (*generator).maxGrad,
	ir.OpReshape:             (*generator).reshape,
	ir.OpPermute:             (*generator).permute,
	ir.OpExpand:              (*generator).expand,
	ir.OpSumTo:               (*generator).sumTo,
	ir.OpConcat:              (*generator).concat,
	ir.OpSlice:               (*generator).slice,
	ir.OpSliceGrad:           (*generator).sliceGrad,
	ir.OpCausalMask:          (*generator).causalMask,
	ir.OpGRUCell:             (*generator).cell,
	ir.OpGRUCellGrad:         (*generator).cell,
	ir.OpLSTMCell:            (*generator).cell,
	ir.OpLSTMCellGrad:        (*generator).cell,
	ir.OpLSTMHidden:          (*generator).cell,
	ir.OpLSTMHiddenGrad:      (*generator).cell,
	ir.OpCausalMaskGrad:      (*generator).causalMask,
	ir.OpLayerNormAffineGrad: (*generator).layerNormAffineGrad,
	ir.OpLayerNormWeightGrad: (*generator).layerNormWeightGrad,

	// Lookups (embedding.go).
	ir.OpEmbedding:     (*generator).embedding,
	ir.OpEmbeddingGrad: (*generator).embeddingGrad,

	// Convolutions and poolings (conv.go).
	ir.OpConv:           (*generator).conv,
	ir.OpConvInputGrad:  (*generator).convInputGrad,
	ir.OpConvWeightGrad: (*generator).convWeightGrad,
	ir.OpMaxPool:        (*generator).pool,
	ir.OpAvgPool:        (*generator).pool,
	ir.OpMaxPoolGrad:    (*generator).maxPoolGrad,
	ir.OpAvgPoolGrad:    (*generator).avgPoolGrad,
}

func emitterFor(op ir.Op) (func(gen *generator, v *ir.Value), bool) {
	if emit, ok := kernelEmitters[op]; ok {
		return emit, true
	}
	d, _ := ir.Def(op)
	switch {
	case d.Unary != nil || op == ir.OpSoftmax:
		return (*generator).activation, true
	case d.GradOf != nil || op == ir.OpSoftmaxGrad:
		return (*generator).activationGrad, true
	}
	return nil, false
}

// constants are a unary function's extra arguments, as literals.
func (gen *generator) constants(u *ir.Unary, attrs ir.Attrs) string {
	var s string
	for _, c := range u.Constants(attrs) {
		s += ", " + gen.lit(c)
	}
	return s
}

// act is the device function applying an elementwise function to x.
func (gen *generator) act(op ir.Op, attrs ir.Attrs, x string) string {
	if op == "" {
		return x
	}
	u := ir.UnaryOf(op)
	if u == nil {
		gen.fail(fmt.Errorf("cudagen: %s is not an elementwise function", op))
		return x
	}
	_, fn, _ := u.Names(attrs)
	return fn + "(" + x + gen.constants(u, attrs) + ")"
}

// actGrad is dy times the function's derivative, from its output or its
// input (see ir.Unary.FromInput).
func (gen *generator) actGrad(op ir.Op, attrs ir.Attrs, dy, from string) string {
	d, _ := ir.Def(op)
	if d.GradOf == nil {
		gen.fail(fmt.Errorf("cudagen: %s is not the gradient of an elementwise function", op))
		return dy
	}
	_, _, fn := d.GradOf.Names(attrs)
	return fn + "(" + dy + ", " + from + gen.constants(d.GradOf, attrs) + ")"
}

func rowWise(op ir.Op) bool {
	info, _ := ir.ActivationOf(op)
	return info.RowWise
}

// linear: y[n,i] = act(b[i] + Σ_j w[i,j]·x[n,j]), a thread per element; a
// row-wise activation (softmax) then runs in a second kernel, a thread per
// row. With Also, the same thread writes the activation of the sum too.
// Where cuBLAS loads, it computes the product y = x·wᵀ instead, and an
// epilogue kernel adds the bias and applies the activation in place.
func (gen *generator) linear(v *ir.Value) {
	x, w := v.Args[0], v.Args[1]
	out, in := v.Shape[1], x.Shape[1]
	kb := gen.newKernel(v, "", v.Shape.Size())
	y := kb.out(v)
	xs, ws := kb.ptr(x), kb.ptr(w)
	kb.k.gemm = &gemm{transB: true, m: v.Shape[0], n: out, k: in, a: gen.layout.of(x), b: gen.layout.of(w), c: gen.layout.of(v)}
	gen.linearEpilogue(v, kb.k)
	kb.line("const long long n = t / %d, i = t %% %d;", out, out)
	if len(v.Args) == 3 {
		kb.line("real s = %s[i];", kb.ptr(v.Args[2]))
	} else {
		kb.line("real s = 0;")
	}
	kb.line("for (long long j = 0; j < %d; j++) s += %s[i * %d + j] * %s[n * %d + j];", in, ws, in, xs, in)
	act := v.Act
	switch {
	case v.Also != nil:
		kb.line("%s[t] = s;", y)
		kb.line("%s[t] = %s;", kb.out(v.Also), gen.act(v.Also.Op, v.Also.Attrs, "s"))
	case rowWise(act):
		kb.line("%s[t] = s;", y)
		rows := gen.newKernel(v, "_"+string(v.Act), v.Shape[0])
		y := rows.out(v)
		rows.line("nn_softmax(%s + t * %d, %s + t * %d, %d);", y, out, y, out, out)
	default:
		kb.line("%s[t] = %s;", y, gen.act(act, v.Attrs, "s"))
	}
}

// linearEpilogue writes the kernel that the cuBLAS path of the linear v
// (whose kernel is k) launches after the product y = x·wᵀ, unless the
// product is all: y = act(y + b[i]) in place, a thread per element (with
// Also, y + b and its activation; a row-wise activation runs in the
// kernel after, on either path).
func (gen *generator) linearEpilogue(v *ir.Value, k *kernel) {
	bias, act := len(v.Args) == 3, v.Act
	if rowWise(act) {
		act = ""
	}
	if !bias && act == "" && v.Also == nil {
		return
	}
	kb := gen.newKernel(v, "_epilogue", v.Shape.Size())
	kb.k.epilogueOf = k
	kb.k.comment = "after cuBLAS's product for " + k.comment
	y := kb.out(v)
	s := y + "[t]"
	if bias {
		s = fmt.Sprintf("%s[t] + %s[t %% %d]", y, kb.ptr(v.Args[2]), v.Shape[1])
	}
	kb.line("const real s = %s;", s)
	if v.Also != nil {
		kb.line("%s[t] = s;", y)
		kb.line("%s[t] = %s;", kb.out(v.Also), gen.act(v.Also.Op, v.Also.Attrs, "s"))
		return
	}
	kb.line("%s[t] = %s;", y, gen.act(act, v.Attrs, "s"))
}

// activation: y = act(x), a thread per element, or for softmax a thread
// per row (along the last axis).
func (gen *generator) activation(v *ir.Value) {
	x := v.Args[0]
	if rowWise(v.Op) {
		rows, width := rowsOf(v)
		kb := gen.newKernel(v, "", rows)
		kb.line("nn_softmax(%s + t * %d, %s + t * %d, %d);", kb.out(v), width, kb.ptr(x), width, width)
		return
	}
	kb := gen.newKernel(v, "", v.Shape.Size())
	y := kb.out(v)
	kb.line("%s[t] = %s;", y, gen.act(v.Op, v.Attrs, kb.ptr(x)+"[t]"))
}

// activationGrad: dx = dy·act'(x) elementwise, or y·(dy - Σ dy·y) per row
// for softmax.
func (gen *generator) activationGrad(v *ir.Value) {
	dy, from := v.Args[0], v.Args[1]
	if v.Op == ir.OpSoftmaxGrad {
		rows, width := rowsOf(v)
		kb := gen.newKernel(v, "", rows)
		kb.line("nn_softmax_grad(%s + t * %d, %s + t * %d, %s + t * %d, %d);",
			kb.out(v), width, kb.ptr(dy), width, kb.ptr(from), width, width)
		return
	}
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx := kb.out(v)
	kb.line("%s[t] = %s;", dx, gen.actGrad(v.Op, v.Attrs, kb.ptr(dy)+"[t]", kb.ptr(from)+"[t]"))
}

// matmul: c[i,j] = Σ_k a[i,k]·b[k,j], reading a or b transposed; a thread
// per element of c, consecutive threads along a row of c; cuBLAS's GEMM
// where it loads. Batched over leading axes, see batchedMatMul.
func (gen *generator) matmul(v *ir.Value) {
	a, b := v.Args[0], v.Args[1]
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		gen.batchedMatMul(v)
		return
	}
	rows, cols := v.Shape[0], v.Shape[1]
	inner := a.Shape[1]
	if v.TransA {
		inner = a.Shape[0]
	}
	kb := gen.newKernel(v, "", v.Shape.Size())
	c := kb.out(v)
	as, bs := kb.ptr(a), kb.ptr(b)
	kb.k.gemm = &gemm{transA: v.TransA, transB: v.TransB, m: rows, n: cols, k: inner, a: gen.layout.of(a), b: gen.layout.of(b), c: gen.layout.of(v)}
	kb.line("const long long i = t / %d, j = t %% %d;", cols, cols)
	ai := fmt.Sprintf("%s[i * %d + k]", as, inner)
	if v.TransA {
		ai = fmt.Sprintf("%s[k * %d + i]", as, rows)
	}
	bi := fmt.Sprintf("%s[k * %d + j]", bs, cols)
	if v.TransB {
		bi = fmt.Sprintf("%s[j * %d + k]", bs, inner)
	}
	kb.line("real s = 0;")
	kb.line("for (long long k = 0; k < %d; k++) s += %s * %s;", inner, ai, bi)
	kb.line("%s[t] = s;", c)
}

// sumRows: y[i] = Σ_n a[n,i], a thread per column.
func (gen *generator) sumRows(v *ir.Value) {
	a := v.Args[0]
	kb := gen.newKernel(v, "", v.Shape.Size())
	y, as := kb.out(v), kb.ptr(a)
	kb.line("real s = 0;")
	kb.line("for (long long n = 0; n < %d; n++) s += %s[n * %d + t];", a.Shape[0], as, a.Shape[1])
	kb.line("%s[t] = s;", y)
}

// add: c = a + b, elementwise, broadcast as NumPy does (see binary).
func (gen *generator) add(v *ir.Value) { gen.binary(v) }

// lossRows is how the loss v of y sums its terms: a row per sample (along
// the first axis) of width numbers; for a loss of class indices, a row per
// class index (a sample's, or a position's of a sequence), of the classes.
func lossRows(v *ir.Value) (rows, width int) {
	y := v.Args[0]
	switch {
	case len(y.Shape) == 0:
		return 1, 1
	case ir.ClassLoss(v.Op): // a row per class index
		width = y.Shape[len(y.Shape)-1]
		return y.Shape.Size() / width, width
	}
	return y.Shape[0], y.Shape.Size() / y.Shape[0]
}

// mean divides a sum by n for reduction mean.
func mean(v *ir.Value, sum string, n int) string {
	if v.Reduction == ir.ReduceMean && n != 1 {
		return fmt.Sprintf("%s / %d", sum, n)
	}
	return sum
}

// loss: L = Σ term / N (N = 1 for reduction sum), in two kernels: a thread
// per sample sums its row's terms, then one thread sums the rows. The
// terms: (y-t)² for mse, |y-t| for l1, max(z,0) - z·t + log(1+e^-|z|) for
// bce_with_logits, smooth_l1's and huber's piecewise terms of y-t, and for
// the losses of class indices codegen's ℓ_n (see classRow), with N the
// weighted count of the samples not ignored.
func (gen *generator) loss(v *ir.Value) {
	y, t := v.Args[0], v.Args[1]
	batch, width := lossRows(v)
	rows := gen.newKernel(v, "_rows", batch)
	sums := rows.use(gen.layout.lossRows)
	rows.k.written[gen.layout.lossRows] = true
	ys, ts := rows.ptr(y), rows.ptr(t)
	n := batch * width
	if ir.ClassLoss(v.Op) {
		n = batch
		gen.classRow(rows, v, sums, ys, ts, width)
	} else {
		rows.line("real s = 0;")
		rows.line("for (long long i = t * %d; i < (t + 1) * %d; i++) {", width, width)
		switch v.Op {
		case ir.OpMSE:
			rows.line("  const real d = %s[i] - %s[i];", ys, ts)
			rows.line("  s += d * d;")
		case ir.OpL1:
			rows.line("  s += nn_abs(%s[i] - %s[i]);", ys, ts)
		case ir.OpSmoothL1:
			rows.line("  s += nn_smooth_l1(%s[i] - %s[i], %s);", ys, ts, gen.lit(v.Delta))
		case ir.OpHuber:
			rows.line("  s += nn_huber(%s[i] - %s[i], %s);", ys, ts, gen.lit(v.Delta))
		default:
			rows.line("  s += nn_bce_with_logits(%s[i], %s[i]);", ys, ts)
		}
		rows.line("}")
		rows.line("%s[t] = s;", sums)
	}
	total := gen.newKernel(v, "", 1)
	sums = total.use(gen.layout.lossRows)
	total.line("real s = 0;")
	total.line("for (long long n = 0; n < %d; n++) s += %s[n];", batch, sums)
	if countsWeights(v) {
		gen.classDenominator(total, v, total.ptr(t), batch)
		total.line("%s[0] = s / d;", total.out(v))
		return
	}
	total.line("%s[0] = %s;", total.out(v), mean(v, "s", n))
}

// countsWeights says whether a loss of class indices divides its mean by
// the weighted count of the samples not ignored, rather than the batch.
func countsWeights(v *ir.Value) bool {
	return v.Reduction == ir.ReduceMean && (v.Weight != nil || v.Ignores)
}

// classWeights declares the class weights, weight[c], in a kernel that
// reads them; it returns how to write class c's weight ("1" without).
func (gen *generator) classWeights(kb *kernelBuilder, v *ir.Value) func(c string) string {
	if v.Weight == nil {
		return func(string) string { return "1" }
	}
	ws := make([]string, len(v.Weight))
	for i, w := range v.Weight {
		ws[i] = gen.lit(w)
	}
	kb.line("const real weight[%d] = {%s};", len(ws), strings.Join(ws, ", "))
	return func(c string) string { return "weight[" + c + "]" }
}

// classDenominator declares d, the weighted count of the samples not
// ignored, from the class indices ts.
func (gen *generator) classDenominator(kb *kernelBuilder, v *ir.Value, ts string, batch int) {
	weight := gen.classWeights(kb, v)
	kb.line("real d = 0;")
	kb.line("for (long long n = 0; n < %d; n++) {", batch)
	kb.line("  const long long c = %s[n];", ts)
	if v.Ignores {
		kb.line("  if (c != %d) d += %s;", v.IgnoreIndex, weight("c"))
	} else {
		kb.line("  d += %s;", weight("c"))
	}
	kb.line("}")
}

// classRow sets sample t's term of cross_entropy or nll_loss: with logp =
// z - log Σ e^z (cross_entropy) or the argument itself (nll_loss),
// -(1-ε)·w[c]·logp[c] - ε/C·Σ_j w[j]·logp[j], 0 for an ignored sample.
func (gen *generator) classRow(kb *kernelBuilder, v *ir.Value, sums, zs, ts string, width int) {
	weight := gen.classWeights(kb, v)
	kb.line("const long long c = %s[t];", ts)
	kb.line("const real* z = %s + t * %d;", zs, width)
	var body []string
	switch {
	case v.Op == ir.OpNLL:
		body = []string{fmt.Sprintf("%s[t] = -%s * z[c];", sums, weight("c"))}
	case v.LabelSmoothing == 0:
		body = []string{
			fmt.Sprintf("const real lse = nn_log_sum_exp(z, %d);", width),
			fmt.Sprintf("%s[t] = %s * (lse - z[c]);", sums, weight("c")),
		}
	default:
		body = []string{
			fmt.Sprintf("const real lse = nn_log_sum_exp(z, %d);", width),
			"real smooth = 0;",
			fmt.Sprintf("for (long long j = 0; j < %d; j++) smooth += %s * (lse - z[j]);", width, weight("j")),
			fmt.Sprintf("%s[t] = %s * %s * (lse - z[c]) + %s * smooth;", sums, gen.lit(1-v.LabelSmoothing), weight("c"), gen.lit(v.LabelSmoothing/float64(width))),
		}
	}
	unlessIgnored(kb, v, body, fmt.Sprintf("%s[t] = 0;", sums))
}

// unlessIgnored writes body, or with ignore_index, body for a class c
// other than it and otherwise the line ignored.
func unlessIgnored(kb *kernelBuilder, v *ir.Value, body []string, ignored string) {
	if !v.Ignores {
		for _, l := range body {
			kb.line("%s", l)
		}
		return
	}
	kb.line("if (c == %d) {", v.IgnoreIndex)
	kb.line("  %s", ignored)
	kb.line("} else {")
	for _, l := range body {
		kb.line("  %s", l)
	}
	kb.line("}")
}

// lossGrad: dy = dL·term'(y,t)/N: 2(y-t) for mse, sign(y-t) for l1,
// σ(z)-t for bce_with_logits, (y-t)/β clamped to ±1 for smooth_l1, y-t
// clamped to ±δ for huber; a thread per element.
func (gen *generator) lossGrad(v *ir.Value) {
	y, t, dl := v.Args[0], v.Args[1], v.Args[2]
	kb := gen.newKernel(v, "", v.Shape.Size())
	dy := kb.out(v)
	ys, ts := kb.ptr(y), kb.ptr(t)
	scale := kb.scalar(dl)
	if v.Op == ir.OpMSEGrad {
		scale += " * 2"
	}
	kb.line("const real scale = %s;", mean(v, scale, y.Shape.Size()))
	switch v.Op {
	case ir.OpMSEGrad:
		kb.line("%s[t] = scale * (%s[t] - %s[t]);", dy, ys, ts)
	case ir.OpL1Grad:
		kb.line("%s[t] = scale * nn_sign(%s[t] - %s[t]);", dy, ys, ts)
	case ir.OpSmoothL1Grad:
		kb.line("%s[t] = scale * nn_smooth_l1_grad(%s[t] - %s[t], %s);", dy, ys, ts, gen.lit(v.Delta))
	case ir.OpHuberGrad:
		kb.line("%s[t] = scale * nn_huber_grad(%s[t] - %s[t], %s);", dy, ys, ts, gen.lit(v.Delta))
	default:
		kb.line("%s[t] = scale * (nn_sigmoid(%s[t]) - %s[t]);", dy, ys, ts)
	}
}

// crossEntropyGrad: for sample t of class c not ignored, with p =
// softmax(z[t]) and W = Σ_j w[j], dz[t,j] = dL/D·[(1-ε)·w[c]·(p_j - [j=c])
// + ε/C·(W·p_j - w[j])] (dL·(softmax(z[t]) - onehot(c))/B without
// options), for nll_loss dlogp[t,j] = -dL/D·w[c]·[j=c]; zero for an
// ignored sample. A thread per sample, each counting D itself (the batch
// is small beside the rows). Class indices are checked on the host before
// upload.
func (gen *generator) crossEntropyGrad(v *ir.Value) {
	z, t, dl := v.Args[0], v.Args[1], v.Args[2]
	batch, width := lossRows(v)
	kb := gen.newKernel(v, "", batch)
	dz, ts := kb.out(v), kb.ptr(t)
	zs := "" // nll_loss's gradient reads no log-probabilities
	if v.Op == ir.OpCrossEntropyGrad {
		zs = kb.ptr(z)
	}
	if countsWeights(v) {
		gen.classDenominator(kb, v, ts, batch)
		kb.line("const real scale = %s / d;", kb.scalar(dl))
	} else {
		kb.line("const real scale = %s;", mean(v, kb.scalar(dl), batch))
	}
	weight := func(c string) string { return "1" }
	if v.Weight != nil {
		weight = func(c string) string { return "weight[" + c + "]" }
		if !countsWeights(v) {
			weight = gen.classWeights(kb, v)
		}
	}
	kb.line("real* row = %s + t * %d;", dz, width)
	kb.line("const long long c = %s[t];", ts)
	zero := fmt.Sprintf("for (long long i = 0; i < %d; i++) row[i] = 0;", width)
	var body []string
	eps := v.LabelSmoothing
	switch {
	case v.Op == ir.OpNLLGrad:
		body = []string{zero, fmt.Sprintf("row[c] = -%s * scale;", weight("c"))}
	case eps == 0 && v.Weight == nil:
		body = []string{
			fmt.Sprintf("nn_softmax(row, %s + t * %d, %d);", zs, width, width),
			"row[c] -= 1;",
			fmt.Sprintf("for (long long i = 0; i < %d; i++) row[i] *= scale;", width),
		}
	default:
		sumW := float64(width)
		if v.Weight != nil {
			sumW = 0
			for _, w := range v.Weight {
				sumW += w
			}
		}
		body = []string{fmt.Sprintf("nn_softmax(row, %s + t * %d, %d);", zs, width, width)}
		if eps == 0 {
			body = append(body, fmt.Sprintf("const real hot = %s * scale;", weight("c")),
				fmt.Sprintf("for (long long i = 0; i < %d; i++) row[i] *= hot;", width))
		} else {
			body = append(body, fmt.Sprintf("const real hot = %s * %s * scale;", gen.lit(1-eps), weight("c")),
				fmt.Sprintf("const real k = hot + %s * scale;", gen.lit(eps*sumW/float64(width))),
				fmt.Sprintf("for (long long i = 0; i < %d; i++) row[i] = k * row[i] - %s * scale * %s;", width, gen.lit(eps/float64(width)), weight("i")))
		}
		body = append(body, "row[c] -= hot;")
	}
	unlessIgnored(kb, v, body, zero)
}

// stepCount: steps++, one thread, before any update reads it.
func (gen *generator) stepCount(v *ir.Value) {
	kb := gen.newKernel(v, "", 1)
	kb.line("%s[0]++;", kb.out(v))
}

// sgd: d = g + weight_decay·p; p -= lr·d.
func (gen *generator) sgd(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	p, g := kb.out(v.Args[0]), kb.ptr(v.Args[1])
	lr, wd := kb.scalar(v.Args[2]), kb.scalar(v.Args[3])
	kb.line("const real d = %s[t] + %s * %s[t];", g, wd, p)
	kb.line("%s[t] -= %s * d;", p, lr)
}

// sgdMomentum: d = g + weight_decay·p; buf = d in the first step, else
// momentum·buf + (1-dampening)·d; d = d + momentum·buf with Nesterov, else
// buf; p -= lr·d.
func (gen *generator) sgdMomentum(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	p, g, buf, step := kb.out(v.Args[0]), kb.ptr(v.Args[1]), kb.out(v.Args[2]), kb.scalar(v.Args[3])
	lr, mom, damp, wd := kb.scalar(v.Args[4]), kb.scalar(v.Args[5]), kb.scalar(v.Args[6]), kb.scalar(v.Args[7])
	kb.line("real d = %s[t] + %s * %s[t];", g, wd, p)
	kb.line("if (%s == 1) {", step)
	kb.line("  %s[t] = d;", buf)
	kb.line("} else {")
	kb.line("  %s[t] = %s * %s[t] + (1 - %s) * d;", buf, mom, buf, damp)
	kb.line("}")
	if v.Nesterov {
		kb.line("d += %s * %s[t];", mom, buf)
	} else {
		kb.line("d = %s[t];", buf)
	}
	kb.line("%s[t] -= %s * d;", p, lr)
}

// adam: with t the step count, g (+ weight_decay·p for Adam; AdamW instead
// scales p by 1 - lr·weight_decay), m = β1·m + (1-β1)·g,
// v = β2·v + (1-β2)·g², p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps). The bias
// corrections are computed in float64, by every thread.
func (gen *generator) adam(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	p, g, m, sq, step := kb.out(v.Args[0]), kb.ptr(v.Args[1]), kb.out(v.Args[2]), kb.out(v.Args[3]), kb.scalar(v.Args[4])
	lr, beta1, beta2, eps, wd := kb.scalar(v.Args[5]), kb.scalar(v.Args[6]), kb.scalar(v.Args[7]), kb.scalar(v.Args[8]), kb.scalar(v.Args[9])
	kb.line("const double correction1 = 1 - nn_pow_int((double)%s, %s);", beta1, step)
	kb.line("const double correction2 = 1 - nn_pow_int((double)%s, %s);", beta2, step)
	kb.line("const real step_size = (real)((double)%s / correction1);", lr)
	kb.line("const real root2 = (real)nn_sqrt(correction2);")
	if v.Decoupled {
		kb.line("const real d = %s[t];", g)
		kb.line("%s[t] *= 1 - %s * %s;", p, lr, wd)
	} else {
		kb.line("const real d = %s[t] + %s * %s[t];", g, wd, p)
	}
	kb.line("%s[t] = %s * %s[t] + (1 - %s) * d;", m, beta1, m, beta1)
	kb.line("%s[t] = %s * %s[t] + (1 - %s) * d * d;", sq, beta2, sq, beta2)
	kb.line("%s[t] -= step_size * %s[t] / (nn_sqrt_real(%s[t]) / root2 + %s);", p, m, sq, eps)
}
