package cudagen

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The kernels of the convolutions and poolings over one or two spatial
// axes, shaped as PyTorch's: x [N, C, (H,) W], w [K, C/groups, (R,) S],
// y [N, K, (P,) Q]. Each runs a thread per element it writes and adds in
// the order of nngen's runtime (runtime/kernels/conv.go): a convolution's
// output over (input channel, kernel row, kernel column) then its bias, an
// input's gradient over (output channel, kernel row, kernel column), a
// weight's over (sample, output row, output column), a pooling's gradient
// over the windows in row-major order. The gradients gather what reaches
// their element rather than scatter, so no two threads write one element
// and the sums' order is fixed: deterministic, without atomics.
//
// A spatial axis is named by its letter: h (rows) and w (columns), or w
// alone in 1-D. Along it, ih is an input's coordinate, oh an output's and
// kh a kernel tap's; output oh's tap kh reads input oh·stride - pad +
// kh·dilation.

// spatial is one spatial axis of a convolution or pooling.
type spatial struct {
	name                  string // "h" or "w": the suffix of its variables
	in, out, taps         int    // extents: input, output, kernel
	stride, pad, dilation int
}

func (a spatial) i() string { return "i" + a.name } // an input coordinate
func (a spatial) o() string { return "o" + a.name } // an output coordinate
func (a spatial) k() string { return "k" + a.name } // a kernel tap

// window is the geometry of a convolution or pooling: N samples of C
// channels in, K channels out (C for a pooling), in groups, and its
// spatial axes.
type window struct {
	n, c, k, groups int
	axes            []spatial
}

// windowOf is the geometry of v, a convolution of input shape x by weight
// shape w (w nil for a pooling, whose window is v.Kernel), under v's
// attributes.
func windowOf(v *ir.Value, x, w ir.Shape) window {
	g := window{n: x[0], c: x[1], k: x[1], groups: x[1]}
	kernel := v.Kernel
	if w != nil {
		g.k, g.groups, kernel = w[0], v.Groups, w[2:]
	}
	names := []string{"w"}
	if len(kernel) == 2 {
		names = []string{"h", "w"}
	}
	for i, size := range kernel {
		a := spatial{name: names[i], in: x[2+i], taps: size, stride: v.Stride[i], pad: v.Pad[i], dilation: v.Dilation[i]}
		a.out = ir.ConvOut(a.in, a.taps, a.stride, a.pad, a.dilation)
		g.axes = append(g.axes, a)
	}
	return g
}

// cg and kg are the input and output channels per group.
func (g window) cg() int { return g.c / g.groups }
func (g window) kg() int { return g.k / g.groups }

// horner is the row-major flat index of coordinates in a tensor whose
// axes have the extents: ((i0 · e1 + i1) · e2 + i2)...; the first extent
// is unused, and an axis of extent 1, whose coordinate is 0, is left out.
func horner(coords []string, extents []int) string {
	s := coords[0]
	for d := 1; d < len(coords); d++ {
		if extents[d] == 1 {
			continue
		}
		if strings.Contains(s, " ") {
			s = "(" + s + ")"
		}
		s = fmt.Sprintf("%s * %d + %s", s, extents[d], coords[d])
	}
	return s
}

// index is horner over the spatial axes after the leading coordinates
// and extents (the sample's and the channel's), each axis's coordinate by
// coord and extent by extent.
func (g window) index(lead []string, leadExtents []int, coord func(spatial) string, extent func(spatial) int) string {
	coords, extents := append([]string{}, lead...), append([]int{}, leadExtents...)
	for _, a := range g.axes {
		coords, extents = append(coords, coord(a)), append(extents, extent(a))
	}
	return horner(coords, extents)
}

// xIndex, yIndex and wIndex index an input, output and weight element
// from the named sample, channel, and per axis input, output or tap
// coordinates.
func (g window) xIndex(n, c string) string {
	return g.index([]string{n, c}, []int{g.n, g.c}, spatial.i, func(a spatial) int { return a.in })
}

