package runtime

// Dot32 is the dot product of x and y, which must have the same length.
func Dot32(x, y []float32) float32 {
	checkLengths(len(x), len(y))
	return kernels().dot32(x, y)
}

// Dot64 is Dot32 for float64.
func Dot64(x, y []float64) float64 {
	checkLengths(len(x), len(y))
	return kernels().dot64(x, y)
}

// Axpy32 computes y += alpha·x; x and y must have the same length.
func Axpy32(alpha float32, x, y []float32) {
	checkLengths(len(x), len(y))
	kernels().axpy32(alpha, x, y)
}

// Axpy64 is Axpy32 for float64.
func Axpy64(alpha float64, x, y []float64) {
	checkLengths(len(x), len(y))
	kernels().axpy64(alpha, x, y)
}

func checkLengths(x, y int) {
	if x != y {
		panic("runtime: Dot/Axpy: x and y differ in length")
	}
}

// The pure-Go kernels: the generic set, and the references that the tests
// check every set against.

var genericKernels = &kernelSet{
	name: "generic",
	// A 4×4 tile keeps the 16 sums in registers on most architectures.
	sgemm:  gemmKernel[float32]{mr: 4, nr: 4, kc: 256, mb: 512, nb: 512, micro: gemmKernelGo[float32]},
	dgemm:  gemmKernel[float64]{mr: 4, nr: 4, kc: 256, mb: 512, nb: 256, micro: gemmKernelGo[float64]},
	dot32:  dotRef[float32],
	dot64:  dotRef[float64],
	axpy32: axpyRef[float32],
	axpy64: axpyRef[float64],
}

func dotRef[T float32 | float64](x, y []T) T {
	var s T
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func axpyRef[T float32 | float64](alpha T, x, y []T) {
	for i, v := range x {
		y[i] += alpha * v
	}
}
