package kernels

import (
	"iter"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

// Convolutions of stride 1 on the padded input's grid (see conv_gemm.go):
// the forward pass on the GEMM (packGrid) or on the AVX-512 grid
// convolution blocks, what the calls for every sample share (convPrep),
// the bias and relu (finish), col2im on the grid, and the weight
// gradient on the GEMM or the dot-product blocks.

// A convPrep is what a convolution's calls for every sample of a group
// share, made once per call: finish's bias rows, and gridDirect's
// weights by tap and the taps' offsets.
type convPrep[T float32 | float64] struct {
	bias, relu bool
	rows       []T // a row of biasRow elements per channel, each its bias; one of zeros for relu alone
	stride     int // between rows: biasRow, or 0 for the one row of zeros
	wt         []float32
	offs       []int32
}

// prepWork is the work of prepare.
func (c Conv) prepWork() int {
	return lines(c.K/c.Groups*c.biasRow()) + c.gridDirectWork()
}

// prepare makes c's convPrep for the group's weights wg and bias bg (nil
// for none) in a.
func (cg convGemm[T]) prepare(c Conv, wg, bg []T, relu bool, a *arena[T]) convPrep[T] {
	kg, L := c.K/c.Groups, c.biasRow()
	p := convPrep[T]{bias: bg != nil, relu: relu}
	switch {
	case bg != nil:
		p.rows, p.stride = a.take(kg*L), L
		for k := range kg {
			row := p.rows[k*L:][:L]
			for i := range row {
				row[i] = bg[k]
			}
		}
	case relu:
		p.rows = a.take(L)
		clear(p.rows)
	}
	if c.onGrid() && cg.gridDirect(c) {
		p.wt, p.offs = cg.directWeights(c, wg, a)
	}
	return p
}

// gridForward sets out (one sample's K/Groups channels) to the convolution
// of in (its group's C/Groups channels) by wg, on the grid, then adds the
// bias and applies relu as prep says: in the copy from the grid to out
// where the grid has extra columns, else in place.
func (cg convGemm[T]) gridForward(c Conv, out, in, wg []T, prep *convPrep[T], work []T) {
	_, wp, n := c.gridDims()
	P, Q := c.P(), c.Q()
	kg := c.K / c.Groups
	a := arena[T]{work}
	src := in
	if c.padded() {
		src = a.take(c.C / c.Groups * (c.H + 2*c.PadH) * wp)
		pad(c, src, in)
	}
	if prep.wt != nil {
		grid := out
		if wp != Q {
			grid = a.take(kg * n)
		}
		cg.gridDirectProduct(c, grid, src, prep)
		cg.finish(out, grid, n, wp, P, Q, prep)
		return
	}
	if wp == Q {
		gemmGrid(cg.kernel(kg), c, kg, n, n, wg, src, out, a.rest)
		cg.finish(out, out, P*Q, Q, P, Q, prep)
		return
	}
	// The grid's buffer has whole tiles of rows and columns: the
	// micro-kernel stores every tile in place, none through its edge tile.
	g := cg.kernel(kg)
	ldc := roundUp(n, g.nr)
	grid := a.take(roundUp(kg, g.mr) * ldc)
	gemmGrid(g, c, roundUp(kg, g.mr), ldc, n, wg, src, grid, a.rest)
	cg.finish(out, grid, ldc, wp, P, Q, prep)
}

// biasRow is the length of finish's bias rows: 256 elements, or fewer
// for a smaller plane (on the grid).
func (c Conv) biasRow() int {
	_, _, n := c.gridDims()
	return min(max(n, c.P()*c.Q()), 256)
}

// finish sets out's channels of P×Q outputs to the sums in src (row p of
// channel k at src[k*cs+p*rs:], which may be out's own), adding the bias
// and applying relu as prep says: with the vector kernels over each
// channel's rows in src, in place (the grid's extra columns too), in
// pieces of a bias row; then the rows are copied to out, unless src is
// out.
func (cg convGemm[T]) finish(out, src []T, cs, rs, P, Q int, prep *convPrep[T]) {
	pq := P * Q
	inPlace := &src[0] == &out[0] && cs == pq && rs == Q
	span := (P-1)*rs + Q // a channel's rows in src
	for k := range len(out) / pq {
		if prep.bias || prep.relu {
			row := prep.rows // zeros, for relu alone
			if prep.stride > 0 {
				row = prep.rows[k*prep.stride:][:prep.stride]
			}
			sums := src[k*cs:][:span]
			for off := 0; off < span; off += len(row) {
				x := sums[off:min(off+len(row), span)]
				if prep.relu {
					cg.v.addReLU(x, row[:len(x)])
				} else {
					cg.v.axpy(1, row[:len(x)], x)
				}
			}
		}
		if inPlace {
			continue
		}
		for p := range P {
			copy(out[(k*P+p)*Q:][:Q], src[k*cs+p*rs:][:Q])
		}
	}
}

// gridDirect reports whether c's product on the grid runs on the AVX-512
// grid convolution blocks (convGrid32) instead of the GEMM: float32, at
// most gridDirectMax output channels per group, where the GEMM's tiles
// are mostly padding or its packing costs more than its 8 or 16 rows
// of multiply-adds per packed element. Measured on AVX-512, one core:
// LeNet-5's forward passes 0.33 -> 0.17 ms (6 channels) and 0.46 -> 0.26
// ms (16).
func (cg convGemm[T]) gridDirect(c Conv) bool {
	var zero T
	return unsafe.Sizeof(zero) == 4 && cg.ks.dotBlocks32 && c.K/c.Groups <= gridDirectMax
}

// gridDirectMax is the most output channels per group of gridDirect.
const gridDirectMax = 16

// gridDirectWork is gridDirectProduct's scratch: the weights by tap and
// the taps' offsets.
func (c Conv) gridDirectWork() int { return lines(c.taps()*c.K/c.Groups, c.taps()) }

// directWeights rearranges one group's weights wg for the grid
// convolution blocks, at most 8 channels a call: tap by tap within each
// block of channels ([block][tap][channel]), with the taps' offsets in
// the padded input, in a.
func (cg convGemm[T]) directWeights(c Conv, wg []T, a *arena[T]) ([]float32, []int32) {
	hp, wp := c.H+2*c.PadH, c.W+2*c.PadW
	kg, taps := c.K/c.Groups, c.taps()
	f32 := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
	wt := f32(a.take(taps * kg))
	offs := unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(a.take(taps)))), taps)
	for t, off := range c.gridRows(hp, wp) {
		offs[t] = int32(off)
	}
	w32 := f32(wg)
	for k0 := 0; k0 < kg; k0 += 8 {
		ch := min(8, kg-k0)
		block := wt[k0*taps:][:ch*taps]
		for t := range taps {
			for k := range ch {
				block[t*ch+k] = w32[(k0+k)*taps+t]
			}
		}
	}
	return wt, offs
}

