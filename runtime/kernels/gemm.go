package kernels

//go:generate go run ./_gen

import (
	"fmt"
	"unsafe"
)

// The GEMM is blocked and packed in the manner of GotoBLAS and BLIS, with
// the loops, outermost first:
//
//	rows of op(A) in blocks of ≤ mb
//	  depth k in blocks of ≤ kc:       pack op(A) block into mr-row slivers
//	    columns of op(B) in blocks ≤ nb: pack op(B) block into nr-column slivers
//	      each A sliver (mr×kc, stays in L1)
//	        each B sliver (kc×nr, streams from L2): micro-kernel on an mr×nr tile of C
//
// Packing makes every micro-kernel read contiguous memory and absorbs the
// transposes, so all four (transA, transB) combinations run the same
// kernel. Slivers at the edges are padded with zeros to full mr or nr; the
// kernel then writes its full tile into a scratch tile, and only the part
// inside C is stored or added.
//
// Summation order: element (i, j) of C is, for each kc block of depth in
// turn, the kernel's sum over that block (in k order) added to C. It depends
// on k and kc only, not on where (i, j) sits in a tile or block, so any
// split of C's rows or columns (the Pool's) gives bit-identical results.

// gemmKernel is a micro-kernel with its tile shape and blocking limits.
type gemmKernel[T float32 | float64] struct {
	mr, nr int // the tile of C held in registers
	kc     int // most depth per packed panel: an mr×kc sliver of A fits in L1
	mb     int // most rows of op(A) packed at once; a multiple of mr
	nb     int // most columns of op(B) packed at once (kc×nb in L2); a multiple of nr
	// micro sets the mr×nr tile at c (row stride ldc) to A·B, or adds A·B to
	// it when load, for A an mr×k sliver packed column by column and B a
	// k×nr sliver packed row by row.
	micro func(k int, a, b, c *T, ldc int, load bool)
	// microRows, where the set has one, is micro for a sliver of A read
	// where it lies: mr rows of k elements, lda apart (see gemm).
	microRows func(k int, a *T, lda int, b, c *T, ldc int, load bool)

	// Packing in assembly, nil in the generic set. packTranspose writes
	// each of blocks packW×packW blocks side by side in src (rows rows,
	// stride lds; missing rows read as zeros) as packW rows of dst (stride
	// ldd) of lanes elements each, the block's columns, prefetching the
	// rows ahead elements further on. packRows packs count rows of n
	// elements (stride lds) into slivers of width ≤ 2·packW columns, the
	// sliver s of row p at dst[s*stride+p*width:], zero-padded.
	packW         int
	packTranspose func(src *T, lds, rows int, dst *T, ldd, lanes, blocks, ahead int)
	packRows      func(src *T, lds, n int, dst *T, width, stride, count int)
}

// blockSize splits n into the fewest blocks of at most limit and returns
// their common size, rounded up to a multiple of unit (limit is one).
// Equal blocks avoid a thin last block: k = 300 with kc = 256 and unit 16
// gives blocks of 160 and 140, not 256 and 44.
func blockSize(n, limit, unit int) int {
	if n <= limit { // one block: no divisions (a small product's layout is on its every call)
		return roundUp(n, unit)
	}
	blocks := (n + limit - 1) / limit
	return roundUp((n+blocks-1)/blocks, unit)
}

// roundUp is n rounded up to a multiple of unit: by a mask for a power of
// two (every unit but the 14-row kernel's), whose division would cost
// more than a small product's other checks.
func roundUp(n, unit int) int {
	if unit&(unit-1) == 0 {
		return (n + unit - 1) &^ (unit - 1)
	}
	return (n + unit - 1) / unit * unit
}

