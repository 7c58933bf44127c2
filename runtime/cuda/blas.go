package cuda

import (
	"fmt"
	"os"
	"sync"
)

// GEMM is a matrix product of row-major matrices that cuBLAS computes in
// place of a Kernel's own kernel:
//
//	C[M,N] = Alpha·op(A)[M,K]·op(B)[K,N] + Beta·C
//
// with op transposing A or B as TransA or TransB say, over Batch products
// whose matrices are StrideA, StrideB and StrideC elements apart (a
// stride of 0 reuses one matrix in every product). A, B and C are
// buffers, OffA, OffB and OffC elements into them; LDA, LDB and LDC are
// the row-major leading dimensions, the elements between the starts of
// two stored rows (0: the stored matrix's width).
type GEMM struct {
	TransA, TransB            bool
	M, N, K                   int
	A, B, C                   int
	OffA, OffB, OffC          int
	LDA, LDB, LDC             int
	Batch                     int // 0 or 1: one product
	StrideA, StrideB, StrideC int
	Alpha, Beta               float64
	// Before and Then are the kernels launched before and after the
	// product on the cuBLAS path: what the Kernel's own kernel does beyond
	// it (an im2col before; a bias, an activation after).
	Before, Then []Kernel
}

// blas holds the cuBLAS entry points that nngen uses, with cuBLAS's C
// signatures: cublasStatus_t, cublasOperation_t and int are int32,
// handles opaque, and alpha and beta point to host memory (cuBLAS's
// default pointer mode).
type blas struct {
	name string // the library's name or path, as opened

	cublasCreate              func(handle *uintptr) int32
	cublasDestroy             func(handle uintptr) int32
	cublasSetStream           func(handle, stream uintptr) int32
	cublasSetMathMode         func(handle uintptr, mode int32) int32
	cublasGetStatusString     func(status int32) *byte
	cublasSgemm               func(handle uintptr, transA, transB, m, n, k int32, alpha *float32, a uint64, lda int32, b uint64, ldb int32, beta *float32, c uint64, ldc int32) int32
	cublasDgemm               func(handle uintptr, transA, transB, m, n, k int32, alpha *float64, a uint64, lda int32, b uint64, ldb int32, beta *float64, c uint64, ldc int32) int32
	cublasSgemmStridedBatched func(handle uintptr, transA, transB, m, n, k int32, alpha *float32, a uint64, lda int32, strideA int64, b uint64, ldb int32, strideB int64, beta *float32, c uint64, ldc int32, strideC int64, count int32) int32
	cublasDgemmStridedBatched func(handle uintptr, transA, transB, m, n, k int32, alpha *float64, a uint64, lda int32, strideA int64, b uint64, ldb int32, strideB int64, beta *float64, c uint64, ldc int32, strideC int64, count int32) int32
}

func (b *blas) symbols() []struct {
	name string
	fn   any
} {
	return []struct {
		name string
		fn   any
	}{
		{"cublasCreate_v2", &b.cublasCreate},
		{"cublasDestroy_v2", &b.cublasDestroy},
		{"cublasSetStream_v2", &b.cublasSetStream},
		{"cublasSetMathMode", &b.cublasSetMathMode},
		{"cublasGetStatusString", &b.cublasGetStatusString},
		{"cublasSgemm_v2", &b.cublasSgemm},
		{"cublasDgemm_v2", &b.cublasDgemm},
		{"cublasSgemmStridedBatched", &b.cublasSgemmStridedBatched},
		{"cublasDgemmStridedBatched", &b.cublasDgemmStridedBatched},
	}
}

// check turns a cublasStatus_t into an error naming the call.
func (b *blas) check(call string, status int32) error {
	if status == 0 {
		return nil
	}
	text := cString(b.cublasGetStatusString(status))
	if text == "" {
		text = "unknown status"
	}
	return fmt.Errorf("cuda: %s: %s (cuBLAS status %d)", call, text, status)
}

// cuBLAS's constants.
const (
	cublasOpN         = 0
	cublasOpT         = 1
	cublasDefaultMath = 0 // no TF32 or other reduced precision: float32 products stay float32
)

var (
	blasOnce sync.Once
	blasLib  *blas
	blasErr  error
)

// openBLAS loads cuBLAS once per process, after the driver: NNGEN_CUBLAS=off
// says not to use it, which every Program reads for itself.
func openBLAS() (*blas, error) {
	if v := os.Getenv("NNGEN_CUBLAS"); v == "off" || v == "0" {
		return nil, fmt.Errorf("NNGEN_CUBLAS=%s", v)
	}
	blasOnce.Do(func() { blasLib, blasErr = loadBLAS() })
	return blasLib, blasErr
}

