package cudagen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The kernels of the ops on tensors of any rank: elementwise functions of
// two values with broadcasting, functions of rows, reductions, movement and
// batched products. As the layers' kernels, each runs a thread per element
// it writes (per row for the row functions), and each computes what the Go
// emitter of the same op computes (codegen/tensor.go), in the same order.
//
// A kernel finds the elements it reads from its thread's index: the
// coordinates of element t of its result, by division and remainder with
// constant strides, give the flat index into each operand.

// coord says where one axis of an operand gets its coordinate: from axis
// axis of element of (a C variable: the thread t, a loop index) of a
// tensor shaped shape, plus offset; with of empty, offset alone.
type coord struct {
	of     string
	shape  ir.Shape
	axis   int
	offset int
}

// from is the coordinate of axis axis of element of, of a tensor shaped shape.
func from(of string, shape ir.Shape, axis int) coord {
	return coord{of: of, shape: shape, axis: axis}
}

// flatIndex is the C expression of the row-major index into a tensor
// shaped in whose axis d has the coordinate coords[d]. Runs of axes that
// follow one another in both shapes with the same extents take their
// coordinates at once: the index into a tensor of the result's shape is t.
func flatIndex(in ir.Shape, coords []coord) string {
	var terms []string
	constant := 0
	stride := 1 // of axis d in in
	for d := len(in) - 1; d >= 0; {
		c := coords[d]
		lo := d
		if c.of != "" {
			for lo > 0 {
				inner, outer := coords[lo], coords[lo-1]
				if outer.of != c.of || !slices.Equal(outer.shape, c.shape) || outer.axis != inner.axis-1 ||
					inner.offset != 0 || in[lo] != inner.shape[inner.axis] {
					break
				}
				lo--
			}
		}
		// The axes lo..d of in take the coordinate of axes lo'..c.axis of
		// c.of, where lo' = coords[lo].axis.
		first := coords[lo]
		if c.of != "" {
			span := ir.Shape(c.shape[first.axis : c.axis+1]).Size()
			if span > 1 {
				expr := c.of
				if inner := ir.Shape(c.shape[c.axis+1:]).Size(); inner > 1 {
					expr += " / " + strconv.Itoa(inner)
				}
				if ir.Shape(c.shape[:first.axis]).Size() > 1 {
					expr += " % " + strconv.Itoa(span)
				}
				if stride > 1 {
					expr += " * " + strconv.Itoa(stride)
				}
				terms = append(terms, expr)
			}
		}
		// The strides of in from d down to lo; first's offset moves it.
		for e := d; e > lo; e-- {
			stride *= in[e]
		}
		constant += first.offset * stride
		stride *= in[lo]
		d = lo - 1
	}
	slices.Reverse(terms)
	s := strings.Join(terms, " + ")
	switch {
	case s == "":
		return strconv.Itoa(constant)
	case constant > 0:
		s += " + " + strconv.Itoa(constant)
	case constant < 0:
		s += " - " + strconv.Itoa(-constant)
	}
	return s
}

// coordinate is the C expression of axis axis of element of of a tensor
// shaped shape.
func coordinate(of string, shape ir.Shape, axis int) string {
	return flatIndex(ir.Shape{shape[axis]}, []coord{from(of, shape, axis)})
}

// identity is the coordinates of element t of a tensor shaped shape.
func identity(shape ir.Shape) []coord {
	cs := make([]coord, len(shape))
	for d := range shape {
		cs[d] = from("t", shape, d)
	}
	return cs
}

// broadcastCoords pairs the axes of a value shaped in with those of a
// result shaped out, element t, as NumPy broadcasting does: aligned at
// their last axes, an axis of 1 repeating its one element.
func broadcastCoords(in, out ir.Shape) []coord {
	skip := len(out) - len(in)
	cs := make([]coord, len(in))
	for d := range in {
		if in[d] != 1 || out[skip+d] == 1 {
			cs[d] = from("t", out, skip+d)
		}
	}
	return cs
}

