//go:build amd64 && !noasm

package kernels

// The micro-kernels in gemm_amd64.s; see gemmKernel.micro.

//go:noescape
func sgemmKernelAVX512(k int, a, b, c *float32, ldc int, load bool)

//go:noescape
func sgemmKernel8AVX512(k int, a, b, c *float32, ldc int, load bool)

// sgemmKernel8RowsAVX512 is sgemmKernel8AVX512 with A's 8 rows read where
// they lie, lda elements apart.
//
//go:noescape
func sgemmKernel8RowsAVX512(k int, a *float32, lda int, b, c *float32, ldc int, load bool)

// sgemmKernelNT8AVX512: see ntKernel.
//
//go:noescape
func sgemmKernelNT8AVX512(k int, a *float32, lda int, b, c *float32, ldc int, load bool, cols, lanes int)

//go:noescape
func dgemmKernelAVX512(k int, a, b, c *float64, ldc int, load bool)

//go:noescape
func sgemmKernelAVX2(k int, a, b, c *float32, ldc int, load bool)

//go:noescape
func dgemmKernelAVX2(k int, a, b, c *float64, ldc int, load bool)

// The packing routines in gemm_amd64.s, named by register width and element
// size: packTranspose transposes W×W blocks (W elements per register),
// packRows copies rows into slivers. See gemmKernel.

//go:noescape
func packTransposeZ32(src *float32, lds, rows int, dst *float32, ldd, lanes, blocks, ahead int)

//go:noescape
func packRowsZ32(src *float32, lds, n int, dst *float32, width, stride, count int)

//go:noescape
func packTransposeZ64(src *float64, lds, rows int, dst *float64, ldd, lanes, blocks, ahead int)

//go:noescape
func packRowsZ64(src *float64, lds, n int, dst *float64, width, stride, count int)

//go:noescape
func packTransposeY32(src *float32, lds, rows int, dst *float32, ldd, lanes, blocks, ahead int)

//go:noescape
func packRowsY32(src *float32, lds, n int, dst *float32, width, stride, count int)

//go:noescape
func packTransposeY64(src *float64, lds, rows int, dst *float64, ldd, lanes, blocks, ahead int)

//go:noescape
func packRowsY64(src *float64, lds, n int, dst *float64, width, stride, count int)
