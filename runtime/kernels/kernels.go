package kernels

import "github.com/nngen/nngen/runtime/nnrt"

// The vector kernels: dot and axpy, and the elementwise passes of the
// generated code's larger layers (bias and relu after a GEMM, relu's
// gradient, the mse loss and its gradient, the SGD update). Each has a pure-Go
// reference that the tests check every kernel set against; the elementwise
// ones round exactly as their references do (no fused multiply-add), so the
// generated code's results do not depend on the kernel set, except for the
// order of the sums in Dot and SumSquaredDiff.

// A vecSet is one implementation of the vector kernels for float32 or
// float64.
type vecSet[T nnrt.Float] struct {
	dot        func(x, y []T) T
	axpy       func(alpha T, x, y []T)
	addReLU    func(x, b []T)
	reluGrad   func(dx, dy, y []T)
	sgd        func(lr, wd T, p, g []T)
	adam       func(s AdamStep[T], p, g, m, v []T)
	momentum   func(s MomentumStep[T], p, g, buf []T)
	scaledDiff func(scale T, dst, y, t []T)
	sumSqDiff  func(y, t []T) T
	// binary[op] sets dst = x op y element by element, for op add, sub
	// and mul.
	binary [3]func(dst, x, y []T)
	// scalar[op] sets dst = x op s element by element, for op add, sub,
	// mul and div.
	scalar [4]func(dst, x []T, s T)
	// sumRows sets sum to the sum of x's rows (each len(sum) long): it
	// copies the first row and adds the others in order, so every element
	// sums as the generated loops' s += x[n][i] from 0 does.
	sumRows func(sum, x []T)
}

func refVecSet[T nnrt.Float]() vecSet[T] {
	return vecSet[T]{
		dot:        dotRef[T],
		axpy:       axpyRef[T],
		addReLU:    addReLURef[T],
		reluGrad:   reluGradRef[T],
		sgd:        sgdRef[T],
		adam:       adamRef[T],
		momentum:   momentumRef[T],
		scaledDiff: scaledDiffRef[T],
		sumSqDiff:  sumSqDiffRef[T],
		sumRows:    sumRowsRef[T],
		binary:     [3]func(dst, x, y []T){addRef[T], subRef[T], mulRef[T]},
		scalar:     [4]func(dst, x []T, s T){addScalarRef[T], subScalarRef[T], mulScalarRef[T], divScalarRef[T]},
	}
}

// The binary operations' indexes in vecSet.binary.
const (
	opAdd = iota
	opSub
	opMul
	opDiv // scalar only
)

func vec32() *vecSet[float32] { return &current().v32 }
func vec64() *vecSet[float64] { return &current().v64 }

// Dot32 is the dot product of x and y, which must have the same length.
func Dot32(x, y []float32) float32 {
	checkLengths(len(x), len(y))
	return vec32().dot(x, y)
}

// Dot64 is Dot32 for float64.
func Dot64(x, y []float64) float64 {
	checkLengths(len(x), len(y))
	return vec64().dot(x, y)
}

// Axpy32 computes y += alpha·x; x and y must have the same length.
func Axpy32(alpha float32, x, y []float32) {
	checkLengths(len(x), len(y))
	vec32().axpy(alpha, x, y)
}

// Axpy64 is Axpy32 for float64.
func Axpy64(alpha float64, x, y []float64) {
	checkLengths(len(x), len(y))
	vec64().axpy(alpha, x, y)
}

// AddBias32 adds bias to every row of x, a row-major matrix whose rows are
// len(bias) long: the epilogue of a linear layer without activation.
func AddBias32(x, bias []float32) { vec32().addBias(x, bias) }

// AddBias64 is AddBias32 for float64.
func AddBias64(x, bias []float64) { vec64().addBias(x, bias) }

// AddBiasReLU32 adds bias to every row of x and applies relu in place:
// x = max(x + bias, 0), NaN staying NaN.
func AddBiasReLU32(x, bias []float32) { vec32().addBiasReLU(x, bias) }

// AddBiasReLU64 is AddBiasReLU32 for float64.
func AddBiasReLU64(x, bias []float64) { vec64().addBiasReLU(x, bias) }

// SumRows32 sets sum to the sum of the rows of x (rows len(sum) long), adding
// row after row: the gradient of a bias.
func SumRows32(sum, x []float32) { vec32().sumRows(sum, x) }

// SumRows64 is SumRows32 for float64.
func SumRows64(sum, x []float64) { vec64().sumRows(sum, x) }

// addBias is AddBias32 with the set's axpy (alpha 1 rounds as x + bias).
func (v *vecSet[T]) addBias(x, bias []T) {
	n := rowLength(len(x), len(bias))
	for off := 0; off < len(x); off += n {
		v.axpy(1, bias, x[off:off+n])
	}
}

func (v *vecSet[T]) addBiasReLU(x, bias []T) {
	n := rowLength(len(x), len(bias))
	for off := 0; off < len(x); off += n {
		v.addReLU(x[off:off+n], bias)
	}
}

