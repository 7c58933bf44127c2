package kernels

import (
	"fmt"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

// Convolutions on the GEMM kernels. Per sample and group, with taps =
// C/Groups·R·S (one row per input channel and kernel tap) and the output
// positions as columns:
//
//	forward      Y[k][j]    = Σ_t W[k][t] · col[t][j]    (K/Groups × positions × taps)
//	input grad   dcol[t][j] = Σ_k W[k][t] · dY[k][j]     (taps × positions × K/Groups), dx = col2im(dcol)
//	weight grad  dW[k][t]  += Σ_j dY[k][j] · col[t][j]   (K/Groups × taps × positions), over the samples
//
// col[t][j] is the input that tap t of output j reads, zero in the
// padding (im2col). Two ways to get it:
//
// On the grid, for stride 1 (most convolutions): in the input padded with
// its zeros (hp×wp per channel), output (p, q)'s tap (ci, r, s) reads
// element ci·hp·wp + (p + r·DilH)·wp + q + s·DilW. Taken over the grid
// positions j = p·wp + q, row t of col is the padded input from offset
// off(t) = ci·hp·wp + r·DilH·wp + s·DilW on: a plain slice, and the taps
// of one (ci, r) are rows DilW apart. The GEMM packs its blocks of col
// straight from the padded input (packGrid), one pass, with the same
// assembly as any GEMM's, and computes the grid's wp - Q extra columns per
// row, which the copy to y drops. The input's gradient is then the
// forward convolution of dy, padded by DilH·(R-1) - PadH, by the weights
// flipped and transposed (transposed), or for few input channels col2im
// on the grid (each tap's row one slice added to the padded dx); the
// weight's gradient reads col's rows as slices (copies, a chunk at a
// time). In float32 on AVX-512, small convolutions skip the packing: the
// grid convolution blocks read the padded input at each tap's offset
// (at most 16 output channels), and the dot-product blocks compute small
// weight gradients over several samples at once. conv_grid.go has the
// grid's code.
//
// Else (a stride above 1), col is built a chunk of output positions at a
// time in the workspace (im2col), so that it stays in the L2 next to the
// GEMM's packed blocks.
//
// The direct loops (conv.go) stay for the convolutions whose GEMMs would
// be a few rows or a few taps deep, as a depthwise one (each output
// channel reads one input channel): there packing costs more than the
// arithmetic. They are also the pure-Go reference the tests check these
// against. Every sum runs in a fixed order for the geometry: the results
// do not depend on how a Pool splits the samples or channels.

// convChunk is the most elements of col built at once by im2col: 128 KiB
// of float32, which leaves the L2 (1 MiB and up) to the GEMM's blocks.
const convChunk = 1 << 15

// directMax is the largest K/Groups·C/Groups·R·S (multiply-adds per output
// position and group) that the direct loops compute: a depthwise 3×3
// convolution (9), a 1-channel 2×2 one. Above it the GEMM wins.
const directMax = 32

// direct reports whether c runs on the direct loops.
func (c Conv) direct() bool {
	return c.K/c.Groups*(c.C/c.Groups)*c.R*c.S <= directMax
}

// onGrid reports whether c runs on the padded input's grid: stride 1.
func (c Conv) onGrid() bool { return c.StrideH == 1 && c.StrideW == 1 }

// taps is the rows of c's im2col matrix: C/Groups·R·S.
func (c Conv) taps() int { return c.C / c.Groups * c.R * c.S }

// chunk is the output positions of c's im2col matrix built at once: all
// of them where taps·P·Q fits convChunk, else a multiple of 32 (the
// AVX-512 kernels' tile width).
func (c Conv) chunk() int {
	return min(max(convChunk/c.taps()/32*32, 32), c.P()*c.Q())
}

// gridDims are the padded input's plane, hp×wp, and the grid positions a
// grid convolution computes: up to output (P-1, Q-1), n = (P-1)·wp + Q.
func (c Conv) gridDims() (hp, wp, n int) {
	hp, wp = c.H+2*c.PadH, c.W+2*c.PadW
	return hp, wp, (c.P()-1)*wp + c.Q()
}

// padded reports whether a grid convolution copies its input into the
// padded plane (else the input is the grid's).
func (c Conv) padded() bool { return c.PadH > 0 || c.PadW > 0 }

// gridChunk is the grid positions of col a grid convolution's weight
// gradient copies at once: the depth of its GEMMs, at least 256.
func (c Conv) gridChunk() int {
	_, _, n := c.gridDims()
	return min(max(4*convChunk/c.taps()/32*32, 256), roundUp(n, 16))
}

// gridDepth is the depth of a grid convolution's weight-gradient GEMMs:
// the grid's positions, rounded up to a multiple of 16 with zeros from 64
// on, so that the transposing assembly packs them all, not the Go tail
// (below 64, the zeros would cost more than the tail).
func (c Conv) gridDepth() int {
	_, _, n := c.gridDims()
	if n < 64 {
		return n
	}
	return roundUp(n, 16)
}

// transposed is the convolution whose forward pass is a grid
// convolution's input gradient, for one group: dy's K/Groups channels
// (P×Q, padded by DilH·(R-1) - PadH) by the weights flipped and
// transposed, giving C/Groups channels of H×W. ok is false where that
// padding would be negative (a padding wider than the kernel's reach).
func (c Conv) transposed() (t Conv, ok bool) {
	t = Conv{N: 1, C: c.K / c.Groups, K: c.C / c.Groups, Groups: 1, H: c.P(), W: c.Q(), R: c.R, S: c.S,
		StrideH: 1, StrideW: 1, PadH: c.DilH*(c.R-1) - c.PadH, PadW: c.DilW*(c.S-1) - c.PadW, DilH: c.DilH, DilW: c.DilW}
	return t, c.onGrid() && t.PadH >= 0 && t.PadW >= 0
}

// An arena hands out pieces of a work slice, each starting a cache line
// (of float64: 64 elements, also whole lines of float32) after the last.
type arena[T any] struct{ rest []T }

func (a *arena[T]) take(n int) []T {
	s := a.rest[:n]
	a.rest = a.rest[min(roundUp(n, cacheLine), len(a.rest)):]
	return s
}

// lines is the elements that pieces of the given sizes take in an arena.
func lines(sizes ...int) int {
	total := 0
	for _, n := range sizes {
		total += roundUp(n, cacheLine)
	}
	return total
}

// ConvWork32 is the length of the work slice ConvForward32, ConvInputGrad32
// and ConvWeightGrad32 need for c with any kernel set; it does not depend
// on c.N, so a model sizes it once for its largest batch. It is 0 for the
// convolutions that the direct loops compute.
func ConvWork32(c Conv) int { return convWork(c, GemmWork32) }

// ConvWork64 is ConvWork32 for the float64 kernels.
func ConvWork64(c Conv) int { return convWork(c, GemmWork64) }

func convWork(c Conv, gemmWork func(m, n, k int) int) int {
	c.checkGeometry()
	if c.direct() {
		return 0
	}
	if !c.onGrid() {
		return c.im2colWork(gemmWork)
	}
	in := c.gridInputWork(gemmWork)
	if t, ok := c.transposed(); ok {
		// Either way, as the kernel set decides (gridDirect).
		in = max(in, lines(c.K/c.Groups*c.taps())+t.gridForwardWork(gemmWork)) // its prepWork included
	}
	return max(c.gridForwardWork(gemmWork), in, c.gridWeightWork(gemmWork), c.dotWorkSize())
}

// im2colWork is the work of the im2col convolutions: a chunk of col and
// the GEMMs' workspace.
func (c Conv) im2colWork(gemmWork func(m, n, k int) int) int {
	kg, taps, n := c.K/c.Groups, c.taps(), c.chunk()
	return c.prepWork() + lines(taps*n) + max(gemmWork(kg, n, taps), gemmWork(taps, n, kg), gemmWork(kg, taps, n))
}

// gridForwardWork is the work of a grid convolution's forward pass: the
// padded input, the grid's outputs (unless they are y's: no column
// dropped) and the GEMM's workspace.
func (c Conv) gridForwardWork(gemmWork func(m, n, k int) int) int {
	hp, wp, n := c.gridDims()
	kg := c.K / c.Groups
	xp, out := 0, 0
	if c.padded() {
		xp = c.C / c.Groups * hp * wp
	}
	if wp != c.Q() {
		out = gridRowsMax(kg) * gridColsMax(n)
	}
	return c.prepWork() + lines(xp) + max(lines(out)+gemmWork(kg+gridRowsMax(0), gridColsMax(n), c.taps()), lines(kg*n))
}

// gridRowsMax and gridColsMax bound, for every kernel set, the rows and
// columns of a grid convolution's product rounded up to whole tiles (the
// rows to mr ≤ 16, the columns to nr ≤ 32), which the grid's buffer holds
// so that every tile is stored whole.
func gridRowsMax(m int) int { return roundUp(m, 16) }
func gridColsMax(n int) int { return roundUp(n, 32) }

// gridInputWork is the work of a grid convolution's input gradient by
// col2im on the grid: dy on the grid, the padded dx, a chunk of the
// gradient's im2col rows and the GEMM's workspace.
func (c Conv) gridInputWork(gemmWork func(m, n, k int) int) int {
	hp, wp, n := c.gridDims()
	kg, taps, chunk := c.K/c.Groups, c.taps(), c.gridChunk()
	dy, dxp := 0, 0
	if wp != c.Q() {
		dy = kg * n
	}
	if c.padded() {
		dxp = c.C / c.Groups * hp * wp
	}
	return lines(dy, dxp, taps*chunk) + gemmWork(taps, chunk, kg)
}

// gridWeightWork is the work of a grid convolution's weight gradient: the
// padded input, dy on the grid, a chunk of col and the GEMM's workspace.
func (c Conv) gridWeightWork(gemmWork func(m, n, k int) int) int {
	hp, wp, n := c.gridDims()
	kg, taps, chunk := c.K/c.Groups, c.taps(), c.gridChunk()
	xp, dy := 0, 0
	if c.padded() {
		xp = c.C / c.Groups * hp * wp
	}
	if depth := c.gridDepth(); wp != c.Q() || depth != n {
		dy = kg * depth
	}
	return lines(xp, dy, taps*chunk) + gemmWork(kg, taps, chunk)
}

// convGemm is the kernels for one precision: the kernel set's GEMM and
// its vector kernels.
type convGemm[T float32 | float64] struct {
	ks   *kernelSet
	gemm func(ks *kernelSet, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, accumulate bool, work []T)
	v    *vecSet[T]
	work func(m, n, k int) int
}

func convGemms[T float32 | float64](ks *kernelSet) convGemm[T] {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		g := convGemm[float32]{ks: ks, gemm: gemm32, v: &ks.v32, work: GemmWork32}
		return *(*convGemm[T])(unsafe.Pointer(&g))
	}
	g := convGemm[float64]{ks: ks, gemm: gemm64, v: &ks.v64, work: GemmWork64}
	return *(*convGemm[T])(unsafe.Pointer(&g))
}