func (g window) yIndex(n, k string) string {
	return g.index([]string{n, k}, []int{g.n, g.k}, spatial.o, func(a spatial) int { return a.out })
}

func (g window) wIndex(k, ci string) string {
	return g.index([]string{k, ci}, []int{g.k, g.cg()}, spatial.k, func(a spatial) int { return a.taps })
}

// planeIndex indexes an element of a plane (a sample's channel) of the
// input by its plane's number, for poolings.
func (g window) planeIndex(plane string, coord func(spatial) string, extent func(spatial) int) string {
	return g.index([]string{plane}, []int{g.n * g.c}, coord, extent)
}

// times is the C expression of x·k, k a constant.
func times(x string, k int) string {
	switch k {
	case 0:
		return "0"
	case 1:
		return x
	}
	return x + " * " + strconv.Itoa(k)
}

// quotient is the C expression of x/k (integer division), k a constant.
func quotient(x string, k int) string {
	if k == 1 {
		return x
	}
	return x + " / " + strconv.Itoa(k)
}

// plus is the sum of C expressions, the constant ones (integers) added up
// at the end, zeros dropped; a term "-e" is subtracted.
func plus(terms ...string) string {
	out := ""
	constant := 0
	for _, t := range terms {
		if n, err := strconv.Atoi(t); err == nil {
			constant += n
			continue
		}
		switch {
		case out == "":
			out = t
		case strings.HasPrefix(t, "-"):
			out += " - " + t[1:]
		default:
			out += " + " + t
		}
	}
	switch {
	case out == "":
		return strconv.Itoa(constant)
	case constant > 0:
		out += " + " + strconv.Itoa(constant)
	case constant < 0:
		out += " - " + strconv.Itoa(-constant)
	}
	return out
}

// start is the input coordinate that output o's window starts at:
// o·stride - pad.
func (a spatial) start(o string) string { return plus(times(o, a.stride), strconv.Itoa(-a.pad)) }

// loop is one loop of a nest: its header and the statements that start
// its body.
type loop struct {
	head string   // for (...)
	pre  []string // before the inner loops
}

// count is a loop of name from 0 to n.
func count(name string, n int) loop {
	return loop{head: fmt.Sprintf("for (long long %s = 0; %s < %d; %s++)", name, name, n, name)}
}

// nest writes the loops one inside the other around the body's statement.
func (kb *kernelBuilder) nest(loops []loop, body string) {
	indent := ""
	for _, l := range loops {
		kb.line("%s%s {", indent, l.head)
		indent += "  "
		for _, s := range l.pre {
			kb.line("%s%s", indent, s)
		}
	}
	kb.line("%s%s", indent, body)
	for range loops {
		indent = indent[2:]
		kb.line("%s}", indent)
	}
}

// taps are the loops over the kernel's taps along each axis, each
// declaring the input coordinate its tap reads for output (oh, ow) and
// skipping (continue) a tap in the padding. Without padding every tap of
// every output is inside.
func (g window) taps() []loop {
	var loops []loop
	for _, a := range g.axes {
		loops = append(loops, a.inside(count(a.k(), a.taps)))
	}
	return loops
}

// inside adds to l the declaration of the axis's input coordinate read by
// output oh's tap kh, skipping the taps in the padding.
func (a spatial) inside(l loop) loop {
	l.pre = append(l.pre, fmt.Sprintf("const long long %s = %s;", a.i(), plus(a.start(a.o()), times(a.k(), a.dilation))))
	if a.pad > 0 {
		l.pre = append(l.pre, fmt.Sprintf("if (%s < 0 || %s >= %d) continue;", a.i(), a.i(), a.in))
	}
	return l
}

// windows are the loops over the outputs whose windows span the input
// (ih, iw), in row-major order.
func (g window) windows() []loop {
	var loops []loop
	for _, a := range g.axes {
		loops = append(loops, loop{head: fmt.Sprintf("for (long long %s = nn_first_window(%s, %d, %d, %d); %s <= nn_last_window(%s, %d, %d, %d); %s++)",
			a.o(), a.i(), a.dilation*(a.taps-1), a.stride, a.pad, a.o(), a.i(), a.stride, a.pad, a.out, a.o())})
	}
	return loops
}