// gridDirectProduct sets grid (K/Groups rows of n grid positions) to the
// product of the weights and the im2col rows of src (the padded input)
// by the grid convolution blocks, with prep's weights and offsets.
func (cg convGemm[T]) gridDirectProduct(c Conv, grid, src []T, prep *convPrep[T]) {
	_, _, n := c.gridDims()
	kg, taps := c.K/c.Groups, c.taps()
	f32 := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
	g32, s32 := f32(grid), f32(src)
	_ = s32[int(prep.offs[taps-1])+n-1] // the blocks read each tap's n positions
	for k0 := 0; k0 < kg; k0 += 8 {
		ch := min(8, kg-k0)
		_ = g32[(k0+ch-1)*n+n-1]
		convGrid32[ch-1](&g32[k0*n], n, &prep.wt[k0*taps], &s32[0], &prep.offs[0], taps, n)
	}
}

// pad copies each of in's planes (H×W) into the middle of a plane of dst
// (hp×wp) whose border it zeroes.
func pad[T nnrt.Float](c Conv, dst, in []T) {
	hp, wp, _ := c.gridDims()
	for ci := range len(dst) / (hp * wp) {
		plane := dst[ci*hp*wp:][:hp*wp]
		clear(plane[:c.PadH*wp+c.PadW]) // the rows above, the first row's left
		for h := range c.H {
			start := (h+c.PadH)*wp + c.PadW
			copy(plane[start:start+c.W], in[(ci*c.H+h)*c.W:][:c.W])
			next := start + c.W + 2*c.PadW // the next row's first element
			if h == c.H-1 {
				next = len(plane) // the last row's right, the rows below
			}
			clear(plane[start+c.W : next])
		}
	}
}