// kernel is the set's tiled kernel for a product of m rows.
func (cg convGemm[T]) kernel(m int) *gemmKernel[T] {
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		return (*gemmKernel[T])(unsafe.Pointer(cg.ks.sgemmFor(m)))
	}
	return (*gemmKernel[T])(unsafe.Pointer(&cg.ks.dgemm))
}

// checkWork panics unless work holds what c needs.
func (cg convGemm[T]) checkWork(c Conv, work []T) {
	if need := convWork(c, cg.work); len(work) < need {
		panic(fmt.Sprintf("kernels: Conv %+v: work has %d elements, needs %d (ConvWork)", c, len(work), need))
	}
}

// forward computes samples n0 to n1 of y = conv(x, w) + b, then relu.
func (cg convGemm[T]) forward(c Conv, n0, n1 int, y, x, w, b []T, relu bool, work []T) {
	cg.checkWork(c, work)
	pq, hw := c.P()*c.Q(), c.H*c.W
	kg, cgs, taps := c.K/c.Groups, c.C/c.Groups, c.taps()
	for g := range c.Groups {
		wg := w[g*kg*taps:][:kg*taps]
		var bg []T
		if b != nil {
			bg = b[g*kg:][:kg]
		}
		a := arena[T]{work}
		prep := cg.prepare(c, wg, bg, relu, &a)
		for n := n0; n < n1; n++ {
			out := y[(n*c.K+g*kg)*pq:][:kg*pq]
			in := x[(n*c.C+g*cgs)*hw:][:cgs*hw]
			if c.onGrid() {
				cg.gridForward(c, out, in, wg, &prep, a.rest)
				continue
			}
			b := a
			chunk := c.chunk()
			col := b.take(taps * chunk)
			for j0 := 0; j0 < pq; j0 += chunk {
				nc := min(chunk, pq-j0)
				im2col(c, col, in, j0, nc)
				cg.gemm(cg.ks, false, false, kg, nc, taps, wg, taps, col, nc, out[j0:], pq, false, b.rest)
			}
			cg.finish(out, out, pq, c.Q(), c.P(), c.Q(), &prep)
		}
	}
}