// sumRowsRef is vecSet.sumRows in Go.
func sumRowsRef[T nnrt.Float](sum, x []T) {
	sumColumnsRef(sum, x, rowLength(len(x), len(sum)), 0)
}

// sumColumnsRef sets sum[j] for the columns j from j0 on to the sum of x's
// rows (n wide) in order, from the first row's value.
func sumColumnsRef[T nnrt.Float](sum, x []T, n, j0 int) {
	if len(x) == 0 { // no rows: zeros
		clear(sum[j0:n])
		return
	}
	copy(sum[j0:n], x[j0:n])
	for off := n; off < len(x); off += n {
		row := x[off+j0 : off+n]
		for j, v := range row {
			sum[j0+j] += v
		}
	}
}

// SumChannels32 sets sum[k] to the sum of channel k of x, n samples of
// channels planes of size elements each ([n][channels][size]): a
// convolution's bias gradient. Each plane is summed by the vector dot
// kernel against ones, 256 elements at a time, and the planes' sums added
// in order.
func SumChannels32(sum, x []float32, n, channels, size int) {
	sumChannels(vec32(), ones32[:], sum, x, n, channels, size)
}

// SumChannels64 is SumChannels32 for float64.
func SumChannels64(sum, x []float64, n, channels, size int) {
	sumChannels(vec64(), ones64[:], sum, x, n, channels, size)
}

// ones32 and ones64 are the other operand of SumChannels's dot products.
var ones32, ones64 = func() (o32 [256]float32, o64 [256]float64) {
	for i := range o32 {
		o32[i], o64[i] = 1, 1
	}
	return o32, o64
}()

func sumChannels[T nnrt.Float](v *vecSet[T], ones, sum, x []T, n, channels, size int) {
	x = x[:n*channels*size]
	for k := range sum[:channels] {
		var s T
		for i := range n {
			plane := x[(i*channels+k)*size:][:size]
			for off := 0; off < size; off += len(ones) {
				piece := plane[off:min(off+len(ones), size)]
				s += v.dot(piece, ones[:len(piece)])
			}
		}
		sum[k] = s
	}
}

// ReLUGrad32 sets dx = dy where y > 0, else 0, element by element.
func ReLUGrad32(dx, dy, y []float32) {
	checkLengths(len(dx), len(dy))
	checkLengths(len(dx), len(y))
	vec32().reluGrad(dx, dy, y)
}

// ReLUGrad64 is ReLUGrad32 for float64.
func ReLUGrad64(dx, dy, y []float64) {
	checkLengths(len(dx), len(dy))
	checkLengths(len(dx), len(y))
	vec64().reluGrad(dx, dy, y)
}

// SGD32 is torch.optim.SGD's update without momentum:
// p -= lr·(g + weightDecay·p), element by element.
func SGD32(p, g []float32, lr, weightDecay float32) {
	checkLengths(len(p), len(g))
	vec32().sgd(lr, weightDecay, p, g)
}

// SGD64 is SGD32 for float64.
func SGD64(p, g []float64, lr, weightDecay float64) {
	checkLengths(len(p), len(g))
	vec64().sgd(lr, weightDecay, p, g)
}

// Add32 sets dst = x + y element by element (each sum rounded once, as
// the Go loop): residual connections and the sums of gradients. dst may
// be x or y.
func Add32(dst, x, y []float32) { binary(vec32(), opAdd, dst, x, y) }

// Sub32 sets dst = x - y element by element, as Add32.
func Sub32(dst, x, y []float32) { binary(vec32(), opSub, dst, x, y) }

// Mul32 sets dst = x·y element by element, as Add32.
func Mul32(dst, x, y []float32) { binary(vec32(), opMul, dst, x, y) }

// Add64 is Add32 for float64.
func Add64(dst, x, y []float64) { binary(vec64(), opAdd, dst, x, y) }

// Sub64 is Sub32 for float64.
func Sub64(dst, x, y []float64) { binary(vec64(), opSub, dst, x, y) }

// Mul64 is Mul32 for float64.
func Mul64(dst, x, y []float64) { binary(vec64(), opMul, dst, x, y) }

// AddScalar32 sets dst = x + s element by element, as Add32. dst may be x.
func AddScalar32(dst, x []float32, s float32) { scalar(vec32(), opAdd, dst, x, s) }

// SubScalar32 sets dst = x - s element by element, as Add32.
func SubScalar32(dst, x []float32, s float32) { scalar(vec32(), opSub, dst, x, s) }

// MulScalar32 sets dst = x·s element by element, as Add32.
func MulScalar32(dst, x []float32, s float32) { scalar(vec32(), opMul, dst, x, s) }

// DivScalar32 sets dst = x/s element by element, as Add32 (a division,
// not a multiplication by 1/s).
func DivScalar32(dst, x []float32, s float32) { scalar(vec32(), opDiv, dst, x, s) }

// AddScalar64 is AddScalar32 for float64.
func AddScalar64(dst, x []float64, s float64) { scalar(vec64(), opAdd, dst, x, s) }