// element is v's element at the coordinates: a scalar by value where it
// has one (a constant, a hyperparameter), else from its buffer.
func (kb *kernelBuilder) element(v *ir.Value, coords []coord) string {
	if len(v.Shape) == 0 {
		return kb.scalar(v)
	}
	return kb.ptr(v) + "[" + flatIndex(v.Shape, coords) + "]"
}

var binaryOps = map[ir.Op]string{ir.OpAdd: "+", ir.OpSub: "-", ir.OpMul: "*", ir.OpDiv: "/"}

// binary: c = a op b element by element, broadcast as NumPy does.
func (gen *generator) binary(v *ir.Value) {
	a, b := v.Args[0], v.Args[1]
	kb := gen.newKernel(v, "", v.Shape.Size())
	c := kb.out(v)
	x := kb.element(a, broadcastCoords(a.Shape, v.Shape))
	y := kb.element(b, broadcastCoords(b.Shape, v.Shape))
	kb.line("%s[t] = %s %s %s;", c, x, binaryOps[v.Op], y)
}

// dropoutMask: the mask that the host drew (nnrt.DropoutMask: the model's
// generator or DropoutMasks hook, 1 in evaluation mode) and uploaded
// before the forward phase, which a mask does not depend on, copied to
// where the plan keeps it for the mul and its gradient.
func (gen *generator) dropoutMask(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	kb.line("%s[t] = %s[t];", kb.out(v), kb.use(gen.layout.masks[v]))
}

// rowsOf is the number of rows of v along its last axis, and their width.
func rowsOf(v *ir.Value) (rows, width int) {
	width = v.Shape[len(v.Shape)-1]
	return v.Shape.Size() / width, width
}

// logSoftmax: y = x - log Σ e^x over each row, shifted by the row's
// maximum; a thread per row.
func (gen *generator) logSoftmax(v *ir.Value) {
	rows, width := rowsOf(v)
	kb := gen.newKernel(v, "", rows)
	kb.line("real* out = %s + t * %d;", kb.out(v), width)
	kb.line("const real* row = %s + t * %d;", kb.ptr(v.Args[0]), width)
	kb.line("real top = row[0];")
	kb.line("for (long long i = 1; i < %d; i++) top = nn_max(top, row[i]);", width)
	kb.line("double sum = 0;")
	kb.line("for (long long i = 0; i < %d; i++) sum += nn_exp((double)(row[i] - top));", width)
	kb.line("const double shift = (double)top + nn_log(sum);")
	kb.line("for (long long i = 0; i < %d; i++) out[i] = (real)((double)row[i] - shift);", width)
}

// logSoftmaxGrad: dx = dy - e^y·Σ dy over each row; a thread per row.
func (gen *generator) logSoftmaxGrad(v *ir.Value) {
	rows, width := rowsOf(v)
	kb := gen.newKernel(v, "", rows)
	kb.line("real* out = %s + t * %d;", kb.out(v), width)
	kb.line("const real* row_dy = %s + t * %d;", kb.ptr(v.Args[0]), width)
	kb.line("const real* row_y = %s + t * %d;", kb.ptr(v.Args[1]), width)
	kb.line("real sum = 0;")
	kb.line("for (long long i = 0; i < %d; i++) sum += row_dy[i];", width)
	kb.line("for (long long i = 0; i < %d; i++) out[i] = row_dy[i] - (real)nn_exp((double)row_y[i]) * sum;", width)
}

// reduction is a reduction of x (see ir.Reduction), with the extents of
// its reduced axes and which axes they are.
type reduction struct {
	x       *ir.Value
	reduced ir.Shape // the extents of the reduced axes of x, in order
	kept    []int
	isRed   []bool
}

func reductionOf(x *ir.Value, r ir.Reduction) *reduction {
	rd := &reduction{x: x, reduced: r.Extents(x.Shape), kept: r.Kept, isRed: make([]bool, len(x.Shape))}
	for _, a := range r.Reduced {
		rd.isRed[a] = true
	}
	return rd
}

// over reduces the axes of x, to a result with them kept as 1s or dropped.
func over(x *ir.Value, axes []int, keep bool) *reduction {
	return reductionOf(x, ir.ReductionOver(x.Shape, axes, keep))
}