// coords declares the coordinates of element t of a tensor shaped shape,
// one name per axis, those that the kernel's statements after it use: an
// axis of extent 1, whose coordinate is 0, drops out of the indexes. The
// declaration is written where coords is called, by the function it
// returns, once the rest of the kernel is.
func (kb *kernelBuilder) coords(shape ir.Shape, names ...string) (declare func()) {
	at := len(kb.k.body)
	kb.line("")
	return func() {
		var code strings.Builder
		for _, line := range kb.k.body[at+1:] {
			line, _, _ = strings.Cut(line, "//")
			code.WriteString(line + "\n")
		}
		var decls []string
		for d, name := range names {
			if regexp.MustCompile(`\b` + name + `\b`).MatchString(code.String()) {
				decls = append(decls, name+" = "+coordinate("t", shape, d))
			}
		}
		if len(decls) == 0 {
			kb.k.body = slices.Delete(kb.k.body, at, at+1)
			return
		}
		kb.k.body[at] = "const long long " + strings.Join(decls, ", ") + ";"
	}
}

// spatialNames are the axes' coordinates named by which (spatial.i, o or
// k), after the leading names.
func (g window) spatialNames(which func(spatial) string, lead ...string) []string {
	for _, a := range g.axes {
		lead = append(lead, which(a))
	}
	return lead
}

// The convolutions through cuBLAS: with one group, a convolution is a
// product per sample of the weight, K×(C·taps), by the columns of the
// input, (C·taps)×(outputs): col[n, (c,kh,kw), (oh,ow)] = x[n, c, ih, iw],
// 0 in the padding (im2col). The columns live in the layout's scratch
// buffer, shared by the convolutions one after another. The forward pass
// is im2col, then y[n] = w·col[n] for every n, then the bias and the
// activation; the input's gradient dcol[n] = wᵀ·dy[n], then col2im, a
// thread per input element gathering its taps' entries; the weight's
// gradient im2col, then dw_n = dy[n]·col[n]ᵀ for every n, then their sum
// over n in sample order. nngen's direct kernels stay for the kernels
// path, for grouped convolutions, and for convolutions whose columns
// would exceed maxScratch.

// maxScratch is the most elements the convolutions' scratch buffer takes
// (256 MiB in float32): beyond it, a convolution keeps its direct kernel.
const maxScratch = 1 << 26

// convScratch is the elements of scratch that v, a convolution or one of
// its gradients, needs to run through cuBLAS; 0 when it keeps its kernel.
func convScratch(v *ir.Value) int {
	var g window
	switch v.Op {
	case ir.OpConv:
		g = windowOf(v, v.Args[0].Shape, v.Args[1].Shape)
	case ir.OpConvInputGrad:
		g = windowOf(v, v.To, v.Args[1].Shape)
	case ir.OpConvWeightGrad:
		g = windowOf(v, v.Args[1].Shape, v.To)
	default:
		return 0
	}
	if g.groups != 1 {
		return 0
	}
	n := g.n * g.c * g.kernelSize() * g.outputs()
	if v.Op == ir.OpConvWeightGrad {
		n += g.n * g.k * g.c * g.kernelSize() // dw_n, per sample
	}
	if n > maxScratch {
		return 0
	}
	return n
}

// outputs is the elements of an output plane.
func (g window) outputs() int {
	size := 1
	for _, a := range g.axes {
		size *= a.out
	}
	return size
}

// colIndex indexes col[n, (c, taps), (outputs)] in the scratch buffer.
func (g window) colIndex(n, c string) string {
	coords, extents := []string{n, c}, []int{g.n, g.c}
	for _, a := range g.axes {
		coords, extents = append(coords, a.k()), append(extents, a.taps)
	}
	for _, a := range g.axes {
		coords, extents = append(coords, a.o()), append(extents, a.out)
	}
	return horner(coords, extents)
}

