package kernels

import "unsafe"

// ntKernel multiplies by the transpose of a row-major matrix without
// packing it: C = A·Bᵀ for A m×k and B n×k, the product of a forward pass
// (a batch of m rows times the n×k weights of a layer). The general GEMM
// packs op(B) = Bᵀ into column slivers, a transpose of all n·k weights on
// every call, since the weights change with every step; for a batch
// smaller than the layer that transpose was a quarter of the forward pass.
// Here the roles are swapped, Cᵀ = B·Aᵀ: the micro-kernel broadcasts B's
// elements from its rows where they lie, against the batch packed as
// slivers of Aᵀ (a transpose of the m·k inputs instead), and stores its
// tile transposed into C.
//
// The loops, outermost first:
//
//	depth k in blocks of ≤ kc: pack Aᵀ (kc×m) into 32-column slivers
//	  rows of B in blocks of 8 (8×kc, stays in L1)
//	    each Aᵀ sliver (kc×32, streams from L2): micro-kernel on an 8×32 tile of Cᵀ
//
// Element (i, j) of C sums its products in k order within each kc block
// and adds each block's sum to C, as the general GEMM does with the same
// kc: the two give bit-identical results.
type ntKernel struct {
	kc    int // depth per block, as the general GEMM's
	micro func(k int, a *float32, lda int, b, c *float32, ldc int, load bool, cols, lanes int)
	pack  gemmKernel[float32] // nr = ntCols: packs the slivers of Aᵀ
}

// The micro-kernel's tile: ntRows rows of B (outputs) by ntCols rows of A
// (the batch).
const ntRows, ntCols = 8, 32

// nt reports whether Gemm32 computes an m×n×k product by ntKernel: for
// A·Bᵀ (transA false, transB true) with a batch (m) of more than ntCols/2
// and at most fewRows, smaller than the layer (n), so that transposing the
// batch moves less than transposing the weights would. Up to 16 rows the
// kernel's 32 columns are mostly padding, and the general GEMM with its
// 8-row kernel is faster despite the transpose: measured on AVX-512, one
// core, µs per product (general 8-row / transpose-free): 784-128, 7 rows
// 17 / 32, 16 rows 24 / 33, 24 rows 32 / 33, 32 rows 41 / 33; 512-512, 7
// rows 47 / 83, 16 rows 65 / 82, 24 rows 87 / 84. Measured on AVX-512, one core, the
// same process alternating both ways 40 times (median): the 784-128-10
// batch 32 forward pass 19% faster, its train step 9%; 784-512-512-10
// batch 64 6% and 3%. With 256 rows the general GEMM was faster (W4's
// forward pass 11% slower this way, median: the weights' transpose is
// shared by more rows), so bigger batches keep it.
func (ks *kernelSet) nt(transA, transB bool, m, n, k int) bool {
	return ks.snt.micro != nil && !transA && transB && k > 0 && m > ntCols/2 && m <= fewRows && m < n
}

// layout returns the depth block and the work (elements) for an m×n×k
// product: the packed Aᵀ block and an ntRows-row block of B copied at the
// edge or from an aliased stride (gemmNT), each on a
// cache line, plus the slack to align the first.
func (g *ntKernel) layout(m, k int) (kc, need int) {
	if m <= 0 || k <= 0 {
		return 0, 0
	}
	line := cacheLine / 4
	kc = blockSize(k, g.kc, max(g.pack.packW, 1))
	need = line + roundUp(kc*roundUp(m, ntCols), line) + ntRows*(kc+ntPad)
	return kc, need
}

// workBound is the most work that layout asks for any product of at most
// m rows and depth k (see gemmKernel.workBound); the kernel takes at most
// fewRows rows.
func (g *ntKernel) workBound(m, k int) int {
	if m <= 0 || k <= 0 {
		return 0
	}
	line := cacheLine / 4
	kc := roundUp(min(k, g.kc), max(g.pack.packW, 1))
	return line + roundUp(kc*roundUp(min(m, fewRows), ntCols), line) + ntRows*(kc+ntPad)
}

// ntPad pads the rows of the copied B block so that they do not share an
// L1 set: 16 elements, a cache line.
const ntPad = 16

// aliased reports whether rows ld float32s apart map to the same set of
// the L1 data cache (48 KiB, 12 ways, 64 sets of 64-byte lines: a stride
// that is a multiple of 4 KiB). The micro-kernel reads 8 rows at once,
// as many lines of one set, next to the other operands' lines: the kernel
// reads a copy of such a block instead.
func aliased(ld int) bool { return ld*4%4096 == 0 }

// gemmNT is Gemm32 for transA false, transB true by ntKernel. The caller
// has checked the sizes and slices.
func gemmNT(g *ntKernel, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, work []float32) {
	kc, need := g.layout(m, k)
	if len(work) < need {
		panicWork(len(work), need)
	}
	line := cacheLine / 4
	skip := int(uintptr(unsafe.Pointer(&work[0]))%cacheLine) / 4
	if skip > 0 {
		skip = line - skip
	}
	w := work[skip:need]
	aPack := w[:kc*roundUp(m, ntCols)]
	edge := w[roundUp(len(aPack), line):][:ntRows*(kc+ntPad)]

	for p0 := 0; p0 < k; p0 += kc {
		pc := min(kc, k-p0)
		load := accumulate || p0 > 0
		g.pack.packB(aPack, true, a, lda, p0, pc, 0, m) // op(B) = Aᵀ
		for i0 := 0; i0 < n; i0 += ntRows {
			rows := min(ntRows, n-i0)
			rb, ld := &b[i0*ldb+p0], ldb
			if rows < ntRows || aliased(ldb) {
				// Copied: the last rows of B, padded with zero rows, or
				// rows whose stride puts them all in one set of the L1.
				ld = pc + ntPad
				for r := range ntRows {
					dst := edge[r*ld:][:pc]
					if r < rows {
						copy(dst, b[(i0+r)*ldb+p0:][:pc])
					} else {
						clear(dst)
					}
				}
				rb = &edge[0]
			}
			for j0 := 0; j0 < m; j0 += ntCols {
				g.micro(pc, rb, ld, &aPack[j0*pc], &c[j0*ldc+i0], ldc, load, min(ntCols, m-j0), rows)
			}
		}
	}
}