// gemmCall is a GEMM ready for cuBLAS: row-major C = op(A)·op(B) is
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands swap, and the
// pointers, dimensions and scalars are cuBLAS's.
type gemmCall struct {
	name                      string
	transA, transB            int32
	m, n, k                   int32
	a, b, c                   uint64
	lda, ldb, ldc             int32
	strideA, strideB, strideC int64
	batch                     int32
	double                    bool
	alpha32, beta32           float32
	alpha64, beta64           float64
}

// newGEMMCall checks g against the buffers (their sizes in bytes, at
// pointers) and makes its call, for a model of float elements.
func newGEMMCall(name string, g *GEMM, float int, pointers []uint64, bytes []int) (*gemmCall, error) {
	if g.M <= 0 || g.N <= 0 || g.K <= 0 || g.Batch < 0 {
		return nil, fmt.Errorf("cuda: %s: GEMM of %dx%dx%d, batch %d", name, g.M, g.N, g.K, g.Batch)
	}
	batch := max(g.Batch, 1)
	// A row-major operand of rows×cols as stored, its leading dimension,
	// and a check that every product's matrix lies in its buffer.
	operand := func(what string, buf, off, ld, stride, rows, cols int) (uint64, int32, error) {
		if buf < 0 || buf >= len(pointers) {
			return 0, 0, fmt.Errorf("cuda: %s: GEMM %s is buffer %d of %d", name, what, buf, len(pointers))
		}
		if ld == 0 {
			ld = cols
		}
		last := off + (batch-1)*stride + (rows-1)*ld + cols
		if ld < cols || off < 0 || stride < 0 || last*float > bytes[buf] {
			return 0, 0, fmt.Errorf("cuda: %s: GEMM %s (%dx%d, leading dimension %d, offset %d, %d of stride %d) does not fit its %d bytes",
				name, what, rows, cols, ld, off, batch, stride, bytes[buf])
		}
		return pointers[buf] + uint64(off*float), int32(ld), nil
	}
	rowsA, colsA := g.M, g.K
	if g.TransA {
		rowsA, colsA = colsA, rowsA
	}
	rowsB, colsB := g.K, g.N
	if g.TransB {
		rowsB, colsB = colsB, rowsB
	}
	a, lda, err := operand("A", g.A, g.OffA, g.LDA, g.StrideA, rowsA, colsA)
	if err != nil {
		return nil, err
	}
	b, ldb, err := operand("B", g.B, g.OffB, g.LDB, g.StrideB, rowsB, colsB)
	if err != nil {
		return nil, err
	}
	c, ldc, err := operand("C", g.C, g.OffC, g.LDC, g.StrideC, g.M, g.N)
	if err != nil {
		return nil, err
	}
	op := func(trans bool) int32 {
		if trans {
			return cublasOpT
		}
		return cublasOpN
	}
	return &gemmCall{
		name:   name,
		transA: op(g.TransB), transB: op(g.TransA),
		m: int32(g.N), n: int32(g.M), k: int32(g.K),
		a: b, lda: ldb, strideA: int64(g.StrideB),
		b: a, ldb: lda, strideB: int64(g.StrideA),
		c: c, ldc: ldc, strideC: int64(g.StrideC),
		batch:   int32(batch),
		double:  float == 8,
		alpha32: float32(g.Alpha), beta32: float32(g.Beta),
		alpha64: g.Alpha, beta64: g.Beta,
	}, nil
}

// run calls cuBLAS on the handle, whose stream is the Program's.
func (g *gemmCall) run(b *blas, handle uintptr) error {
	var status int32
	switch {
	case g.double && g.batch == 1:
		status = b.cublasDgemm(handle, g.transA, g.transB, g.m, g.n, g.k, &g.alpha64, g.a, g.lda, g.b, g.ldb, &g.beta64, g.c, g.ldc)
	case g.double:
		status = b.cublasDgemmStridedBatched(handle, g.transA, g.transB, g.m, g.n, g.k, &g.alpha64, g.a, g.lda, g.strideA,
			g.b, g.ldb, g.strideB, &g.beta64, g.c, g.ldc, g.strideC, g.batch)
	case g.batch == 1:
		status = b.cublasSgemm(handle, g.transA, g.transB, g.m, g.n, g.k, &g.alpha32, g.a, g.lda, g.b, g.ldb, &g.beta32, g.c, g.ldc)
	default:
		status = b.cublasSgemmStridedBatched(handle, g.transA, g.transB, g.m, g.n, g.k, &g.alpha32, g.a, g.lda, g.strideA,
			g.b, g.ldb, g.strideB, &g.beta32, g.c, g.ldc, g.strideC, g.batch)
	}
	return b.check("cuBLAS GEMM "+g.name, status)
}