// im2col writes the kernel, before k's product, that fills the scratch
// buffer with the columns of x: a thread per column element.
func (gen *generator) im2col(v *ir.Value, k *kernel, x *ir.Value, g window) {
	kb := gen.newKernel(v, "_im2col", g.n*g.c*g.kernelSize()*g.outputs())
	kb.k.prologueOf = k
	kb.k.comment = "im2col before cuBLAS's product for " + k.comment
	col := kb.use(gen.layout.scratch)
	kb.k.written[gen.layout.scratch] = true
	xs := kb.ptr(x)
	shape := ir.Shape{g.n, g.c}
	for _, a := range g.axes {
		shape = append(shape, a.taps)
	}
	for _, a := range g.axes {
		shape = append(shape, a.out)
	}
	names := append(g.spatialNames(spatial.k, "n", "c"), g.spatialNames(spatial.o)...)
	defer kb.coords(shape, names...)()
	var outside []string
	for _, a := range g.axes {
		kb.line("const long long %s = %s;", a.i(), plus(a.start(a.o()), times(a.k(), a.dilation)))
		if a.pad > 0 {
			outside = append(outside, fmt.Sprintf("%s < 0 || %s >= %d", a.i(), a.i(), a.in))
		}
	}
	if len(outside) == 0 {
		kb.line("%s[t] = %s[%s];", col, xs, g.xIndex("n", "c"))
		return
	}
	kb.line("%s[t] = %s ? (real)0 : %s[%s];", col, strings.Join(outside, " || "), xs, g.xIndex("n", "c"))
}

// conv: y[n,k,oh,ow] = b[k] + Σ_{ci,kh,kw} w[k,ci,kh,kw]·x[n, the group's
// channel ci, ih, iw], a thread per output element, with a fused
// activation's function of the sum where the value has one; through cuBLAS
// (see convScratch) where it loads.
func (gen *generator) conv(v *ir.Value) {
	defer gen.convGEMM(v)
	x, w := v.Args[0], v.Args[1]
	g := windowOf(v, x.Shape, w.Shape)
	if v.Also != nil || rowWise(v.Act) {
		gen.fail(fmt.Errorf("cudagen: %s: a convolution computes no row-wise or second activation", v.LongString()))
	}
	kb := gen.newKernel(v, "", v.Shape.Size())
	y, xs, ws := kb.out(v), kb.ptr(x), kb.ptr(w)
	defer kb.coords(v.Shape, g.spatialNames(spatial.o, "n", "k")...)()
	loops := g.taps()
	c := "0" // the input channel
	if g.cg() > 1 {
		loops = append([]loop{count("ci", g.cg())}, loops...)
		c = "ci"
	}
	if g.groups > 1 {
		kb.line("const long long c0 = %s;  // the group's first input channel", times(quotient("k", g.kg()), g.cg()))
		c = plus("c0", c)
	}
	kb.line("real sum = 0;")
	kb.nest(loops, fmt.Sprintf("sum += %s[%s] * %s[%s];", ws, g.wIndex("k", "ci"), xs, g.xIndex("n", c)))
	sum := "sum"
	if len(v.Args) == 3 {
		sum = fmt.Sprintf("sum + %s[k]", kb.ptr(v.Args[2]))
	}
	kb.line("%s[t] = %s;", y, gen.act(v.Act, v.Attrs, sum))
}

