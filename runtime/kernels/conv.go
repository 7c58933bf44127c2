package kernels

import (
	"fmt"
	"iter"
	"math"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

// A Conv is the geometry of a convolution over one or two spatial axes, as
// PyTorch's Conv1d and Conv2d: N samples of C channels of H×W, K output
// channels, a kernel of R×S, the channels in Groups groups, and per axis a
// stride, a zero padding on both sides and a dilation. A 1-D convolution
// has H = R = 1 (and stride and dilation 1, padding 0, along H). Arrays are
// row-major: x [N][C][H][W], w [K][C/Groups][R][S], y [N][K][P][Q] with P×Q
// the output's size (P and Q).
type Conv struct {
	N, C, K, Groups int
	H, W, R, S      int

	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
}

// P is the output's height.
func (c Conv) P() int { return (c.H+2*c.PadH-c.DilH*(c.R-1)-1)/c.StrideH + 1 }

// Q is the output's width.
func (c Conv) Q() int { return (c.W+2*c.PadW-c.DilW*(c.S-1)-1)/c.StrideW + 1 }

// check panics unless the slices hold the geometry's arrays.
func (c Conv) check(x, w, y int) {
	c.checkGeometry()
	if x < c.N*c.C*c.H*c.W || w < c.K*(c.C/c.Groups)*c.R*c.S || y < c.N*c.K*c.P()*c.Q() {
		panic(fmt.Sprintf("kernels: Conv %+v: x, w or y too short (%d, %d, %d)", c, x, w, y))
	}
}

// checkGeometry panics unless c is a convolution's geometry.
func (c Conv) checkGeometry() {
	if c.N < 0 || c.Groups < 1 || c.C%c.Groups != 0 || c.K%c.Groups != 0 || c.P() < 1 || c.Q() < 1 {
		panic(fmt.Sprintf("kernels: Conv: bad geometry %+v", c))
	}
}

// ConvForward32 sets y to the convolution of x by w, plus the bias b per
// output channel (nil for none). work must hold ConvWork32(c) elements; its
// contents on entry do not matter. It allocates nothing.
func ConvForward32(c Conv, y, x, w, b, work []float32) { convForward(c, y, x, w, b, false, work) }

// ConvForward64 is ConvForward32 for float64; work holds ConvWork64(c).
func ConvForward64(c Conv, y, x, w, b, work []float64) { convForward(c, y, x, w, b, false, work) }

// ConvForwardReLU32 is ConvForward32 followed by relu, in the same pass
// over each sample's outputs.
func ConvForwardReLU32(c Conv, y, x, w, b, work []float32) { convForward(c, y, x, w, b, true, work) }

// ConvForwardReLU64 is ConvForwardReLU32 for float64.
func ConvForwardReLU64(c Conv, y, x, w, b, work []float64) { convForward(c, y, x, w, b, true, work) }

// ConvInputGrad32 sets dx to the gradient of a convolution's input: each
// output's gradient dy spread back over the inputs its kernel read.
func ConvInputGrad32(c Conv, dx, dy, w, work []float32) { convInputGrad(c, dx, dy, w, work) }

// ConvInputGrad64 is ConvInputGrad32 for float64.
func ConvInputGrad64(c Conv, dx, dy, w, work []float64) { convInputGrad(c, dx, dy, w, work) }

// ConvWeightGrad32 sets dw to the gradient of a convolution's weight: the
// sum over the samples and outputs of dy times the inputs each weight met.
func ConvWeightGrad32(c Conv, dw, dy, x, work []float32) { convWeightGrad(c, dw, dy, x, work) }

// ConvWeightGrad64 is ConvWeightGrad32 for float64.
func ConvWeightGrad64(c Conv, dw, dy, x, work []float64) { convWeightGrad(c, dw, dy, x, work) }

// A convOp is one of the convolution's kernels, for runConv and a Pool's
// tasks.
type convOp uint8

const (
	noConv convOp = iota
	convForwardOp
	convForwardReLUOp
	convInputGradOp
	convWeightGradOp
)

func convForward[T float32 | float64](c Conv, y, x, w, b []T, relu bool, work []T) {
	c.check(len(x), len(w), len(y))
	op := convForwardOp
	if relu {
		op = convForwardReLUOp
	}
	runConv(current(), op, c, 0, c.N, y, x, w, b, work)
}

func convInputGrad[T float32 | float64](c Conv, dx, dy, w, work []T) {
	c.check(len(dx), len(w), len(dy))
	runConv(current(), convInputGradOp, c, 0, c.N, dx, dy, w, nil, work)
}

func convWeightGrad[T float32 | float64](c Conv, dw, dy, x, work []T) {
	c.check(len(x), len(dw), len(dy))
	runConv(current(), convWeightGradOp, c, 0, c.K, dw, dy, x, nil, work)
}

// runConv runs the share lo..hi of a convolution's kernel op with the
// kernel set ks: samples lo..hi of the forward pass (out = y, a = x, b =
// w) or of the input gradient (out = dx, a = dy, b = w); output channels
// lo..hi of the weight gradient (out = dw, a = dy, b = x), which the
// direct loops compute whole (a Pool does not split them).
func runConv[T float32 | float64](ks *kernelSet, op convOp, c Conv, lo, hi int, out, a, b, bias, work []T) {
	pq, hw := c.P()*c.Q(), c.H*c.W
	share := c
	share.N = hi - lo
	switch {
	case op == convWeightGradOp && c.direct():
		convWeightGradDirect(c, out, a, b)
	case op == convWeightGradOp:
		convGemms[T](ks).weightGrad(c, lo, hi, out, a, b, work)
	case op == convInputGradOp && c.direct():
		convInputGradDirect(share, out[lo*c.C*hw:], a[lo*c.K*pq:], b)
	case op == convInputGradOp:
		convGemms[T](ks).inputGrad(c, lo, hi, out, a, b, work)
	case c.direct():
		y := out[lo*c.K*pq : hi*c.K*pq]
		convForwardDirect(share, y, a[lo*c.C*hw:], b, bias)
		if op == convForwardReLUOp {
			epilogue(y, pq, nil, true)
		}
	default:
		convGemms[T](ks).forward(c, lo, hi, out, a, b, bias, op == convForwardReLUOp, work)
	}
}

// span is the outputs along an axis whose tap at offset off (s·dilation -
// padding) reads inside the input of size in: lo ≤ q < hi with 0 ≤
// q·stride + off < in.
func span(out, in, stride, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if in-1-off < 0 {
		return lo, lo
	}
	hi = min(out, (in-1-off)/stride+1)
	return lo, max(lo, hi)
}

// The direct convolution: for each sample, output channel, input channel
// of its group and kernel tap, the rows of outputs whose taps fall inside
// the input, each an axpy-like loop over the columns. Every output adds
// its products in the order (input channel, r, s), and a weight's gradient
// in the order (sample, p, q). They compute the convolutions too small for
// the GEMM (conv_gemm.go), and are the reference the tests check it against.

// A directTap is one kernel tap (r, s) of output channel k over input
// channel ci of sample n, as the direct loops visit it: the outputs
// (p, q) with pLo ≤ p < pHi and qLo ≤ q < qHi read input element
// in + (p·StrideH)·W + q·StrideW + off and write output element out +
// p·Q + q; the tap's weight is element tap of w.
type directTap struct {
	out, in, off, tap  int
	pLo, pHi, qLo, qHi int
}

// directTaps yields c's taps in the direct loops' order: sample, output
// channel, input channel of its group, r, s.
func (c Conv) directTaps() iter.Seq[directTap] {
	return func(yield func(directTap) bool) {
		P, Q := c.P(), c.Q()
		cg, kg := c.C/c.Groups, c.K/c.Groups
		for n := range c.N {
			for k := range c.K {
				for ci := range cg {
					plane := (n*c.C + k/kg*cg + ci) * c.H * c.W
					for r := range c.R {
						pLo, pHi := span(P, c.H, c.StrideH, r*c.DilH-c.PadH)
						for s := range c.S {
							off := s*c.DilW - c.PadW
							qLo, qHi := span(Q, c.W, c.StrideW, off)
							t := directTap{out: (n*c.K + k) * P * Q, in: plane + (r*c.DilH-c.PadH)*c.W, off: off,
								tap: ((k*cg+ci)*c.R+r)*c.S + s, pLo: pLo, pHi: pHi, qLo: qLo, qHi: qHi}
							if !yield(t) {
								return
							}
						}
					}
				}
			}
		}
	}
}

func convForwardDirect[T nnrt.Float](c Conv, y, x, w, b []T) {
	c.check(len(x), len(w), len(y))
	pq := c.P() * c.Q()
	y = y[:c.N*c.K*pq]
	clear(y)
	for t := range c.directTaps() {
		wv := w[t.tap]
		for p := t.pLo; p < t.pHi; p++ {
			row := x[t.in+p*c.StrideH*c.W:][:c.W]
			dst := y[t.out+p*c.Q():][:c.Q()]
			for q := t.qLo; q < t.qHi; q++ {
				dst[q] += wv * row[q*c.StrideW+t.off]
			}
		}
	}
	if b != nil {
		for i := range c.N * c.K {
			for j := range pq {
				y[i*pq+j] += b[i%c.K]
			}
		}
	}
}

func convInputGradDirect[T nnrt.Float](c Conv, dx, dy, w []T) {
	c.check(len(dx), len(w), len(dy))
	clear(dx[:c.N*c.C*c.H*c.W])
	for t := range c.directTaps() {
		wv := w[t.tap]
		for p := t.pLo; p < t.pHi; p++ {
			row := dx[t.in+p*c.StrideH*c.W:][:c.W]
			src := dy[t.out+p*c.Q():][:c.Q()]
			for q := t.qLo; q < t.qHi; q++ {
				row[q*c.StrideW+t.off] += wv * src[q]
			}
		}
	}
}

func convWeightGradDirect[T nnrt.Float](c Conv, dw, dy, x []T) {
	c.check(len(x), len(dw), len(dy))
	clear(dw[:c.K*(c.C/c.Groups)*c.R*c.S])
	for t := range c.directTaps() {
		sum := dw[t.tap]
		for p := t.pLo; p < t.pHi; p++ {
			row := x[t.in+p*c.StrideH*c.W:][:c.W]
			src := dy[t.out+p*c.Q():][:c.Q()]
			for q := t.qLo; q < t.qHi; q++ {
				sum += src[q] * row[q*c.StrideW+t.off]
			}
		}
		dw[t.tap] = sum
	}
}

// Pooling, channel by channel: the geometry is a Conv with K = C (and
// Groups = C), the window R×S.

// MaxPoolForward32 sets each y to the largest x of its window; padding
// reads as -∞ (it is never the largest).
func MaxPoolForward32(c Conv, y, x []float32) { maxPoolForward(c, y, x) }

// MaxPoolForward64 is MaxPoolForward32 for float64.
func MaxPoolForward64(c Conv, y, x []float64) { maxPoolForward(c, y, x) }

// MaxPoolGrad32 sets dx to each window's dy at the window's first largest
// x in row-major order (a NaN counts as largest), as PyTorch's indices;
// zero elsewhere, and summed where windows overlap.
func MaxPoolGrad32(c Conv, dx, dy, x []float32) { maxPoolGrad(c, dx, dy, x) }

// MaxPoolGrad64 is MaxPoolGrad32 for float64.
func MaxPoolGrad64(c Conv, dx, dy, x []float64) { maxPoolGrad(c, dx, dy, x) }

// AvgPoolForward32 sets each y to the mean of its window, the padding
// counted as zeros (PyTorch's count_include_pad).
func AvgPoolForward32(c Conv, y, x []float32) { avgPoolForward(c, y, x) }

// AvgPoolForward64 is AvgPoolForward32 for float64.
func AvgPoolForward64(c Conv, y, x []float64) { avgPoolForward(c, y, x) }

// AvgPoolGrad32 sets dx to the sum of dy/(R·S) over the windows that read it.
func AvgPoolGrad32(c Conv, dx, dy []float32) { avgPoolGrad(c, dx, dy) }

// AvgPoolGrad64 is AvgPoolGrad32 for float64.
func AvgPoolGrad64(c Conv, dx, dy []float64) { avgPoolGrad(c, dx, dy) }

// window is the first input row and column of output (p, q)'s window:
// its tap (r, s) reads row h0 + r·DilH, column w0 + s·DilW, where inside.
func (c Conv) window(p, q int) (h0, w0 int) {
	return p*c.StrideH - c.PadH, q*c.StrideW - c.PadW
}

// poolCheck panics unless the slices hold a pooling's arrays.
func (c Conv) poolCheck(x, y int) {
	if c.K != c.C || c.P() < 1 || c.Q() < 1 || x < c.N*c.C*c.H*c.W || y < c.N*c.C*c.P()*c.Q() {
		panic(fmt.Sprintf("kernels: pooling %+v: bad geometry, or x or y too short (%d, %d)", c, x, y))
	}
}

// maxTap is the offset in x of the first largest input of output (p, q)'s
// window over plane (a NaN counts as largest), or -1 for a window wholly
// in the padding.
func maxTap[T nnrt.Float](c Conv, x []T, plane, p, q int) int {
	h0, w0 := c.window(p, q)
	arg, best := -1, T(math.Inf(-1))
	for r := range c.R {
		h := h0 + r*c.DilH
		if h < 0 || h >= c.H {
			continue
		}
		for s := range c.S {
			w := w0 + s*c.DilW
			if w < 0 || w >= c.W {
				continue
			}
			i := (plane*c.H+h)*c.W + w
			if v := x[i]; arg < 0 || v > best || v != v {
				arg, best = i, v
				if v != v {
					return arg
				}
			}
		}
	}
	return arg
}

// halves reports whether c is the common pooling of 2×2 windows with
// stride 2, no padding, no dilation, which maxPool2x2 computes.
func (c Conv) halves() bool {
	return c.R == 2 && c.S == 2 && c.StrideH == 2 && c.StrideW == 2 && c.PadH == 0 && c.PadW == 0 && c.DilH == 1 && c.DilW == 1
}

// better reports whether v replaces best as a window's largest: larger,
// or the first NaN.
func better[T nnrt.Float](v, best T) bool { return v > best || v != v && best == best }

// maxPool2x2 is the max pooling of halves (maxTap without its bounds and
// loops): it sets y to each window's largest, or with dy set, adds dy to
// dx at each window's first largest.
func maxPool2x2[T nnrt.Float](c Conv, y, x, dx, dy []T) {
	P, Q := c.P(), c.Q()
	for plane := range c.N * c.C {
		for p := range P {
			at := (plane*c.H + 2*p) * c.W
			r0, r1 := x[at:][:2*Q], x[at+c.W:][:2*Q]
			out := (plane*P + p) * Q
			if dy == nil { // the largest, NaN if any is (the first's index is the gradient's business)
				for q := range Q {
					y[out+q] = max(r0[2*q], r0[2*q+1], r1[2*q], r1[2*q+1])
				}
				continue
			}
			for q := range Q {
				best, arg := r0[2*q], at+2*q
				if v := r0[2*q+1]; better(v, best) {
					best, arg = v, at+2*q+1
				}
				if v := r1[2*q]; better(v, best) {
					best, arg = v, at+c.W+2*q
				}
				if v := r1[2*q+1]; better(v, best) {
					best, arg = v, at+c.W+2*q+1
				}
				dx[arg] += dy[out+q]
			}
		}
	}
}

// maxPoolGrad2x2 is maxPool2x2's gradient for float32 without a branch
// per element: the window's largest m, then dy to the first of its four
// equal to m and zero to the others, by integer selects on the bits
// (random data mispredicts the comparisons' branches half the time). A
// window with a NaN takes maxPool2x2's way.
func maxPoolGrad2x2(c Conv, dx, dy, x []float32) {
	P, Q := c.P(), c.Q()
	vector := current().maxPoolGrad32
	for plane := range c.N * c.C {
		for p := range P {
			at := (plane*c.H + 2*p) * c.W
			r0, r1 := x[at:][:2*Q], x[at+c.W:][:2*Q]
			d0, d1 := dx[at:][:2*Q], dx[at+c.W:][:2*Q]
			grads := dy[(plane*P+p)*Q:][:Q]
			done := 0
			if vector {
				done = maxPoolGradBlocks(&d0[0], &d1[0], &grads[0], &r0[0], &r1[0], Q)
			}
			for q := done; q < Q; q++ {
				g := grads[q]
				a, b, cc, d := r0[2*q], r0[2*q+1], r1[2*q], r1[2*q+1]
				m := max(a, b, cc, d)
				if m != m {
					d0[2*q], d0[2*q+1], d1[2*q], d1[2*q+1] = 0, 0, 0, 0
					best, arg := a, 0
					for i, v := range [3]float32{b, cc, d} {
						if better(v, best) {
							best, arg = v, i+1
						}
					}
					if arg < 2 {
						d0[2*q+arg] = g
					} else {
						d1[2*q+arg-2] = g
					}
					continue
				}
				// Compare bits, with -0 made +0 (x + 0): integer compares
				// the compiler turns into flags, not branches.
				bm := math.Float32bits(m + 0)
				ua := b2u(math.Float32bits(a+0) == bm)
				ub := b2u(math.Float32bits(b+0) == bm) &^ ua
				uc := b2u(math.Float32bits(cc+0) == bm) &^ (ua | ub)
				ud := 1 &^ (ua | ub | uc)
				bits := math.Float32bits(g)
				ma, mb, mc, md := -ua, -ub, -uc, -ud
				d0[2*q] = math.Float32frombits(bits & ma)
				d0[2*q+1] = math.Float32frombits(bits & mb)
				d1[2*q] = math.Float32frombits(bits & mc)
				d1[2*q+1] = math.Float32frombits(bits & md)
			}
		}
	}
}

// b2u is 1 for true, 0 for false.
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

func maxPoolForward[T nnrt.Float](c Conv, y, x []T) {
	c.poolCheck(len(x), len(y))
	var zero T
	if c.halves() && unsafe.Sizeof(zero) == 4 && current().maxPoolGrad32 {
		f32 := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
		y32, x32 := f32(y), f32(x)
		P, Q := c.P(), c.Q()
		for plane := range c.N * c.C {
			for p := range P {
				at := (plane*c.H + 2*p) * c.W
				maxPoolBlocks(&y32[(plane*P+p)*Q:][:Q][0], &x32[at:][:2*Q][0], &x32[at+c.W:][:2*Q][0], Q)
			}
		}
		return
	}
	if c.halves() {
		maxPool2x2(c, y, x, nil, nil)
		return
	}
	P, Q := c.P(), c.Q()
	for plane := range c.N * c.C {
		for p := range P {
			for q := range Q {
				v := T(math.Inf(-1))
				if i := maxTap(c, x, plane, p, q); i >= 0 {
					v = x[i]
				}
				y[(plane*P+p)*Q+q] = v
			}
		}
	}
}

func maxPoolGrad[T nnrt.Float](c Conv, dx, dy, x []T) {
	c.poolCheck(len(x), len(dy))
	var zero T
	if c.halves() && unsafe.Sizeof(zero) == 4 {
		if c.H%2 != 0 || c.W%2 != 0 { // a last row or column no window reads
			clear(dx[:c.N*c.C*c.H*c.W])
		}
		f32 := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
		maxPoolGrad2x2(c, f32(dx), f32(dy), f32(x))
		return
	}
	clear(dx[:c.N*c.C*c.H*c.W])
	if c.halves() {
		maxPool2x2(c, nil, x, dx, dy)
		return
	}
	P, Q := c.P(), c.Q()
	for plane := range c.N * c.C {
		for p := range P {
			for q := range Q {
				if i := maxTap(c, x, plane, p, q); i >= 0 {
					dx[i] += dy[(plane*P+p)*Q+q]
				}
			}
		}
	}
}

func avgPoolForward[T nnrt.Float](c Conv, y, x []T) {
	c.poolCheck(len(x), len(y))
	P, Q := c.P(), c.Q()
	size := T(c.R * c.S)
	for plane := range c.N * c.C {
		for p := range P {
			for q := range Q {
				h0, w0 := c.window(p, q)
				var sum T
				for r := range c.R {
					h := h0 + r*c.DilH
					if h < 0 || h >= c.H {
						continue
					}
					for s := range c.S {
						if w := w0 + s*c.DilW; w >= 0 && w < c.W {
							sum += x[(plane*c.H+h)*c.W+w]
						}
					}
				}
				y[(plane*P+p)*Q+q] = sum / size
			}
		}
	}
}

func avgPoolGrad[T nnrt.Float](c Conv, dx, dy []T) {
	c.poolCheck(len(dx), len(dy))
	clear(dx[:c.N*c.C*c.H*c.W])
	P, Q := c.P(), c.Q()
	size := T(c.R * c.S)
	for plane := range c.N * c.C {
		for p := range P {
			for q := range Q {
				g := dy[(plane*P+p)*Q+q] / size
				h0, w0 := c.window(p, q)
				for r := range c.R {
					h := h0 + r*c.DilH
					if h < 0 || h >= c.H {
						continue
					}
					for s := range c.S {
						if w := w0 + s*c.DilW; w >= 0 && w < c.W {
							dx[(plane*c.H+h)*c.W+w] += g
						}
					}
				}
			}
		}
	}
}