// coords are the coordinates into x of element t of out, shaped outShape,
// and of the loop index r ("" for the first element).
func (rd *reduction) coords(outShape ir.Shape, r string) []coord {
	cs := make([]coord, len(rd.x.Shape))
	i := 0
	for a := range rd.x.Shape {
		switch {
		case rd.isRed[a]:
			if r != "" {
				cs[a] = from(r, rd.reduced, i)
			}
			i++
		case rd.kept[a] >= 0:
			cs[a] = from("t", outShape, rd.kept[a])
		}
	}
	return cs
}

// sumOver emits the sum (or the maximum, for max) of x over the reduced
// axes for element t of v, into v; mean divides the sum by their size.
func (gen *generator) sumOver(v *ir.Value, rd *reduction) {
	n := rd.reduced.Size()
	kb := gen.newKernel(v, "", v.Shape.Size())
	y, xs := kb.out(v), kb.ptr(rd.x)
	if n == 1 {
		kb.line("%s[t] = %s[%s];", y, xs, flatIndex(rd.x.Shape, rd.coords(v.Shape, "")))
		return
	}
	at := xs + "[" + flatIndex(rd.x.Shape, rd.coords(v.Shape, "r")) + "]"
	if v.Op == ir.OpMax {
		kb.line("real s = %s[%s];", xs, flatIndex(rd.x.Shape, rd.coords(v.Shape, "")))
		kb.line("for (long long r = 0; r < %d; r++) s = nn_max(s, %s);", n, at)
	} else {
		kb.line("real s = 0;")
		kb.line("for (long long r = 0; r < %d; r++) s += %s;", n, at)
	}
	if v.Op == ir.OpMean {
		kb.line("%s[t] = s / %d;", y, n)
		return
	}
	kb.line("%s[t] = s;", y)
}

// reduce: y = Σ x, its mean or its maximum over the axes; a thread per
// element of y.
func (gen *generator) reduce(v *ir.Value) {
	gen.sumOver(v, over(v.Args[0], v.Axes, v.KeepDims))
}

// maxGrad: dx = dy at the first place, in row-major order, where x equals
// its maximum y, 0 elsewhere; a thread per element of dx, which finds the
// first place of its own maximum.
func (gen *generator) maxGrad(v *ir.Value) {
	dy, x, y := v.Args[0], v.Args[1], v.Args[2]
	rd := over(x, v.Axes, v.KeepDims)
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx := kb.out(v)
	dys, xs, ys := kb.ptr(dy), kb.ptr(x), kb.ptr(y)
	// The element of y (and dy) that t's reduction gives, and t's place
	// in the reduced axes.
	ycoords := make([]coord, len(y.Shape))
	var own []coord
	for a := range x.Shape {
		if rd.kept[a] >= 0 {
			ycoords[rd.kept[a]] = from("t", x.Shape, a)
		}
		if rd.isRed[a] {
			own = append(own, from("t", x.Shape, a))
		}
	}
	// x at place r of the reduction of t's element of y.
	xcoords := make([]coord, len(x.Shape))
	i := 0
	for a := range x.Shape {
		if rd.isRed[a] {
			xcoords[a] = from("r", rd.reduced, i)
			i++
		} else {
			xcoords[a] = from("t", x.Shape, a)
		}
	}
	kb.line("const long long o = %s;", flatIndex(y.Shape, ycoords))
	kb.line("long long first = -1;")
	kb.line("for (long long r = 0; r < %d; r++) {", rd.reduced.Size())
	kb.line("  if (%s[%s] == %s[o]) {", xs, flatIndex(x.Shape, xcoords), ys)
	kb.line("    first = r;")
	kb.line("    break;")
	kb.line("  }")
	kb.line("}")
	kb.line("%s[t] = first == %s ? %s[o] : 0;", dx, flatIndex(rd.reduced, own), dys)
}

// reshape: the same numbers in row-major order, under another shape.
func (gen *generator) reshape(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	kb.line("%s[t] = %s[t];", kb.out(v), kb.ptr(v.Args[0]))
}