// epilogue adds each channel's bias to its plane of pq outputs (none for
// a nil b), then applies relu.
func epilogue[T nnrt.Float](y []T, pq int, b []T, relu bool) {
	if b == nil && !relu {
		return
	}
	for k := range len(y) / pq {
		plane := y[k*pq:][:pq]
		var bias T
		if b != nil {
			bias = b[k]
		}
		switch {
		case relu:
			for i, v := range plane {
				plane[i] = max(v+bias, 0)
			}
		default:
			for i := range plane {
				plane[i] += bias
			}
		}
	}
}

// inputGrad computes samples n0 to n1 of dx from dy.
func (cg convGemm[T]) inputGrad(c Conv, n0, n1 int, dx, dy, w []T, work []T) {
	cg.checkWork(c, work)
	pq, hw := c.P()*c.Q(), c.H*c.W
	kg, cgs, taps := c.K/c.Groups, c.C/c.Groups, c.taps()
	t, transposed := c.transposed()
	transposed = transposed && (cgs >= transposedMin || cg.gridDirect(t))
	for g := range c.Groups {
		wg := w[g*kg*taps:][:kg*taps]
		a := arena[T]{work}
		var flipped []T
		var tprep convPrep[T]
		if transposed {
			flipped = a.take(kg * taps)
			flip(c, flipped, wg)
			tprep = cg.prepare(t, flipped, nil, false, &a)
		}
		for n := n0; n < n1; n++ {
			grad := dy[(n*c.K+g*kg)*pq:][:kg*pq]
			dxg := dx[(n*c.C+g*cgs)*hw:][:cgs*hw]
			switch {
			case transposed:
				cg.gridForward(t, dxg, grad, flipped, &tprep, a.rest)
				continue
			case c.onGrid():
				cg.gridInputGrad(c, dxg, grad, wg, a.rest)
				continue
			}
			chunk := c.chunk()
			b := a
			col := b.take(taps * chunk)
			clear(dxg)
			for j0 := 0; j0 < pq; j0 += chunk {
				nc := min(chunk, pq-j0)
				cg.gemm(cg.ks, true, false, taps, nc, kg, wg, taps, grad[j0:], pq, col, nc, false, b.rest)
				col2im(cg.v, c, dxg, col, j0, nc)
			}
		}
	}
}

