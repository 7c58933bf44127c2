package kernels

// Small products (a few hundred to some 64K multiply-adds, depth within
// one kc block: the layers of small networks) spend more in the general
// GEMM's packing, edge tiles and block loops than in arithmetic: an
// 8-32-16-1 network at batch 16 ran its products at about 15 GFLOP/s on
// AVX-512. gemmSmall runs them on tiles that read op(A) and B where they
// lie (strided broadcasts of A, rows of B as vectors, the last columns
// under a mask), so nothing is packed; only op(B) = Bᵀ (a forward pass's
// weights) is first transposed into work. Each element of C sums its
// products in k order from zero and then adds to C, as the general GEMM
// does within one kc block: the two give bit-identical results.

// smallTile computes one tile of a small product: see genSmallGemm in
// _gen/asmgen.go.
type smallTile struct {
	rows int
	f    func(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)
}

// smallTiles32 is a kernel set's small-product routines: per count of
// 16-column vectors less one, the tiles, the most rows first and 1 row
// last; and the transpose of a block of at most 16×16.
type smallTiles32 struct {
	tiles     [4][]smallTile
	transpose func(src *float32, lds, rows, cols int, dst *float32, ldd int)
}

// smallMax is the most multiply-adds of a product that gemmSmall takes.
var smallMax = 64 * 1024

// small reports whether gemm32 computes an m×n×k product by gemmSmall:
// a kernel set with the tiles, a small product, depth within one kc block
// (so that it sums as the general GEMM), and for op(B) = Bᵀ room in work
// for the transposed copy. Work shorter than the general GEMM would need
// panics all the same, so that a model's workspace does not depend on the
// path.
func (ks *kernelSet) small(transA, transB bool, m, n, k int, work []float32) bool {
	if ks.small32 == nil || m <= 0 || n <= 0 || k <= 0 || m*n*k > smallMax || k > ks.sgemm.kc {
		return false
	}
	if len(work) < smallWorkBound(m, n, k) {
		if need := ks.work32(transA, transB, m, n, k); len(work) < need {
			panicWork(len(work), need)
		}
	}
	return !transB || n*k <= len(work)
}

// smallWorkBound is at least the work that the AVX-512 set's general GEMM
// (either kernel, or the transpose-free one) asks for an m×n×k product of
// depth k ≤ kc, without layout's divisions, which cost a small product
// more than its checks should: kc ≤ k+15, mb ≤ m+13, nb ≤ n+32, the
// transpose-free kernel's Aᵀ block (k+15)·(m+31) and B block 8·(k+31),
// each rounded to a cache line, plus the alignment and an edge tile.
func smallWorkBound(m, n, k int) int {
	return (k+15)*(m+n+63) + 8*(k+31) + 512
}

// gemmSmall computes C = op(A)·op(B), or C += when accumulate, as Gemm32,
// with the tiles t; work holds Bᵀ's transpose when transB. Then it adds
// bias (n long, unless nil) to every row of C and applies relu when asked,
// as GemmBias32.
func gemmSmall(t *smallTiles32, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, bias []float32, relu bool, work []float32) {
	if transB && !transA && n == 1 && ldc == 1 && m*k <= len(work) {
		gemmSmallColumn(t, m, k, a, lda, b, c, accumulate, bias, relu, work)
		return
	}
	rsA, csA := lda, 1
	if transA {
		rsA, csA = 1, lda
	}
	if transB {
		b, ldb = t.transposeInto(work, b, ldb, n, k), n
	}
	for j0 := 0; j0 < n; j0 += 64 {
		cols := min(64, n-j0)
		tiles := t.tiles[(cols-1)/16]
		var bp *float32
		if bias != nil {
			bp = &bias[j0]
		}
		for i := 0; i < m; {
			tile := tiles[len(tiles)-1]
			for _, tt := range tiles {
				if tt.rows <= m-i {
					tile = tt
					break
				}
			}
			tile.f(k, &a[i*rsA], rsA, csA, &b[j0], ldb, &c[i*ldc+j0], ldc, cols, accumulate, bp, relu)
			i += tile.rows
		}
	}
}

// transposeInto writes the transpose of the rows×cols matrix src (row
// stride lds) into work as cols rows of rows, and returns that part of
// work.
func (t *smallTiles32) transposeInto(work, src []float32, lds, rows, cols int) []float32 {
	dst := work[:rows*cols]
	for i := 0; i < rows; i += 16 {
		for p := 0; p < cols; p += 16 {
			t.transpose(&src[i*lds+p], lds, min(16, rows-i), min(16, cols-p), &dst[p*rows+i], rows)
		}
	}
	return dst
}

// gemmSmallColumn is gemmSmall for x·wᵀ of one output (n = 1, a regression
// head), C a column of m: the tiles would use one lane in 16, so it
// computes the row Cᵀ = w·xᵀ instead, x transposed into work, w's row
// broadcast: the same products summed in the same order, so the same
// bits. The bias (one number) and relu follow in Go, rounding as
// AddBias32 and AddBiasReLU32.
func gemmSmallColumn(t *smallTiles32, m, k int, a []float32, lda int, b []float32, c []float32, accumulate bool, bias []float32, relu bool, work []float32) {
	at := t.transposeInto(work, a, lda, m, k)
	for j0 := 0; j0 < m; j0 += 64 {
		cols := min(64, m-j0)
		tiles := t.tiles[(cols-1)/16]
		oneRow := tiles[len(tiles)-1]
		oneRow.f(k, &b[0], 0, 1, &at[j0], m, &c[j0], m, cols, accumulate, nil, false)
	}
	if bias == nil {
		return
	}
	for i := range c[:m] {
		v := c[i] + bias[0]
		if relu && v < 0 {
			v = 0
		}
		c[i] = v
	}
}