// fewRows is the most rows of a product whose B is packed one nr-column
// sliver at a time (nb = nr). Each packed element of B then serves m/mr ≤ 8
// A slivers whatever nb is, so a wide B block buys no reuse; packing one
// sliver keeps it in L1 as the A slivers stream past, and keeps the
// workspace to the A block (a batch of rows) and one sliver. Measured on
// AVX-512, one core: no slower (784-512-512-10 batch 64, forward pass 2%
// faster, best of 9 alternating runs), and the 784-128-10 batch 32
// model's workspace 141 KiB -> 62 KiB.
const fewRows = 64

// cacheLine is the alignment of the packed buffers in work.
const cacheLine = 64

// layout returns the block sizes for an m×n×k product and the elements of
// work it needs: the packed A block, the packed B block and the edge tile,
// each starting on a cache line, plus the slack to align the first.
func (g *gemmKernel[T]) layout(m, n, k int) (kc, mb, nb, need int) {
	if m <= 0 || n <= 0 || k <= 0 {
		return 0, 0, 0, 0
	}
	var zero T
	line := cacheLine / int(unsafe.Sizeof(zero))
	// Depth blocks in whole packW columns, where k allows, so the
	// assembly transposes pack them all (the Go tail only for a k that
	// is not a multiple of packW): k = 784 is 208+208+208+160, not 4·196.
	kc = blockSize(k, g.kc, max(g.packW, 1))
	mb = blockSize(m, g.mb, g.mr)
	nb = blockSize(n, g.nb, g.nr)
	if m <= fewRows {
		nb = g.nr
	}
	need = line + roundUp(mb*kc, line) + roundUp(kc*nb, line) + g.mr*g.nr
	return kc, mb, nb, need
}

// GemmWork32 is the length of a work slice that serves Gemm32 for every
// product of at most m rows, n columns and depth k, with any kernel set: a
// model sizes its workspace for its largest batch and runs smaller ones in
// it. It never decreases as m, n or k grow, up to a bound set by the block
// sizes (a few MiB).
func GemmWork32(m, n, k int) int {
	most := 0
	for _, ks := range kernelSets {
		// Every kernel that some smaller product may take: the main one,
		// the 8-row one and the transpose-free one for A·Bᵀ.
		most = max(most, ks.sgemm.workBound(m, n, k))
		if ks.sgemm8.micro != nil {
			most = max(most, ks.sgemm8.workBound(m, n, k))
		}
		if ks.snt.micro != nil {
			most = max(most, ks.snt.workBound(m, k))
		}
	}
	return most
}

// GemmWork64 is GemmWork32 for Gemm64.
func GemmWork64(m, n, k int) int {
	most := 0
	for _, ks := range kernelSets {
		most = max(most, ks.dgemm.workBound(m, n, k))
	}
	return most
}

// workBound is the most work that layout asks for any product of at most
// m×n×k: each block at the largest size its bounds allow, since
// blockSize(x, limit, unit) ≤ roundUp(min(x, limit), unit), which grows
// with x (blockSize itself does not: k = 257 splits into two blocks of
// 129, smaller than k = 256's one).
func (g *gemmKernel[T]) workBound(m, n, k int) int {
	if m <= 0 || n <= 0 || k <= 0 {
		return 0
	}
	var zero T
	line := cacheLine / int(unsafe.Sizeof(zero))
	kc := roundUp(min(k, g.kc), max(g.packW, 1))
	mb := roundUp(min(m, g.mb), g.mr)
	nb := roundUp(min(n, g.nb), g.nr) // at least nr, the few-rows case's
	return line + roundUp(mb*kc, line) + roundUp(kc*nb, line) + g.mr*g.nr
}

// Gemm32 computes C = op(A)·op(B), or C += op(A)·op(B) when accumulate, all
// row-major: op(A) is m×k (A stored m×k with row stride lda, or k×m when
// transA), op(B) is k×n (B stored k×n with row stride ldb, or n×k when
// transB), C is m×n with row stride ldc. work must hold at least
// GemmWork32(m, n, k) elements; its contents on entry do not matter. Gemm32
// allocates nothing. It panics on negative sizes, strides shorter than a
// row, slices too short for their matrices, or work too short.
func Gemm32(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, work []float32) {
	gemm32(current(), transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, work)
}