// weightGrad computes output channels k0 to k1 of dw, over every sample.
func (cg convGemm[T]) weightGrad(c Conv, k0, k1 int, dw, dy, x []T, work []T) {
	cg.checkWork(c, work)
	pq, hw := c.P()*c.Q(), c.H*c.W
	kg, cgs, taps := c.K/c.Groups, c.C/c.Groups, c.taps()
	if c.N == 0 {
		clear(dw[k0*taps : k1*taps])
		return
	}
	for g := k0 / kg; g < c.Groups && g*kg < k1; g++ {
		ka, kb := max(k0, g*kg), min(k1, (g+1)*kg)
		dwg := dw[ka*taps:][:(kb-ka)*taps]
		if cg.dotBlocks(c) {
			cg.dotWeightGrad(c, g, ka, kb, dwg, dy, x, work)
			continue
		}
		for n := range c.N {
			in := x[(n*c.C+g*cgs)*hw:][:cgs*hw]
			grad := dy[(n*c.K+ka)*pq:][:(kb-ka)*pq]
			if c.onGrid() {
				cg.gridWeightGrad(c, dwg, grad, in, kb-ka, n > 0, work)
				continue
			}
			a := arena[T]{work}
			chunk := c.chunk()
			col := a.take(taps * chunk)
			for j0 := 0; j0 < pq; j0 += chunk {
				nc := min(chunk, pq-j0)
				im2col(c, col, in, j0, nc)
				cg.gemm(cg.ks, false, true, kb-ka, taps, nc, grad[j0:], pq, col, nc, dwg, taps, n > 0 || j0 > 0, a.rest)
			}
		}
	}
}