// convGEMM gives the kernel just written for v, a convolution or one of
// its gradients, its cuBLAS path, when convScratch allows one.
func (gen *generator) convGEMM(v *ir.Value) {
	if convScratch(v) == 0 || gen.layout.scratch == nil {
		return
	}
	k := gen.kernels[len(gen.kernels)-1]
	scratch, y := gen.layout.scratch, gen.layout.of(v)
	switch v.Op {
	case ir.OpConv:
		x, w := v.Args[0], v.Args[1]
		g := windowOf(v, x.Shape, w.Shape)
		ct, p := g.c*g.kernelSize(), g.outputs()
		gen.im2col(v, k, x, g)
		k.gemm = &gemm{m: g.k, n: p, k: ct, a: gen.layout.of(w), b: scratch, c: y,
			batch: g.n, strideB: ct * p, strideC: g.k * p}
		if len(v.Args) < 3 && v.Act == "" {
			return
		}
		kb := gen.newKernel(v, "_epilogue", v.Shape.Size())
		kb.k.epilogueOf = k
		kb.k.comment = "after cuBLAS's product for " + k.comment
		ys := kb.out(v)
		s := ys + "[t]"
		if len(v.Args) == 3 {
			s = fmt.Sprintf("%s[t] + %s[%s]", ys, kb.ptr(v.Args[2]), quotient("t", p)+" % "+strconv.Itoa(g.k))
		}
		kb.line("%s[t] = %s;", ys, gen.act(v.Act, v.Attrs, s))
	case ir.OpConvInputGrad:
		dy, w := v.Args[0], v.Args[1]
		g := windowOf(v, v.To, w.Shape)
		ct, p := g.c*g.kernelSize(), g.outputs()
		k.gemm = &gemm{transA: true, m: ct, n: p, k: g.k, a: gen.layout.of(w), b: gen.layout.of(dy), c: scratch,
			batch: g.n, strideB: g.k * p, strideC: ct * p}
		gen.col2im(v, k, g)
	case ir.OpConvWeightGrad:
		dy, x := v.Args[0], v.Args[1]
		g := windowOf(v, x.Shape, v.To)
		ct, p := g.c*g.kernelSize(), g.outputs()
		gen.im2col(v, k, x, g)
		k.gemm = &gemm{transB: true, m: g.k, n: ct, k: p, a: gen.layout.of(dy), b: scratch, c: scratch, offC: g.n * ct * p,
			batch: g.n, strideA: g.k * p, strideB: ct * p, strideC: g.k * ct}
		kb := gen.newKernel(v, "_sum", v.Shape.Size())
		kb.k.epilogueOf = k
		kb.k.comment = "after cuBLAS's products for " + k.comment
		dw, parts := kb.out(v), kb.use(scratch)
		kb.line("real sum = 0;")
		kb.line("for (long long n = 0; n < %d; n++) sum += %s[%d + n * %d + t];", g.n, parts, g.n*ct*p, g.k*ct)
		kb.line("%s[t] = sum;", dw)
	}
}

// col2im writes the kernel, after k's product dcol[n] = wᵀ·dy[n], that
// sums each input element's entries of the columns: dx[n,c,ih,iw] =
// Σ_{kh,kw} dcol[n, (c,kh,kw), (oh,ow)] over the taps whose output (oh, ow)
// reads (ih, iw). A thread per input element.
func (gen *generator) col2im(v *ir.Value, k *kernel, g window) {
	kb := gen.newKernel(v, "_col2im", v.Shape.Size())
	kb.k.epilogueOf = k
	kb.k.comment = "col2im after cuBLAS's product for " + k.comment
	dx, col := kb.out(v), kb.use(gen.layout.scratch)
	defer kb.coords(v.Shape, g.spatialNames(spatial.i, "n", "c")...)()
	kb.line("real sum = 0;")
	kb.nest(g.readers(), fmt.Sprintf("sum += %s[%s];", col, g.colIndex("n", "c")))
	kb.line("%s[t] = sum;", dx)
}

// readers are the loops over the taps (kh, kw), each declaring the output
// coordinate whose window reads the input (ih, iw) with that tap, or
// skipping (continue) the tap when no output does: oh·stride = ih + pad -
// kh·dilation.
func (g window) readers() []loop {
	var loops []loop
	for _, a := range g.axes {
		l := count(a.k(), a.taps)
		at := plus(a.i(), strconv.Itoa(a.pad), "-"+times(a.k(), a.dilation))
		if a.stride == 1 {
			l.pre = []string{
				fmt.Sprintf("const long long %s = %s;", a.o(), at),
				fmt.Sprintf("if (%s < 0 || %s >= %d) continue;", a.o(), a.o(), a.out),
			}
		} else {
			scaled := a.o() + "s"
			l.pre = []string{
				fmt.Sprintf("const long long %s = %s;  // %s·%d", scaled, at, a.o(), a.stride),
				fmt.Sprintf("if (%s < 0 || %s %% %d != 0 || %s / %d >= %d) continue;", scaled, scaled, a.stride, scaled, a.stride, a.out),
				fmt.Sprintf("const long long %s = %s / %d;", a.o(), scaled, a.stride),
			}
		}
		loops = append(loops, l)
	}
	return loops
}