// gemm32 is Gemm32 with the kernel set ks.
func gemm32(ks *kernelSet, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, work []float32) {
	gemmBias32(ks, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, nil, false, work)
}

// gemmBias32 is Gemm32 with the kernel set ks, followed by GemmBias32's
// epilogue unless bias is nil: row by row for few rows (gemmRows), the
// small-product tiles (gemmSmall, which apply the epilogue in registers),
// the transpose-free kernel for X·Wᵀ where it applies (ntKernel), else the
// general GEMM with the kernel for m rows.
func gemmBias32(ks *kernelSet, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, bias []float32, relu bool, work []float32) {
	switch {
	case rowByRow(transA, transB, m, k):
		checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemmRows(&ks.v32, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	case ks.small(transA, transB, m, n, k, work):
		checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemmSmall(ks.small32, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, bias, relu, work)
		return
	case ks.nt(transA, transB, m, n, k):
		checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemmNT(&ks.snt, m, n, k, a, lda, b, ldb, c, ldc, accumulate, work)
	default:
		gemm(ks.sgemmFor(m), transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, work)
	}
	if bias != nil {
		biasRows(&ks.v32, m, n, c, ldc, bias, relu)
	}
}

// GemmBias32 computes C = op(A)·op(B) + bias, bias (n long) added to every
// row, and then relu (max with 0, NaN staying NaN) when relu: a linear
// layer with its epilogue, as Gemm32 followed by AddBias32 or
// AddBiasReLU32, and rounding as they do. Small products add the bias and
// apply relu to each tile of C while it is in registers. work as Gemm32's.
func GemmBias32(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, relu bool, work []float32) {
	checkBias(len(bias), n)
	gemmBias32(current(), transA, transB, m, n, k, a, lda, b, ldb, c, ldc, false, bias, relu, work)
}

// GemmBias64 is GemmBias32 for float64; work as Gemm64's.
func GemmBias64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, bias []float64, relu bool, work []float64) {
	ks := current()
	checkBias(len(bias), n)
	gemm64(ks, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, false, work)
	biasRows(&ks.v64, m, n, c, ldc, bias, relu)
}

// checkBias panics unless a bias has one number per column of C.
func checkBias(bias, n int) {
	if bias != n {
		panic(fmt.Sprintf("kernels: bias of %d for %d columns", bias, n))
	}
}

// biasRows adds bias to each of the m rows of c (n wide, stride ldc) and
// applies relu when asked: AddBias or AddBiasReLU, row by row.
func biasRows[T float32 | float64](v *vecSet[T], m, n int, c []T, ldc int, bias []T, relu bool) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if relu {
			v.addBiasReLU(row, bias)
		} else {
			v.addBias(row, bias)
		}
	}
}

// work32 is the workspace gemm32 needs for an m×n×k product with ks.
func (ks *kernelSet) work32(transA, transB bool, m, n, k int) int {
	if ks.nt(transA, transB, m, n, k) {
		_, need := ks.snt.layout(m, k)
		return need
	}
	_, _, _, need := ks.sgemmFor(m).layout(m, n, k)
	return need
}

// Gemm64 is Gemm32 for float64; work must hold GemmWork64(m, n, k).
func Gemm64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, accumulate bool, work []float64) {
	gemm64(current(), transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, work)
}