// im2col writes col[t][j-j0] (row stride nc) for output positions j0 ≤ j
// < j0+nc: the input that tap t = (channel, r, s) of output j reads from
// in (the group's channels of one sample), zero in the padding.
func im2col[T nnrt.Float](c Conv, col, in []T, j0, nc int) {
	Q := c.Q()
	t := 0
	for ci := range c.C / c.Groups {
		plane := in[ci*c.H*c.W:][:c.H*c.W]
		for r := range c.R {
			for s := range c.S {
				dst := col[t*nc:][:nc]
				t++
				off := s*c.DilW - c.PadW
				qLo, qHi := span(Q, c.W, c.StrideW, off)
				for p := j0 / Q; p*Q < j0+nc; p++ {
					a, b := max(p*Q, j0), min((p+1)*Q, j0+nc) // this row's outputs in the chunk
					seg := dst[a-j0 : b-j0]
					q0 := a - p*Q
					h := p*c.StrideH + r*c.DilH - c.PadH
					lo, hi := max(qLo, q0), min(qHi, q0+len(seg))
					if h < 0 || h >= c.H || lo >= hi {
						clear(seg)
						continue
					}
					clear(seg[:lo-q0])
					clear(seg[hi-q0:])
					row := plane[h*c.W:][:c.W]
					if c.StrideW == 1 {
						copy(seg[lo-q0:hi-q0], row[lo+off:hi+off])
						continue
					}
					for q := lo; q < hi; q++ {
						seg[q-q0] = row[q*c.StrideW+off]
					}
				}
			}
		}
	}
}

// col2im adds col[t][j-j0] into dx where tap t of output j reads, the
// inverse of im2col's gather.
func col2im[T nnrt.Float](v *vecSet[T], c Conv, dx, col []T, j0, nc int) {
	Q := c.Q()
	t := 0
	for ci := range c.C / c.Groups {
		plane := dx[ci*c.H*c.W:][:c.H*c.W]
		for r := range c.R {
			for s := range c.S {
				src := col[t*nc:][:nc]
				t++
				off := s*c.DilW - c.PadW
				qLo, qHi := span(Q, c.W, c.StrideW, off)
				for p := j0 / Q; p*Q < j0+nc; p++ {
					a, b := max(p*Q, j0), min((p+1)*Q, j0+nc)
					q0 := a - p*Q
					h := p*c.StrideH + r*c.DilH - c.PadH
					lo, hi := max(qLo, q0), min(qHi, q0+b-a)
					if h < 0 || h >= c.H || lo >= hi {
						continue
					}
					seg := src[a-j0+lo-q0 : a-j0+hi-q0]
					row := plane[h*c.W:][:c.W]
					if c.StrideW != 1 {
						for i, g := range seg {
							row[(lo+i)*c.StrideW+off] += g
						}
						continue
					}
					dst := row[lo+off : hi+off]
					if len(dst) >= 32 {
						v.axpy(1, seg, dst)
						continue
					}
					seg = seg[:len(dst)]
					for i, g := range seg {
						dst[i] += g
					}
				}
			}
		}
	}
}

// dotsMax is the most weights (output channels × taps) of a group whose
// gradient gridWeightGrad computes as dot products: LeNet-5's first
// convolution (6 × 25: 2.6x faster than by the GEMM), not its second
// (16 × 150, where the GEMM's tiles win).
const dotsMax = 256

// dotBlocksMax and dotBlocksMin bound the weights (output channels ×
// taps of a group) and the grid positions for which a float32 weight
// gradient takes the dot-product blocks. Measured on AVX-512, one core,
// against the GEMM: LeNet-5's first layer (6 × 25 weights, 892
// positions) 0.47 -> 0.19 ms; its second (16 × 150, 136) and a 3×3 64 ->
// 64 layer over 32×32 (64 × 576, 1086) the same; the digits CNN's second
// layer (32 × 144, 22 positions) 3x slower, its dots too short for the
// sums of their lanes.
const dotBlocksMax, dotBlocksMin = 4096, 128

// transposedMin is the fewest input channels per group for which a grid
// convolution's input gradient is the transposed convolution on the GEMM
// (a product with that many rows); below, col2im on the grid, unless the
// transposed convolution runs on the grid convolution blocks (gridDirect:
// the digits CNN's second layer's input gradient 0.16 -> 0.10 ms,
// LeNet-5's second 0.53 -> 0.48 ms, one core).
const transposedMin = 32