// gemmGrid is gemm for C (m×n, row stride n) = A (row stride k = taps) ·
// col, col packed from the padded input src by packGrid, whose columns
// from cols on read as zeros (a C rounded up to whole tiles). A has m
// rows, or fewer: packA pads a sliver's missing rows with zeros.
func gemmGrid[T float32 | float64](g *gemmKernel[T], c Conv, m, n, cols int, a, src, out []T, work []T) {
	k := c.taps()
	rows := min(m, len(a)/k)
	// B's blocks as wide as for many rows, not one sliver (layout's few
	// rows case): packGrid packs a block with a call of the packing
	// assembly per run of taps, whose cost a sliver of 32 columns would
	// not cover. GemmWork bounds this block too.
	kc, mb, _, _ := g.layout(m, n, k)
	nb := blockSize(n, g.nb, g.nr)
	aPack, bPack, tile := g.carve(kc, mb, nb, work)
	for i0 := 0; i0 < m; i0 += mb {
		mc := min(mb, m-i0)
		for p0 := 0; p0 < k; p0 += kc {
			pc := min(kc, k-p0)
			g.packA(aPack, false, a, k, i0, min(mc, rows-i0), p0, pc)
			for j0 := 0; j0 < n; j0 += nb {
				nc := min(nb, n-j0)
				g.packGrid(bPack, c, src, p0, pc, j0, nc, min(nc, cols-j0))
				g.block(aPack, bPack, tile, mc, nc, pc, out[i0*n+j0:], n, p0 > 0)
			}
		}
	}
}

// gridRow is the offset in the padded input of tap t's row of col, and the
// taps from t on in the same run of rows lds apart: the rest of t's
// kernel row (DilW apart), or for a 1×1 kernel every channel from t on
// (a plane apart).
func (c Conv) gridRow(t int) (off, run, lds int) {
	hp, wp := c.H+2*c.PadH, c.W+2*c.PadW
	ci, r, s := t/(c.R*c.S), t/c.S%c.R, t%c.S
	off = ci*hp*wp + r*c.DilH*wp + s*c.DilW
	if c.R == 1 && c.S == 1 {
		return off, c.C/c.Groups - t, hp * wp
	}
	return off, c.S - s, c.DilW
}

// gridRows yields each tap t of c's im2col matrix with the offset of its
// row in the padded input (hp×wp planes), as gridRow's.
func (c Conv) gridRows(hp, wp int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		t := 0
		for ci := range c.C / c.Groups {
			for r := range c.R {
				base := ci*hp*wp + r*c.DilH*wp
				for s := range c.S {
					if !yield(t, base+s*c.DilW) {
						return
					}
					t++
				}
			}
		}
	}
}

// packGrid is packB for rows p0..p0+pc and columns j0..j0+nc of col, read
// from the padded input src: dst[s*pc + p*nr + j] = col[p0+p][j0+s+j], in
// slivers of nr columns, the columns from j0+read on (past the grid) and
// the last sliver's missing ones zero.
func (g *gemmKernel[T]) packGrid(dst []T, c Conv, src []T, p0, pc, j0, nc, read int) {
	nr := g.nr
	if read < nc { // whole slivers past the grid: zeros
		clear(dst[roundUp(max(read, 0), nr)*pc : roundUp(nc, nr)*pc])
		nc = max(read, 0)
	}
	if nc == 0 {
		return
	}
	for t := p0; t < p0+pc; {
		off, run, lds := c.gridRow(t)
		count := min(run, p0+pc-t)
		from := off + j0
		_ = src[from+(count-1)*lds+nc-1] // the assembly reads count rows of nc, lds apart
		d := dst[(t-p0)*nr:]
		if g.packRows != nil {
			g.packRows(&src[from], lds, nc, &d[0], nr, nr*pc, count)
		} else {
			for i := range count {
				row := src[from+i*lds:][:nc]
				for sl := 0; sl < nc; sl += nr {
					cols := min(nr, nc-sl)
					sliver := d[sl*pc+i*nr:][:nr]
					copy(sliver, row[sl:sl+cols])
					clear(sliver[cols:])
				}
			}
		}
		t += count
	}
}