// gemm64 is Gemm64 with the kernel set ks: row by row for few rows, else
// tiled.
func gemm64(ks *kernelSet, transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, accumulate bool, work []float64) {
	if rowByRow(transA, transB, m, k) {
		checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		gemmRows(&ks.v64, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	gemm(&ks.dgemm, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, work)
}

func gemm[T float32 | float64](g *gemmKernel[T], transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, accumulate bool, work []T) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	kc, mb, nb, aPack, bPack, tile := g.buffers(m, n, k, work)
	// A plain op(A) is read where it lies where the set has a kernel for
	// that: its mr rows side by side are what the kernel broadcasts from,
	// so packing (a transpose of every block) buys nothing but contiguity.
	// Only the last sliver, short of mr rows, is packed (padded with
	// zeros), and every sliver is packed where rows mr·lda apart would
	// crowd into a few sets of the L1 (rowsAlias).
	inPlace := !transA && g.microRows != nil && !rowsAlias(lda)
	for i0 := 0; i0 < m; i0 += mb {
		mc := min(mb, m-i0)
		full := 0 // rows of the block read in place, from rows
		if inPlace {
			full = mc / g.mr * g.mr
		}
		for p0 := 0; p0 < k; p0 += kc {
			pc := min(kc, k-p0)
			load := accumulate || p0 > 0
			var rows []T
			if full > 0 {
				rows = a[i0*lda+p0:]
			}
			if full < mc {
				g.packA(aPack[full*pc:], transA, a, lda, i0+full, mc-full, p0, pc)
			}
			for j0 := 0; j0 < n; j0 += nb {
				nc := min(nb, n-j0)
				g.packB(bPack, transB, b, ldb, p0, pc, j0, nc)
				g.blockRows(rows, lda, full, aPack, bPack, tile, mc, nc, pc, c[i0*ldc+j0:], ldc, load)
			}
		}
	}
}

// rowsAlias reports whether float32 rows ld elements apart leave fewer
// than 4 sets of the L1 (64 sets of 64-byte lines, 4 KiB a way) to a
// kernel's 8 rows read in place: 3 or more of them in one set, beside
// the 8 ways a kc×nr sliver of B holds. Such an A is packed.
func rowsAlias(ld int) bool { return ld*4%2048 == 0 }

// buffers returns the block sizes for an m×n×k product and its packed
// blocks and edge tile in work, each on a cache line; it panics when work
// is too short.
func (g *gemmKernel[T]) buffers(m, n, k int, work []T) (kc, mb, nb int, aPack, bPack, tile []T) {
	kc, mb, nb, _ = g.layout(m, n, k)
	aPack, bPack, tile = g.carve(kc, mb, nb, work)
	return kc, mb, nb, aPack, bPack, tile
}

// carve cuts work into the packed blocks of A (mb×kc) and B (kc×nb) and
// the edge tile, each on a cache line; it panics when work is too short.
func (g *gemmKernel[T]) carve(kc, mb, nb int, work []T) (aPack, bPack, tile []T) {
	var zero T
	line := cacheLine / int(unsafe.Sizeof(zero))
	need := line + roundUp(mb*kc, line) + roundUp(kc*nb, line) + g.mr*g.nr
	if len(work) < need {
		panicWork(len(work), need)
	}
	skip := int(uintptr(unsafe.Pointer(&work[0]))%cacheLine) / int(unsafe.Sizeof(zero))
	if skip > 0 {
		skip = line - skip
	}
	w := work[skip:need]
	aPack = w[:mb*kc]
	w = w[roundUp(mb*kc, line):]
	bPack = w[:kc*nb]
	tile = w[roundUp(kc*nb, line):][:g.mr*g.nr]
	return aPack, bPack, tile
}

// block multiplies a packed mc×kc block of A by a packed kc×nc block of B
// into C, tile by tile.
func (g *gemmKernel[T]) block(aPack, bPack, tile []T, mc, nc, kc int, c []T, ldc int, load bool) {
	g.blockRows(nil, 0, 0, aPack, bPack, tile, mc, nc, kc, c, ldc, load)
}

// blockRows is block with the block's first full rows of A (a multiple of
// mr) read where they lie, from a (row stride lda) by microRows, and the
// rest packed in aPack from sliver full/mr on.
func (g *gemmKernel[T]) blockRows(a []T, lda, full int, aPack, bPack, tile []T, mc, nc, kc int, c []T, ldc int, load bool) {
	mr, nr := g.mr, g.nr
	for i := 0; i < mc; i += mr {
		rows := min(mr, mc-i)
		for j := 0; j < nc; j += nr {
			cols := min(nr, nc-j)
			b := &bPack[j*kc]
			whole := rows == mr && cols == nr
			dst, ld, l := &c[i*ldc+j], ldc, load
			if !whole { // a scratch tile, of which the inside is stored
				dst, ld, l = &tile[0], nr, false
			}
			if i < full {
				g.microRows(kc, &a[i*lda], lda, b, dst, ld, l)
			} else {
				g.micro(kc, &aPack[i*kc], b, dst, ld, l)
			}
			if whole {
				continue
			}
			for r := 0; r < rows; r++ {
				dst := c[(i+r)*ldc+j:][:cols]
				src := tile[r*nr:][:cols]
				if load {
					for x := range dst {
						dst[x] += src[x]
					}
				} else {
					copy(dst, src)
				}
			}
		}
	}
}

// packSlivers is how many slivers packRows fills in one pass over the
// source rows, where a block's slivers are copies of pieces of them (op(A)
// of a transposed A, op(B) of a plain B). A pass reads the pieces of a
// row side by side, whole cache lines, and writes one run of memory per
// sliver, mr·pc or nr·pc elements apart: the whole block at once wrote
// too many runs (for the 8-row kernel at pc = 256, 8 KiB apart, all in one
// set of L1), one sliver at a time read each line of the source twice or
// more. BenchmarkPack, 1024×1024, AVX-512 (AMD EPYC family 26), ns per
// element, all the block's slivers / one / four at a time: a transposed A
// for the 8-row kernel 1.339 / 0.377 / 0.165, for the 14-row 0.427 / 0.248
// / 0.129; a plain B 0.230 / 0.098 / 0.083.
const packSlivers = 4

// packA copies rows i0..i0+mc and columns p0..p0+pc of op(A) into dst as
// slivers of mr rows, each stored column by column (dst[s*pc + p*mr + r] is
// op(A)[i0+s+r][p0+p]), zero-padding the last sliver to mr rows.
func (g *gemmKernel[T]) packA(dst []T, trans bool, a []T, lda, i0, mc, p0, pc int) {
	mr := g.mr
	if trans && g.packRows != nil { // op(A)[i][p] is a[p*lda+i]: the slivers' columns are contiguous
		// packSlivers slivers at a time (see there).
		group := packSlivers * mr
		for s := 0; s < mc; s += group {
			g.packRows(&a[p0*lda+i0+s], lda, min(group, mc-s), &dst[s*pc], mr, mr*pc, pc)
		}
		return
	}
	for s := 0; s < mc; s += mr {
		rows := min(mr, mc-s)
		d := dst[s*pc:][:mr*pc]
		switch {
		case trans:
			for p := 0; p < pc; p++ {
				src, col := a[(p0+p)*lda+i0+s:][:rows], d[p*mr:][:mr]
				for r := range col {
					if r < rows {
						col[r] = src[r]
					} else {
						col[r] = 0
					}
				}
			}
		default: // the sliver's rows are contiguous
			done := 0
			if g.packTranspose != nil {
				done = g.transposeRows(d, mr, rows, a, lda, (i0+s)*lda+p0, pc, mr*lda)
			}
			transposeTail(d[done*mr:], mr, rows, a, lda, (i0+s)*lda+p0+done, pc-done)
		}
	}
}

// packB copies rows p0..p0+pc and columns j0..j0+nc of op(B) into dst as
// slivers of nr columns, each stored row by row (dst[s*pc + p*nr + j] is
// op(B)[p0+p][j0+s+j]), zero-padding the last sliver to nr columns.
func (g *gemmKernel[T]) packB(dst []T, trans bool, b []T, ldb, p0, pc, j0, nc int) {
	nr := g.nr
	if !trans && g.packRows != nil { // the slivers' rows are contiguous
		group := packSlivers * nr // see packSlivers
		for s := 0; s < nc; s += group {
			g.packRows(&b[p0*ldb+j0+s], ldb, min(group, nc-s), &dst[s*pc], nr, nr*pc, pc)
		}
		return
	}
	for s := 0; s < nc; s += nr {
		cols := min(nr, nc-s)
		d := dst[s*pc:][:nr*pc]
		switch {
		case trans: // op(B)[p][j] is b[j*ldb+p]: the sliver's columns are contiguous
			done := 0
			if g.packTranspose != nil {
				done = g.transposeRows(d, nr, cols, b, ldb, (j0+s)*ldb+p0, pc, nr*ldb)
			}
			transposeTail(d[done*nr:], nr, cols, b, ldb, (j0+s)*ldb+p0+done, pc-done)
		default:
			for p := 0; p < pc; p++ {
				src, row := b[(p0+p)*ldb+j0+s:][:cols], d[p*nr:][:nr]
				copy(row, src)
				clear(row[cols:])
			}
		}
	}
}

// transposeRows writes the transpose of n source rows (src[off:], stride
// ld) as rows of width wide in dst, zero-padded, for the longest prefix of
// the pc columns that is whole packW blocks; it returns that prefix. The
// next sliver's rows, ahead elements on, are prefetched meanwhile.
func (g *gemmKernel[T]) transposeRows(dst []T, width, n int, src []T, ld, off, pc, ahead int) int {
	w := g.packW
	blocks := pc / w
	if blocks == 0 {
		return 0
	}
	for r0 := 0; r0 < width; r0 += w {
		rows := min(w, max(n-r0, 0))
		from := off
		if rows > 0 {
			from += r0 * ld
		}
		g.packTranspose(&src[from], ld, rows, &dst[r0], width, min(w, width-r0), blocks, ahead)
	}
	return blocks * w
}

// transposeTail is transposeRows in Go for columns that do not fill a
// block: dst[p*width+r] = src[off+r*ld+p] for r < n, zero for n ≤ r < width.
func transposeTail[T float32 | float64](dst []T, width, n int, src []T, ld, off, pc int) {
	if pc == 0 {
		return
	}
	for r := 0; r < width; r++ {
		if r >= n {
			for p := 0; p < pc; p++ {
				dst[p*width+r] = 0
			}
			continue
		}
		for p, v := range src[off+r*ld:][:pc] {
			dst[p*width+r] = v
		}
	}
}

// checkGemm panics unless the sizes, strides and slice lengths describe
// matrices inside their slices: the assembly kernels index without checks.
func checkGemm(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A", transA, m, k, lenA, lda)
	checkMatrix("B", transB, k, n, lenB, ldb)
	checkMatrix("C", false, m, n, lenC, ldc)
}

// checkMatrix checks an op(X) of rows×cols stored with row stride ld.
func checkMatrix(name string, trans bool, rows, cols, length, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(cols, 1) || rows > 0 && cols > 0 && length < (rows-1)*ld+cols {
		panicMatrix(name, rows, cols, ld, length)
	}
}

//go:noinline
func panicMatrix(name string, rows, cols, ld, length int) {
	panic(fmt.Sprintf("kernels: Gemm: %s is stored %d×%d with row stride %d in a slice of %d: "+
		"the stride must be at least max(1, %d) and the slice at least (rows-1)·stride+cols long",
		name, rows, cols, ld, length, cols))
}

//go:noinline
func panicWork(have, need int) {
	panic(fmt.Sprintf("kernels: Gemm: work has %d elements, needs %d (GemmWork)", have, need))
}