// convInputGrad: dx[n,c,ih,iw] = Σ_{k,kh,kw} w[k,ci,kh,kw]·dy[n,k,oh,ow]
// over the output channels k of c's group and the taps (kh, kw) of the
// outputs (oh, ow) that read (ih, iw): oh·stride = ih + pad - kh·dilation.
// A thread per input element; through cuBLAS (see convScratch) where it
// loads.
func (gen *generator) convInputGrad(v *ir.Value) {
	defer gen.convGEMM(v)
	dy, w := v.Args[0], v.Args[1]
	g := windowOf(v, v.To, w.Shape)
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx, dys, ws := kb.out(v), kb.ptr(dy), kb.ptr(w)
	defer kb.coords(v.Shape, g.spatialNames(spatial.i, "n", "c")...)()
	outputs := count("k", g.k)
	ci := "c" // c in its group
	if g.groups > 1 {
		kb.line("const long long k0 = %s;  // the group's first output channel", times(quotient("c", g.cg()), g.kg()))
		outputs.head = fmt.Sprintf("for (long long k = k0; k < k0 + %d; k++)", g.kg())
		ci = "c % " + strconv.Itoa(g.cg())
	}
	loops := append([]loop{outputs}, g.readers()...)
	kb.line("real sum = 0;")
	kb.nest(loops, fmt.Sprintf("sum += %s[%s] * %s[%s];", ws, g.wIndex("k", ci), dys, g.yIndex("n", "k")))
	kb.line("%s[t] = sum;", dx)
}

// convWeightGrad: dw[k,ci,kh,kw] = Σ_{n,oh,ow} dy[n,k,oh,ow]·x[n, the
// group's channel ci, ih, iw], a thread per weight element; through cuBLAS
// (see convScratch) where it loads.
func (gen *generator) convWeightGrad(v *ir.Value) {
	defer gen.convGEMM(v)
	dy, x := v.Args[0], v.Args[1]
	g := windowOf(v, x.Shape, v.To)
	kb := gen.newKernel(v, "", v.Shape.Size())
	dw, dys, xs := kb.out(v), kb.ptr(dy), kb.ptr(x)
	defer kb.coords(v.Shape, g.spatialNames(spatial.k, "k", "ci")...)()
	c := "ci" // the input channel
	if g.groups > 1 {
		kb.line("const long long c = %s;", plus(times(quotient("k", g.kg()), g.cg()), "ci"))
		c = "c"
	}
	loops := []loop{count("n", g.n)}
	for _, a := range g.axes {
		loops = append(loops, a.inside(count(a.o(), a.out)))
	}
	kb.line("real sum = 0;")
	kb.nest(loops, fmt.Sprintf("sum += %s[%s] * %s[%s];", dys, g.yIndex("n", "k"), xs, g.xIndex("n", c)))
	kb.line("%s[t] = sum;", dw)
}

// maxTap is the call of nn_max_tap finding the first largest input of
// output (oh, ow)'s window in plane.
func (g window) maxTap(xs string) string {
	height, start, tapsH, dilH := 1, "0", 1, 1
	if len(g.axes) == 2 {
		h := g.axes[0]
		height, start, tapsH, dilH = h.in, h.start(h.o()), h.taps, h.dilation
	}
	w := g.axes[len(g.axes)-1]
	return fmt.Sprintf("nn_max_tap(%s + plane * %d, %d, %d, %s, %s, %d, %d, %d, %d)",
		xs, height*w.in, height, w.in, start, w.start(w.o()), tapsH, w.taps, dilH, w.dilation)
}