// permute: y[i...] = x at the indexes permuted back.
func (gen *generator) permute(v *ir.Value) {
	x := v.Args[0]
	cs := make([]coord, len(x.Shape))
	for i, p := range v.Perm {
		cs[p] = from("t", v.Shape, i)
	}
	gen.gather(v, x, cs)
}

// gather: y[t] = x at the coordinates, a thread per element of y.
func (gen *generator) gather(v, x *ir.Value, cs []coord) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	kb.line("%s[t] = %s[%s];", kb.out(v), kb.ptr(x), flatIndex(x.Shape, cs))
}

// expand: y = x broadcast to y's shape.
func (gen *generator) expand(v *ir.Value) {
	x := v.Args[0]
	gen.gather(v, x, broadcastCoords(x.Shape, v.Shape))
}

// sumTo: y = x summed over the axes that broadcasting y to x's shape would
// repeat it along; a thread per element of y.
func (gen *generator) sumTo(v *ir.Value) {
	rd := reductionOf(v.Args[0], ir.ReductionTo(v.Args[0].Shape, v.Shape))
	gen.sumOver(v, rd)
}

// concat: each argument's elements, moved along the axis past the
// arguments before it; a thread per element of the result, which finds
// the argument its place along the axis falls in.
func (gen *generator) concat(v *ir.Value) {
	kb := gen.newKernel(v, "", v.Shape.Size())
	y := kb.out(v)
	if len(v.Args) == 1 {
		kb.line("%s[t] = %s[t];", y, kb.ptr(v.Args[0]))
		return
	}
	kb.line("const long long c = %s;", coordinate("t", v.Shape, v.Axis))
	offset := 0
	for i, a := range v.Args {
		cs := identity(v.Shape)
		cs[v.Axis].offset = -offset
		read := fmt.Sprintf("%s[t] = %s[%s];", y, kb.ptr(a), flatIndex(a.Shape, cs))
		end := offset + a.Shape[v.Axis]
		switch {
		case i == 0:
			kb.line("if (c < %d) {", end)
		case i < len(v.Args)-1:
			kb.line("} else if (c < %d) {", end)
		default:
			kb.line("} else {")
		}
		kb.line("  %s", read)
		offset = end
	}
	kb.line("}")
}

// slice: y = x[..., Start:End, ...] along the axis.
func (gen *generator) slice(v *ir.Value) {
	cs := identity(v.Shape)
	cs[v.Axis].offset = v.Start
	gen.gather(v, v.Args[0], cs)
}

// sliceGrad: dx is dy at Start:End along the axis, 0 elsewhere; a thread
// per element of dx.
func (gen *generator) sliceGrad(v *ir.Value) {
	dy := v.Args[0]
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx := kb.out(v)
	cs := identity(v.Shape)
	cs[v.Axis].offset = -v.Start
	kb.line("const long long c = %s;", coordinate("t", v.Shape, v.Axis))
	kb.line("%s[t] = c >= %d && c < %d ? %s[%s] : 0;", dx, v.Start, v.End, kb.ptr(dy), flatIndex(dy.Shape, cs))
}

// causalMask: y[..., i, j] = x where j ≤ i, above the diagonal -∞
// (causal_mask) or 0 (its gradient); a thread per element.
func (gen *generator) causalMask(v *ir.Value) {
	x, r := v.Args[0], len(v.Shape)
	kb := gen.newKernel(v, "", v.Shape.Size())
	y := kb.out(v)
	fill := "(real)0"
	if v.Op == ir.OpCausalMask {
		fill = "-(real)nn_inf()"
	}
	kb.line("const long long i = %s, j = %s;", coordinate("t", v.Shape, r-2), coordinate("t", v.Shape, r-1))
	kb.line("%s[t] = j > i ? %s : %s[t];", y, fill, kb.ptr(x))
}