// SubScalar64 is SubScalar32 for float64.
func SubScalar64(dst, x []float64, s float64) { scalar(vec64(), opSub, dst, x, s) }

// MulScalar64 is MulScalar32 for float64.
func MulScalar64(dst, x []float64, s float64) { scalar(vec64(), opMul, dst, x, s) }

// DivScalar64 is DivScalar32 for float64.
func DivScalar64(dst, x []float64, s float64) { scalar(vec64(), opDiv, dst, x, s) }

func scalar[T nnrt.Float](v *vecSet[T], op int, dst, x []T, s T) {
	checkLengths(len(dst), len(x))
	v.scalar[op](dst, x, s)
}

func binary[T nnrt.Float](v *vecSet[T], op int, dst, x, y []T) {
	checkLengths(len(dst), len(x))
	checkLengths(len(dst), len(y))
	v.binary[op](dst, x, y)
}

// ScaledDiff32 sets dst = scale·(y - t), element by element: the gradient of
// the mse loss.
func ScaledDiff32(dst, y, t []float32, scale float32) {
	checkLengths(len(dst), len(y))
	checkLengths(len(dst), len(t))
	vec32().scaledDiff(scale, dst, y, t)
}

// ScaledDiff64 is ScaledDiff32 for float64.
func ScaledDiff64(dst, y, t []float64, scale float64) {
	checkLengths(len(dst), len(y))
	checkLengths(len(dst), len(t))
	vec64().scaledDiff(scale, dst, y, t)
}

// SumSquaredDiff32 is Σ (y - t)²: the mse loss before its reduction.
func SumSquaredDiff32(y, t []float32) float32 {
	checkLengths(len(y), len(t))
	return vec32().sumSqDiff(y, t)
}

// SumSquaredDiff64 is SumSquaredDiff32 for float64.
func SumSquaredDiff64(y, t []float64) float64 {
	checkLengths(len(y), len(t))
	return vec64().sumSqDiff(y, t)
}

// rowLength is n, the length of a row, after checking that a matrix of
// length total is made of whole rows.
func rowLength(total, n int) int {
	if n == 0 || total%n != 0 {
		panic("kernels: the matrix's length is not a multiple of its rows'")
	}
	return n
}

func checkLengths(x, y int) {
	if x != y {
		panic("kernels: vector lengths differ")
	}
}

// The pure-Go kernels: the generic set, and the references that the tests
// check every set against.

var genericKernels = &kernelSet{
	name: "generic",
	// A 4×4 tile keeps the 16 sums in registers on most architectures.
	sgemm:       gemmKernel[float32]{mr: 4, nr: 4, kc: 256, mb: 1064, nb: 256, micro: gemmKernelGo[float32]},
	dgemm:       gemmKernel[float64]{mr: 4, nr: 4, kc: 256, mb: 252, nb: 128, micro: gemmKernelGo[float64]},
	v32:         refVecSet[float32](),
	v64:         refVecSet[float64](),
	sigmoid32:   sigmoidRef,
	softmax32:   nnrt.Softmax[float32],
	logSumExp32: nnrt.LogSumExp[float32],
}

func dotRef[T nnrt.Float](x, y []T) T {
	var s T
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func axpyRef[T nnrt.Float](alpha T, x, y []T) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func addReLURef[T nnrt.Float](x, b []T) {
	for i := range x {
		x[i] = nnrt.ReLU(x[i] + b[i])
	}
}

func reluGradRef[T nnrt.Float](dx, dy, y []T) {
	for i := range dx {
		dx[i] = nnrt.ReLUGrad(dy[i], y[i])
	}
}

func sgdRef[T nnrt.Float](lr, wd T, p, g []T) {
	for i := range p {
		d := g[i] + wd*p[i]
		p[i] -= lr * d
	}
}

func addRef[T nnrt.Float](dst, x, y []T) {
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

func subRef[T nnrt.Float](dst, x, y []T) {
	for i := range dst {
		dst[i] = x[i] - y[i]
	}
}

func mulRef[T nnrt.Float](dst, x, y []T) {
	for i := range dst {
		dst[i] = x[i] * y[i]
	}
}

func addScalarRef[T nnrt.Float](dst, x []T, s T) {
	for i := range dst {
		dst[i] = x[i] + s
	}
}

func subScalarRef[T nnrt.Float](dst, x []T, s T) {
	for i := range dst {
		dst[i] = x[i] - s
	}
}

func mulScalarRef[T nnrt.Float](dst, x []T, s T) {
	for i := range dst {
		dst[i] = x[i] * s
	}
}

func divScalarRef[T nnrt.Float](dst, x []T, s T) {
	for i := range dst {
		dst[i] = x[i] / s
	}
}

func scaledDiffRef[T nnrt.Float](scale T, dst, y, t []T) {
	for i := range dst {
		dst[i] = scale * (y[i] - t[i])
	}
}

func sumSqDiffRef[T nnrt.Float](y, t []T) T {
	var s T
	for i := range y {
		d := y[i] - t[i]
		s += d * d
	}
	return s
}