// pool: y[n,c,oh,ow] = the first largest x of its window (max_pool; -∞
// for a window wholly in the padding), or the sum of its window's inputs
// over the kernel's size (avg_pool: the padding counts as zeros). A thread
// per output element.
func (gen *generator) pool(v *ir.Value) {
	x := v.Args[0]
	g := windowOf(v, x.Shape, nil)
	kb := gen.newKernel(v, "", v.Shape.Size())
	y, xs := kb.out(v), kb.ptr(x)
	defer kb.coords(g.planes(v.Shape), g.spatialNames(spatial.o, "plane")...)()
	if v.Op == ir.OpMaxPool {
		kb.line("const long long at = %s;", g.maxTap(xs))
		kb.line("%s[t] = at < 0 ? (real)-nn_inf() : %s[plane * %d + at];", y, xs, g.planeSize())
		return
	}
	kb.line("real sum = 0;")
	kb.nest(g.taps(), fmt.Sprintf("sum += %s[%s];", xs, g.planeIndex("plane", spatial.i, func(a spatial) int { return a.in })))
	kb.line("%s[t] = sum / %d;", y, g.kernelSize())
}

// planes is a pooling's input or output shape with the samples and
// channels as one axis of planes.
func (g window) planes(shape ir.Shape) ir.Shape {
	return append(ir.Shape{shape[0] * shape[1]}, shape[2:]...)
}

// planeSize and kernelSize are the elements of an input plane and of the
// window.
func (g window) planeSize() int {
	size := 1
	for _, a := range g.axes {
		size *= a.in
	}
	return size
}

func (g window) kernelSize() int {
	size := 1
	for _, a := range g.axes {
		size *= a.taps
	}
	return size
}

// maxPoolGrad: dx[n,c,ih,iw] = Σ dy over the windows whose first largest
// input (nn_max_tap, as the forward pass) is x[n,c,ih,iw]. A thread per
// input element.
func (gen *generator) maxPoolGrad(v *ir.Value) {
	dy, x := v.Args[0], v.Args[1]
	g := windowOf(v, x.Shape, nil)
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx, dys, xs := kb.out(v), kb.ptr(dy), kb.ptr(x)
	defer kb.coords(g.planes(v.Shape), g.spatialNames(spatial.i, "plane")...)()
	kb.line("const long long at = t %% %d;  // in the plane", g.planeSize())
	kb.line("real sum = 0;")
	kb.nest(g.windows(), fmt.Sprintf("if (%s == at) sum += %s[%s];", g.maxTap(xs), dys,
		g.planeIndex("plane", spatial.o, func(a spatial) int { return a.out })))
	kb.line("%s[t] = sum;", dx)
}

// avgPoolGrad: dx[n,c,ih,iw] = Σ dy/(the kernel's size) over the windows
// with a tap at (ih, iw). A thread per input element.
func (gen *generator) avgPoolGrad(v *ir.Value) {
	dy := v.Args[0]
	g := windowOf(v, v.To, nil)
	kb := gen.newKernel(v, "", v.Shape.Size())
	dx, dys := kb.out(v), kb.ptr(dy)
	defer kb.coords(g.planes(v.Shape), g.spatialNames(spatial.i, "plane")...)()
	loops := g.windows()
	for d, a := range g.axes {
		if a.dilation > 1 { // the window's taps skip inputs
			loops[d].pre = append(loops[d].pre, fmt.Sprintf("if ((%s) %% %d != 0) continue;",
				plus(a.i(), "-"+times(a.o(), a.stride), strconv.Itoa(a.pad)), a.dilation))
		}
	}
	kb.line("real sum = 0;")
	kb.nest(loops, fmt.Sprintf("sum += %s[%s] / %d;", dys, g.planeIndex("plane", spatial.o, func(a spatial) int { return a.out }), g.kernelSize()))
	kb.line("%s[t] = sum;", dx)
}