// gridInputGrad sets dx (one sample's group of input channels) to the
// gradient from dy (its K/Groups channels) by col2im on the grid: the
// gradient's im2col rows, Wᵀ·dy for dy laid on the grid (zero in its extra
// columns), a chunk of grid positions at a time, each added to the padded
// dx from its tap's offset on as one slice; then dx is the padded one's
// middle. For few input channels, where the transposed convolution's
// product would have as few rows.
func (cg convGemm[T]) gridInputGrad(c Conv, dx, dy, wg []T, work []T) {
	hp, wp, n := c.gridDims()
	P, Q := c.P(), c.Q()
	kg, taps, chunk := c.K/c.Groups, c.taps(), c.gridChunk()
	a := arena[T]{work}
	grid := dy
	if wp != Q {
		grid = a.take(kg * n)
		layOnGrid(grid, dy, kg, n, n, P, Q, wp)
	}
	dxp := dx
	if c.padded() {
		dxp = a.take(c.C / c.Groups * hp * wp)
	}
	clear(dxp)
	col := a.take(taps * chunk)
	for j0 := 0; j0 < n; j0 += chunk {
		nc := min(chunk, n-j0)
		cg.gemm(cg.ks, true, false, taps, nc, kg, wg, taps, grid[j0:], n, col, nc, false, a.rest)
		for t, off := range c.gridRows(hp, wp) {
			cg.v.axpy(1, col[t*nc:][:nc], dxp[off+j0:][:nc])
		}
	}
	if c.padded() {
		for ci := range c.C / c.Groups {
			for h := range c.H {
				copy(dx[(ci*c.H+h)*c.W:][:c.W], dxp[(ci*hp+h+c.PadH)*wp+c.PadW:][:c.W])
			}
		}
	}
}

// layOnGrid lays rows channels of P×Q out on the grid (row stride wp, n
// positions per channel, ld apart), zero in the extra columns and from n
// to ld.
func layOnGrid[T nnrt.Float](grid, y []T, rows, n, ld, P, Q, wp int) {
	for k := range rows {
		for p := range P {
			row := grid[k*ld+p*wp:]
			copy(row[:Q], y[(k*P+p)*Q:][:Q])
			if p < P-1 {
				clear(row[Q:wp])
			}
		}
		clear(grid[k*ld+n : (k+1)*ld])
	}
}

// flip writes one group's weights [K/Groups][C/Groups][R][S] as the
// transposed convolution's [C/Groups][K/Groups][R][S], each kernel turned
// by half a turn.
func flip[T nnrt.Float](c Conv, dst, w []T) {
	kg, cgs, rs := c.K/c.Groups, c.C/c.Groups, c.R*c.S
	for k := range kg {
		for ci := range cgs {
			src, d := w[(k*cgs+ci)*rs:][:rs], dst[(ci*kg+k)*rs:][:rs]
			for i, v := range src {
				d[rs-1-i] = v
			}
		}
	}
}

// dotBlocks reports whether c's float32 weight gradient runs on the
// dot-product blocks (dotBlocks32, AVX-512): on the grid, a weight of at
// most dotBlocksMax elements per group, over dotBlocksMin positions or
// more.
func (cg convGemm[T]) dotBlocks(c Conv) bool {
	var zero T
	_, _, n := c.gridDims()
	return unsafe.Sizeof(zero) == 4 && cg.ks.dotBlocks32 && c.onGrid() &&
		c.K/c.Groups*c.taps() <= dotBlocksMax && n >= dotBlocksMin
}

// dotSamples is the most samples whose dy and padded input dotWeightGrad
// lays out at once (the blocks sum each weight's products over them
// before adding their lanes, once): up to 16, as many as fit in 128 KiB
// of float32 (in the L2 with the rest). LeNet-5's second layer (136
// positions: its 8.5 vectors cost as much as the sums of the 24
// accumulators' lanes) 0.52 -> 0.31 ms.
func (c Conv) dotSamples() int {
	hp, wp, n := c.gridDims()
	if n >= 512 {
		// Long dot products: the lanes' sums are a small part of the
		// work, and one sample's rows stay in the L1 between their copy
		// and their products (LeNet-5's first layer: 0.19 ms one by one,
		// 0.24 five at a time).
		return 1
	}
	per := c.K/c.Groups*c.gridDepth() + c.C/c.Groups*hp*wp
	return max(1, min(16, convChunk/per))
}

// dotWorkSize is dotWeightGrad's work: dotSamples samples' dy on the
// grid and padded inputs.
func (c Conv) dotWorkSize() int {
	hp, wp, _ := c.gridDims()
	return lines(c.dotSamples()*c.K/c.Groups*c.gridDepth(), c.dotSamples()*c.C/c.Groups*hp*wp)
}