// batchedMatMul: c[b..., i, j] = Σ_k a[b..., i, k]·b[b..., k, j] for each
// index b... of the leading axes, which broadcast; a thread per element of
// c.
func (gen *generator) batchedMatMul(v *ir.Value) {
	a, b := v.Args[0], v.Args[1]
	_, _, inner, batch, err := ir.MatMulDims(v)
	if err != nil {
		gen.fail(fmt.Errorf("cudagen: %v", err))
		return
	}
	nb := len(batch)
	i, j, k := from("t", v.Shape, nb), from("t", v.Shape, nb+1), from("k", ir.Shape{inner}, 0)
	operand := func(x *ir.Value, trans bool, r, c coord) string {
		lead := x.Shape[:len(x.Shape)-2]
		skip := nb - len(lead)
		cs := make([]coord, len(lead), len(x.Shape))
		for d := range lead {
			if lead[d] != 1 || batch[skip+d] == 1 {
				cs[d] = from("t", v.Shape, skip+d)
			}
		}
		if trans {
			r, c = c, r
		}
		return flatIndex(x.Shape, append(cs, r, c))
	}
	kb := gen.newKernel(v, "", v.Shape.Size())
	c := kb.out(v)
	as, bs := kb.ptr(a), kb.ptr(b)
	kb.k.gemm = gen.batchedGEMM(v)
	kb.line("real s = 0;")
	kb.line("for (long long k = 0; k < %d; k++) s += %s[%s] * %s[%s];", inner, as, operand(a, v.TransA, i, k), bs, operand(b, v.TransB, k, j))
	kb.line("%s[t] = s;", c)
}

// batchedGEMM is the batched matmul v as one strided batched GEMM, when
// each operand is either one matrix for every product (its leading axes
// all 1) or a matrix per product (its leading axes the batch's); nil when
// an operand broadcasts along some axes only, which nngen's kernel does.
func (gen *generator) batchedGEMM(v *ir.Value) *gemm {
	m, n, k, batch, err := ir.MatMulDims(v)
	if err != nil {
		return nil
	}
	stride := func(x *ir.Value) (int, bool) {
		lead := x.Shape[:len(x.Shape)-2]
		switch {
		case lead.Size() == 1:
			return 0, true
		case slices.Equal(lead, batch):
			return x.Shape[len(x.Shape)-2] * x.Shape[len(x.Shape)-1], true
		}
		return 0, false
	}
	a, b := v.Args[0], v.Args[1]
	strideA, okA := stride(a)
	strideB, okB := stride(b)
	if !okA || !okB {
		return nil
	}
	return &gemm{transA: v.TransA, transB: v.TransB, m: m, n: n, k: k,
		a: gen.layout.of(a), b: gen.layout.of(b), c: gen.layout.of(v),
		batch: batch.Size(), strideA: strideA, strideB: strideB, strideC: m * n}
}

// layerNorm: y = (x - mean x) / √(var x + eps) over the trailing axes, a
// thread per row of them; the moments in double, as the Go runtime. With
// its weight and bias, ·w + b in the same loop.
func (gen *generator) layerNorm(v *ir.Value) {
	rows, width := normalizedRows(v)
	kb := gen.newKernel(v, "", rows)
	kb.line("real* out = %s + t * %d;", kb.out(v), width)
	kb.line("const real* row = %s + t * %d;", kb.ptr(v.Args[0]), width)
	gen.moments(kb, "row", width, v.Eps)
	affine := ""
	if len(v.Args) > 1 {
		affine = " * " + kb.ptr(v.Args[1]) + "[i]"
	}
	if len(v.Args) > 2 {
		affine += " + " + kb.ptr(v.Args[2]) + "[i]"
	}
	kb.line("for (long long i = 0; i < %d; i++) out[i] = (real)(((double)row[i] - mean) * rstd)%s;", width, affine)
}

// layerNormAffineGrad: with g = dy·w, dx = (g - mean g - x̂·mean(g·x̂)) /
// √(var x + eps), x̂ recomputed from x; a thread per row.
func (gen *generator) layerNormAffineGrad(v *ir.Value) {
	rows, width := normalizedRows(v)
	kb := gen.newKernel(v, "", rows)
	kb.line("real* out = %s + t * %d;", kb.out(v), width)
	kb.line("const real* row_dy = %s + t * %d;", kb.ptr(v.Args[0]), width)
	kb.line("const real* row = %s + t * %d;", kb.ptr(v.Args[1]), width)
	w := kb.ptr(v.Args[2])
	gen.moments(kb, "row", width, v.Eps)
	kb.line("double sum = 0, dot = 0;")
	kb.line("for (long long i = 0; i < %d; i++) { const double gw = (double)row_dy[i] * (double)%s[i]; sum += gw; dot += gw * ((double)row[i] - mean) * rstd; }", width, w)
	kb.line("for (long long i = 0; i < %d; i++) { const double gw = (double)row_dy[i] * (double)%s[i]; out[i] = (real)((gw - sum / %d - ((double)row[i] - mean) * rstd * dot / %d) * rstd); }", width, w, width, width)
}

