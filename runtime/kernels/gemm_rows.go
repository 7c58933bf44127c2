package kernels

import "github.com/nngen/nngen/runtime/nnrt"

// rowsDotMax and rowsAxpyMax are the most rows of a product C = A·op(B)
// (A not transposed) that Gemm computes row by row with the vector kernels
// (gemmRows) instead of the tiled ones, for B transposed (X·Wᵀ, a forward
// pass: dot products) and not (dY·W, a backward pass: rows of B added).
// The tiled kernels' cost hardly falls below a full tile of rows (8 or
// 14), with B packed for them; row by row, each row reads B once, as
// vectors, and costs its own work only. Measured on AVX-512, one core, µs
// per product (BenchmarkGemmFewRows; row by row / tiled, the 8-row
// kernel): X·Wᵀ 784-128, 1 row 3.6 / 16, 3 rows 10 / 16, 4 rows 14 / 16, 6
// rows 21 / 17; 512-512, 1 row 13 / 45, 3 rows 41 / 45, 4 rows 52 / 45;
// dY·W 512-512, 1 row 15 / 38, 2 rows 30 / 41, 3 rows 42 / 39.
var rowsDotMax, rowsAxpyMax = 3, 2

// rowByRow reports whether Gemm computes an m-row product by gemmRows.
func rowByRow(transA, transB bool, m, k int) bool {
	if transA || k == 0 {
		return false
	}
	if transB {
		return m <= rowsDotMax
	}
	return m <= rowsAxpyMax
}

// gemmRows computes C = A·op(B), or C += A·op(B) when accumulate, for A
// not transposed, row by row: with B transposed, each element is the dot
// product of A's row and B's (C[i][j] = A[i]·B[j]); else each row of C
// adds B's rows scaled by its row of A (C[i] = Σ_p A[i][p]·B[p]). The
// sums run in another order than the tiled kernels': the results may
// differ from theirs in the last bits.
func gemmRows[T nnrt.Float](v *vecSet[T], transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, accumulate bool) {
	for i := range m {
		row, x := c[i*ldc:][:n], a[i*lda:][:k]
		if transB {
			for j := range row {
				d := v.dot(x, b[j*ldb:][:k])
				if accumulate {
					d += row[j]
				}
				row[j] = d
			}
			continue
		}
		if !accumulate {
			clear(row)
		}
		for p, alpha := range x {
			v.axpy(alpha, b[p*ldb:][:n], row)
		}
	}
}