// dotWeightGrad sets dw's rows ka..kb (output channels of group g) to
// the weight gradient over every sample by the dot-product blocks: per
// dotSamples, dy laid on the grid and the inputs padded, side by
// side, then for every 8 rows and up to 3 taps of a kernel row one call
// that sums over those samples, reading the rows where they lie.
func (cg convGemm[T]) dotWeightGrad(c Conv, g, ka, kb int, dw, dy, x []T, work []T) {
	hp, wp, n := c.gridDims()
	P, Q := c.P(), c.Q()
	pq, hw := P*Q, c.H*c.W
	cgs, taps, depth := c.C/c.Groups, c.taps(), c.gridDepth()
	rows := kb - ka
	f32 := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
	a := arena[T]{work}
	chunk := c.dotSamples()
	grids := a.take(chunk * rows * depth)
	srcs := a.take(chunk * cgs * hp * wp)
	dw32 := f32(dw)
	clear(dw32)
	for s0 := 0; s0 < c.N; s0 += chunk {
		ns := min(chunk, c.N-s0)
		for s := range ns {
			sample := s0 + s
			layOnGrid(grids[s*rows*depth:][:rows*depth], dy[(sample*c.K+ka)*pq:][:rows*pq], rows, n, depth, P, Q, wp)
			if c.padded() {
				pad(c, srcs[s*cgs*hp*wp:][:cgs*hp*wp], x[(sample*c.C+g*cgs)*hw:][:cgs*hw])
			}
		}
		g32 := f32(grids)
		s32, sb := f32(srcs), cgs*hp*wp
		if !c.padded() { // the samples' inputs where they lie
			s32, sb = f32(x[(s0*c.C+g*cgs)*hw:][:((ns-1)*c.C+cgs)*hw]), c.C*hw
		}
		for i0 := 0; i0 < rows; i0 += 8 {
			r := min(8, rows-i0)
			for t := 0; t < taps; {
				off, run, lds := c.gridRow(t)
				cols := min(run, 3)
				_ = s32[(ns-1)*sb+off+(cols-1)*lds+n-1] // the blocks read cols rows of n, lds apart, per sample
				_ = g32[(ns-1)*rows*depth+(i0+r-1)*depth+n-1]
				dotBlocks32[r-1][cols-1](&g32[i0*depth], depth, &s32[off], lds, n, &dw32[i0*taps+t], taps, ns, rows*depth, sb)
				t += cols
			}
		}
	}
}

// gridWeightGrad sets dw (rows output channels of a group), or adds to it
// when accumulate, one sample's Σ_j dy[k][j]·col[t][j], on the grid: dy
// copied onto the grid (zero in the extra columns), col's rows copied
// from the padded input a chunk of positions at a time.
func (cg convGemm[T]) gridWeightGrad(c Conv, dw, dy, in []T, rows int, accumulate bool, work []T) {
	hp, wp, n := c.gridDims()
	P, Q := c.P(), c.Q()
	taps, chunk, depth := c.taps(), c.gridChunk(), c.gridDepth()
	a := arena[T]{work}
	src := in
	if c.padded() {
		src = a.take(c.C / c.Groups * hp * wp)
		pad(c, src, in)
	}
	grid := dy
	if wp != Q || depth != n {
		grid = a.take(rows * depth)
		layOnGrid(grid, dy, rows, n, depth, P, Q, wp)
	}
	if rows*taps <= dotsMax {
		// A weight of a few hundred elements: each its own dot product of
		// dy's grid row with its tap's row of the padded input, read where
		// they lie; the GEMM would transpose both into its packed blocks
		// to make a tile or two.
		for t, off := range c.gridRows(hp, wp) {
			cols := src[off:][:n]
			for k := range rows {
				d := cg.v.dot(grid[k*depth:][:n], cols)
				if accumulate {
					d += dw[k*taps+t]
				}
				dw[k*taps+t] = d
			}
		}
		return
	}
	col := a.take(taps * chunk)
	for j0 := 0; j0 < depth; j0 += chunk {
		nc := min(chunk, depth-j0)
		inside := min(nc, n-j0) // the rest of the depth, to a multiple of 16, is zeros
		for t, off := range c.gridRows(hp, wp) {
			row := col[t*nc:][:nc]
			copy(row, src[off+j0:][:inside])
			clear(row[inside:])
		}
		cg.gemm(cg.ks, false, true, rows, taps, nc, grid[j0:], depth, col, nc, dw, taps, accumulate || j0 > 0, a.rest)
	}
}