// layerNormWeightGrad: dw = Σ dy·x̂ over the rows, a thread per element of
// the weight, each recomputing every row's moments (rows·width work per
// thread: simple, and slow for wide layers).
func (gen *generator) layerNormWeightGrad(v *ir.Value) {
	dy, x := v.Args[0], v.Args[1]
	width := v.Shape.Size()
	rows := x.Shape.Size() / width
	kb := gen.newKernel(v, "", width)
	out, dys, xs := kb.out(v), kb.ptr(dy), kb.ptr(x)
	kb.line("double s = 0;")
	kb.line("for (long long r = 0; r < %d; r++) {", rows)
	kb.line("const real* row = %s + r * %d;", xs, width)
	gen.moments(kb, "row", width, v.Eps)
	kb.line("s += (double)(%s[r * %d + t] * (real)(((double)row[t] - mean) * rstd));", dys, width)
	kb.line("}")
	kb.line("%s[t] = (real)s;", out)
}

// layerNormGrad: dx = (dy - mean dy - y·mean(dy·y)) / √(var x + eps).
func (gen *generator) layerNormGrad(v *ir.Value) {
	rows, width := normalizedRows(v)
	kb := gen.newKernel(v, "", rows)
	kb.line("real* out = %s + t * %d;", kb.out(v), width)
	kb.line("const real* row_dy = %s + t * %d;", kb.ptr(v.Args[0]), width)
	kb.line("const real* row = %s + t * %d;", kb.ptr(v.Args[1]), width)
	kb.line("const real* row_y = %s + t * %d;", kb.ptr(v.Args[2]), width)
	gen.moments(kb, "row", width, v.Eps)
	kb.line("double sum = 0, dot = 0;")
	kb.line("for (long long i = 0; i < %d; i++) { sum += (double)row_dy[i]; dot += (double)row_dy[i] * (double)row_y[i]; }", width)
	kb.line("for (long long i = 0; i < %d; i++) out[i] = (real)(((double)row_dy[i] - sum / %d - (double)row_y[i] * dot / %d) * rstd);", width, width, width)
}

// moments declares mean and rstd = 1/√(var + eps) of a row, the variance
// the biased one, in two passes.
func (gen *generator) moments(kb *kernelBuilder, row string, width int, eps float64) {
	kb.line("double mean = 0;")
	kb.line("for (long long i = 0; i < %d; i++) mean += (double)%s[i];", width, row)
	kb.line("mean /= %d;", width)
	kb.line("double ss = 0;")
	kb.line("for (long long i = 0; i < %d; i++) { const double d = (double)%s[i] - mean; ss += d * d; }", width, row)
	kb.line("const double rstd = 1 / nn_sqrt(ss / %d + %s);", width, strconv.FormatFloat(eps, 'g', -1, 64))
}

// normalizedRows are a layer_norm's rows and their width: its trailing
// axes, flattened.
func normalizedRows(v *ir.Value) (rows, width int) {
	width = ir.Shape(v.Shape[v.Axes[0]:]).Size()
	return v.Shape.Size() / width, width
}

// cell: a recurrent cell op or its gradient (ir.OpGRUCell says what each
// computes), a thread per element of the rows' hidden states; gru_cell's
// gh may be the bias alone, the same for every row.
func (gen *generator) cell(v *ir.Value) {
	args, dy := v.Args, ""
	grad := ir.CellGrad(v.Op)
	state := v.Shape
	if grad {
		state = v.Args[0].Shape
	}
	hid := state[len(state)-1]
	kb := gen.newKernel(v, "", state.Size())
	out := kb.out(v)
	if grad {
		dy = kb.ptr(v.Args[0]) + "[t]"
		args = v.Args[1:]
	}
	kb.line("const long long row = t / %d, j = t %% %d;", hid, hid)
	// arg is argument i's element j of gate block k in this row, 0 where
	// the argument is absent.
	arg := func(i, k int) string {
		if i >= len(args) {
			return "(real)0"
		}
		a := args[i]
		width := a.Shape[len(a.Shape)-1]
		if len(a.Shape) < len(state) {
			return fmt.Sprintf("%s[%d + j]", kb.ptr(a), k*hid)
		}
		return fmt.Sprintf("%s[row * %d + %d + j]", kb.ptr(a), width, k*hid)
	}
	// at is element j of gate block k of the result's row.
	width := v.Shape[len(v.Shape)-1]
	at := func(k int) string { return fmt.Sprintf("%s[row * %d + %d + j]", out, width, k*hid) }
	// The gates r and z of gru_cell, registering their buffers when used.
	r := func() string { return fmt.Sprintf("nn_sigmoid(%s + %s)", arg(0, 0), arg(1, 0)) }
	z := func() string { return fmt.Sprintf("nn_sigmoid(%s + %s)", arg(0, 1), arg(1, 1)) }
	switch {
	case v.Op == ir.OpGRUCellGrad && v.Wrt == 2:
		kb.line("%s = %s * %s;", at(0), dy, z())
	case v.Op == ir.OpGRUCell || v.Op == ir.OpGRUCellGrad:
		kb.line("const real r = %s, z = %s, ghn = %s;", r(), z(), arg(1, 2))
		kb.line("const real n = nn_tanh_act(%s + r * ghn), h = %s;", arg(0, 2), arg(2, 0))
		if v.Op == ir.OpGRUCell {
			kb.line("%s = n + z * (h - n);", at(0))
			break
		}
		kb.line("const real dn = %s * (1 - z) * (1 - n * n);", dy)
		kb.line("%s = dn * ghn * r * (1 - r);", at(0))
		kb.line("%s = %s * (h - n) * z * (1 - z);", at(1), dy)
		scale := ""
		if v.Wrt == 1 {
			scale = " * r"
		}
		kb.line("%s = dn%s;", at(2), scale)
	case v.Op == ir.OpLSTMCell && len(args) == 1:
		kb.line("%s = nn_sigmoid(%s) * nn_tanh_act(%s);", at(0), arg(0, 0), arg(0, 2))
	case v.Op == ir.OpLSTMCell:
		kb.line("%s = nn_sigmoid(%s) * %s + nn_sigmoid(%s) * nn_tanh_act(%s);", at(0), arg(0, 1), arg(1, 0), arg(0, 0), arg(0, 2))
	case v.Op == ir.OpLSTMCellGrad && v.Wrt == 1:
		kb.line("%s = %s * nn_sigmoid(%s);", at(0), dy, arg(0, 1))
	case v.Op == ir.OpLSTMCellGrad:
		kb.line("const real i = nn_sigmoid(%s), f = nn_sigmoid(%s), g = nn_tanh_act(%s);", arg(0, 0), arg(0, 1), arg(0, 2))
		kb.line("%s = %s * g * i * (1 - i);", at(0), dy)
		kb.line("%s = %s * %s * f * (1 - f);", at(1), dy, arg(1, 0))
		kb.line("%s = %s * i * (1 - g * g);", at(2), dy)
		kb.line("%s = 0;", at(3))
	default: // lstm_hidden and its gradient
		kb.line("const real o = nn_sigmoid(%s), tc = nn_tanh_act(%s);", arg(0, 3), arg(1, 0))
		switch {
		case v.Op == ir.OpLSTMHidden:
			kb.line("%s = o * tc;", at(0))
		case v.Wrt == 1:
			kb.line("%s = %s * o * (1 - tc * tc);", at(0), dy)
		default:
			kb.line("%s = 0; %s = 0; %s = 0;", at(0), at(1), at(2))
			kb.line("%s = %s * tc * o * (1 - o);", at(3), dy)
		}
	}
}
