//go:build amd64 && !noasm

package kernels

import (
	"math"

	"github.com/nngen/nngen/runtime/nnrt"
)

// The loops in kernels_amd64.s (written by _gen/asmgen.go) take whole
// vectors, n a multiple of the vector width, and the wrappers here do the
// tails with the pure-Go references; except the AVX-512 SGD (its tail under
// a mask), the sigmoid and softmax (theirs one element at a time) and
// pause.

//go:noescape
func sdotAVX2(x, y *float32, n int) float32

//go:noescape
func ddotAVX2(x, y *float64, n int) float64

//go:noescape
func saxpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func daxpyAVX2(alpha float64, x, y *float64, n int)

//go:noescape
func saddReLUAVX2(x, b *float32, n int)

//go:noescape
func daddReLUAVX2(x, b *float64, n int)

//go:noescape
func sreluGradAVX2(dx, dy, y *float32, n int)

//go:noescape
func dreluGradAVX2(dx, dy, y *float64, n int)

//go:noescape
func ssgdAVX2(lr, wd float32, p, grad *float32, n int)

//go:noescape
func dsgdAVX2(lr, wd float64, p, grad *float64, n int)

// The operations with a scalar of _gen/asmgen.go (genBinary): dst =
// x op s over n elements, a multiple of the vector's lanes.

//go:noescape
func saddScalarAVX2(dst, x *float32, s float32, n int)

//go:noescape
func ssubScalarAVX2(dst, x *float32, s float32, n int)

//go:noescape
func smulScalarAVX2(dst, x *float32, s float32, n int)

//go:noescape
func sdivScalarAVX2(dst, x *float32, s float32, n int)

//go:noescape
func saddScalarAVX512(dst, x *float32, s float32, n int)

//go:noescape
func ssubScalarAVX512(dst, x *float32, s float32, n int)

//go:noescape
func smulScalarAVX512(dst, x *float32, s float32, n int)

//go:noescape
func sdivScalarAVX512(dst, x *float32, s float32, n int)

//go:noescape
func daddScalarAVX2(dst, x *float64, s float64, n int)

//go:noescape
func dsubScalarAVX2(dst, x *float64, s float64, n int)

//go:noescape
func dmulScalarAVX2(dst, x *float64, s float64, n int)

//go:noescape
func ddivScalarAVX2(dst, x *float64, s float64, n int)

//go:noescape
func daddScalarAVX512(dst, x *float64, s float64, n int)

//go:noescape
func dsubScalarAVX512(dst, x *float64, s float64, n int)

//go:noescape
func dmulScalarAVX512(dst, x *float64, s float64, n int)

//go:noescape
func ddivScalarAVX512(dst, x *float64, s float64, n int)

// The binary operations of _gen/asmgen.go (genBinary): dst = x op y over
// n elements, a multiple of the vector's lanes.

//go:noescape
func saddAVX2(dst, x, y *float32, n int)

//go:noescape
func ssubAVX2(dst, x, y *float32, n int)

//go:noescape
func smulAVX2(dst, x, y *float32, n int)

//go:noescape
func saddAVX512(dst, x, y *float32, n int)

//go:noescape
func ssubAVX512(dst, x, y *float32, n int)

//go:noescape
func smulAVX512(dst, x, y *float32, n int)

//go:noescape
func daddAVX2(dst, x, y *float64, n int)

//go:noescape
func dsubAVX2(dst, x, y *float64, n int)

//go:noescape
func dmulAVX2(dst, x, y *float64, n int)

//go:noescape
func daddAVX512(dst, x, y *float64, n int)

//go:noescape
func dsubAVX512(dst, x, y *float64, n int)

//go:noescape
func dmulAVX512(dst, x, y *float64, n int)

//go:noescape
func sscaledDiffAVX2(scale float32, dst, y, t *float32, n int)

//go:noescape
func dscaledDiffAVX2(scale float64, dst, y, t *float64, n int)

//go:noescape
func ssumSqDiffAVX2(y, t *float32, n int) float32

//go:noescape
func dsumSqDiffAVX2(y, t *float64, n int) float64

//go:noescape
func sdotAVX512(x, y *float32, n int) float32

//go:noescape
func ddotAVX512(x, y *float64, n int) float64

//go:noescape
func saxpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func daxpyAVX512(alpha float64, x, y *float64, n int)

//go:noescape
func saddReLUAVX512(x, b *float32, n int)

//go:noescape
func daddReLUAVX512(x, b *float64, n int)

//go:noescape
func sreluGradAVX512(dx, dy, y *float32, n int)

//go:noescape
func dreluGradAVX512(dx, dy, y *float64, n int)

//go:noescape
func ssgdAVX512(lr, wd float32, p, grad *float32, n int)

// The column sums of a matrix's rows, in row order (_gen/asmgen.go genSumRows).

//go:noescape
func ssumRowsAVX2(sum, x *float32, rows, ld, n int)

//go:noescape
func dsumRowsAVX2(sum, x *float64, rows, ld, n int)

//go:noescape
func ssumRowsAVX512(sum, x *float32, rows, ld, n int)

//go:noescape
func dsumRowsAVX512(sum, x *float64, rows, ld, n int)

// The steps of SGD with momentum (_gen/asmgen.go genMomentum): a loop for the
// first step or a later one, with Nesterov's correction or without.

//go:noescape
func smomentumAVX2(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumFirstAVX2(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumNesterovAVX2(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumFirstNesterovAVX2(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func dmomentumAVX2(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumFirstAVX2(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumNesterovAVX2(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumFirstNesterovAVX2(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func smomentumAVX512(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumFirstAVX512(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumNesterovAVX512(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func smomentumFirstNesterovAVX512(lr, momentum, oneMinusDampening, weightDecay float32, p, grad, buf *float32, n int)

//go:noescape
func dmomentumAVX512(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumFirstAVX512(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumNesterovAVX512(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

//go:noescape
func dmomentumFirstNesterovAVX512(lr, momentum, oneMinusDampening, weightDecay float64, p, grad, buf *float64, n int)

// The Adam and AdamW steps (_gen/asmgen.go genAdam), n a multiple of the lanes.

//go:noescape
func sadamAVX2(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float32, p, grad, m, v *float32, n int)

//go:noescape
func sadamWAVX2(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float32, p, grad, m, v *float32, n int)

//go:noescape
func dadamAVX2(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float64, p, grad, m, v *float64, n int)

//go:noescape
func dadamWAVX2(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float64, p, grad, m, v *float64, n int)

//go:noescape
func sadamAVX512(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float32, p, grad, m, v *float32, n int)

//go:noescape
func sadamWAVX512(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float32, p, grad, m, v *float32, n int)

//go:noescape
func dadamAVX512(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float64, p, grad, m, v *float64, n int)

//go:noescape
func dadamWAVX512(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay float64, p, grad, m, v *float64, n int)

//go:noescape
func dsgdAVX512(lr, wd float64, p, grad *float64, n int)

//go:noescape
func sscaledDiffAVX512(scale float32, dst, y, t *float32, n int)

//go:noescape
func dscaledDiffAVX512(scale float64, dst, y, t *float64, n int)

//go:noescape
func ssumSqDiffAVX512(y, t *float32, n int) float32

//go:noescape
func dsumSqDiffAVX512(y, t *float64, n int) float64

//go:noescape
func sigmoid32asm(x *float32, n int)

func sigmoid32AVX2(x []float32) {
	if len(x) > 0 {
		sigmoid32asm(&x[0], len(x))
	}
}

//go:noescape
func expShift32asm(x *float32, n int, normalize bool) (top, sum float32)

func softmax32AVX2(row []float32) {
	expShift32asm(&row[0], len(row), true)
}

func logSumExp32AVX2(row []float32) float32 {
	top, sum := expShift32asm(&row[0], len(row), false)
	return top + float32(math.Log(float64(sum)))
}

// asmKernels holds one precision's assembly loops for one ISA.
type asmKernels[T nnrt.Float] struct {
	lanes    int // elements per vector
	dot      func(x, y *T, n int) T
	axpy     func(alpha T, x, y *T, n int)
	addReLU  func(x, b *T, n int)
	reluGrad func(dx, dy, y *T, n int)
	sgd      func(lr, wd T, p, g *T, n int)
	// sgdAnyN: sgd takes any n, its tail under a mask (AVX-512). Step
	// updates every parameter through it, and in a tiny network (the
	// tutorial's 91 parameters) a tail in Go was a third of the update.
	sgdAnyN    bool
	scaledDiff func(scale T, dst, y, t *T, n int)
	sumSqDiff  func(y, t *T, n int) T
	adam       func(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay T, p, g, m, v *T, n int)
	adamW      func(beta1, oneMinusBeta1, beta2, oneMinusBeta2, eps, weightDecay, stepSize, root2, decay T, p, g, m, v *T, n int)
	// momentum[first][nesterov]
	momentum [2][2]func(lr, momentum, oneMinusDampening, weightDecay T, p, g, buf *T, n int)
	sumRows  func(sum, x *T, rows, ld, n int)
	binary   [3]func(dst, x, y *T, n int)   // add, sub, mul
	scalar   [4]func(dst, x *T, s T, n int) // add, sub, mul, div
}

// vecSet wraps the loops into the kernels of a set: the loops take the
// whole vectors at the front, the references the rest.
func (a asmKernels[T]) vecSet() vecSet[T] {
	return vecSet[T]{
		dot: func(x, y []T) T {
			body := a.split(len(x))
			var s T
			if body > 0 {
				s = a.dot(&x[0], &y[0], body)
			}
			return s + dotRef(x[body:], y[body:len(x)])
		},
		axpy: func(alpha T, x, y []T) {
			body := a.split(len(x))
			if body > 0 {
				a.axpy(alpha, &x[0], &y[0], body)
			}
			axpyRef(alpha, x[body:], y[body:len(x)])
		},
		addReLU: func(x, b []T) {
			body := a.split(len(x))
			if body > 0 {
				a.addReLU(&x[0], &b[:len(x)][0], body)
			}
			addReLURef(x[body:], b[body:len(x)])
		},
		reluGrad: func(dx, dy, y []T) {
			body := a.split(len(dx))
			if body > 0 {
				a.reluGrad(&dx[0], &dy[:len(dx)][0], &y[:len(dx)][0], body)
			}
			reluGradRef(dx[body:], dy[body:len(dx)], y[body:len(dx)])
		},
		sgd: func(lr, wd T, p, g []T) {
			body := a.split(len(p))
			if a.sgdAnyN {
				body = len(p)
			}
			if body > 0 {
				a.sgd(lr, wd, &p[0], &g[:len(p)][0], body)
			}
			sgdRef(lr, wd, p[body:], g[body:len(p)])
		},
		adam: func(s AdamStep[T], p, g, m, v []T) {
			body := a.split(len(p))
			if body > 0 {
				loop := a.adam
				if s.Decoupled {
					loop = a.adamW
				}
				loop(s.Beta1, 1-s.Beta1, s.Beta2, 1-s.Beta2, s.Eps, s.WeightDecay, s.StepSize, s.Root2, s.Decay,
					&p[0], &g[:len(p)][0], &m[:len(p)][0], &v[:len(p)][0], body)
			}
			adamRef(s, p[body:], g[body:len(p)], m[body:len(p)], v[body:len(p)])
		},
		momentum: func(s MomentumStep[T], p, g, buf []T) {
			body := a.split(len(p))
			if body > 0 {
				a.momentum[b2i(s.First)][b2i(s.Nesterov)](s.LR, s.Momentum, 1-s.Dampening, s.WeightDecay, &p[0], &g[:len(p)][0], &buf[:len(p)][0], body)
			}
			momentumRef(s, p[body:], g[body:len(p)], buf[body:len(p)])
		},
		scaledDiff: func(scale T, dst, y, t []T) {
			body := a.split(len(dst))
			if body > 0 {
				a.scaledDiff(scale, &dst[0], &y[:len(dst)][0], &t[:len(dst)][0], body)
			}
			scaledDiffRef(scale, dst[body:], y[body:len(dst)], t[body:len(dst)])
		},
		binary: [3]func(dst, x, y []T){a.binaryOp(opAdd, addRef[T]), a.binaryOp(opSub, subRef[T]), a.binaryOp(opMul, mulRef[T])},
		scalar: [4]func(dst, x []T, s T){a.scalarOp(opAdd, addScalarRef[T]), a.scalarOp(opSub, subScalarRef[T]),
			a.scalarOp(opMul, mulScalarRef[T]), a.scalarOp(opDiv, divScalarRef[T])},
		sumSqDiff: func(y, t []T) T {
			body := a.split(len(y))
			var s T
			if body > 0 {
				s = a.sumSqDiff(&y[0], &t[:len(y)][0], body)
			}
			return s + sumSqDiffRef(y[body:], t[body:len(y)])
		},
		sumRows: func(sum, x []T) {
			n := rowLength(len(x), len(sum))
			body := a.split(n)
			if body > 0 && len(x) > 0 {
				a.sumRows(&sum[0], &x[0], len(x)/n, n, body)
			} else {
				body = 0
			}
			sumColumnsRef(sum, x, n, body)
		},
	}
}

// split is the part of n elements that the loops take: whole vectors.
func (a asmKernels[T]) split(n int) int { return n &^ (a.lanes - 1) }

// binaryOp wraps the loop of binary operation op, ref taking the tail.
func (a asmKernels[T]) binaryOp(op int, ref func(dst, x, y []T)) func(dst, x, y []T) {
	loop := a.binary[op]
	return func(dst, x, y []T) {
		body := a.split(len(dst))
		if body > 0 {
			loop(&dst[0], &x[:len(dst)][0], &y[:len(dst)][0], body)
		}
		ref(dst[body:], x[body:len(dst)], y[body:len(dst)])
	}
}

// scalarOp wraps the loop of operation op with a scalar, ref taking the
// tail.
func (a asmKernels[T]) scalarOp(op int, ref func(dst, x []T, s T)) func(dst, x []T, s T) {
	loop := a.scalar[op]
	return func(dst, x []T, s T) {
		body := a.split(len(dst))
		if body > 0 {
			loop(&dst[0], &x[:len(dst)][0], s, body)
		}
		ref(dst[body:], x[body:len(dst)], s)
	}
}

var (
	avx2Vec32 = asmKernels[float32]{8, sdotAVX2, saxpyAVX2, saddReLUAVX2, sreluGradAVX2, ssgdAVX2, false, sscaledDiffAVX2, ssumSqDiffAVX2, sadamAVX2, sadamWAVX2,
		[2][2]func(lr, momentum, oneMinusDampening, weightDecay float32, p, g, buf *float32, n int){{smomentumAVX2, smomentumNesterovAVX2}, {smomentumFirstAVX2, smomentumFirstNesterovAVX2}}, ssumRowsAVX2, [3]func(dst, x, y *float32, n int){saddAVX2, ssubAVX2, smulAVX2},
		[4]func(dst, x *float32, s float32, n int){saddScalarAVX2, ssubScalarAVX2, smulScalarAVX2, sdivScalarAVX2}}.vecSet()
	avx2Vec64 = asmKernels[float64]{4, ddotAVX2, daxpyAVX2, daddReLUAVX2, dreluGradAVX2, dsgdAVX2, false, dscaledDiffAVX2, dsumSqDiffAVX2, dadamAVX2, dadamWAVX2,
		[2][2]func(lr, momentum, oneMinusDampening, weightDecay float64, p, g, buf *float64, n int){{dmomentumAVX2, dmomentumNesterovAVX2}, {dmomentumFirstAVX2, dmomentumFirstNesterovAVX2}}, dsumRowsAVX2, [3]func(dst, x, y *float64, n int){daddAVX2, dsubAVX2, dmulAVX2},
		[4]func(dst, x *float64, s float64, n int){daddScalarAVX2, dsubScalarAVX2, dmulScalarAVX2, ddivScalarAVX2}}.vecSet()

	avx512Vec32 = asmKernels[float32]{16, sdotAVX512, saxpyAVX512, saddReLUAVX512, sreluGradAVX512, ssgdAVX512, true, sscaledDiffAVX512, ssumSqDiffAVX512, sadamAVX512, sadamWAVX512,
		[2][2]func(lr, momentum, oneMinusDampening, weightDecay float32, p, g, buf *float32, n int){{smomentumAVX512, smomentumNesterovAVX512}, {smomentumFirstAVX512, smomentumFirstNesterovAVX512}}, ssumRowsAVX512, [3]func(dst, x, y *float32, n int){saddAVX512, ssubAVX512, smulAVX512},
		[4]func(dst, x *float32, s float32, n int){saddScalarAVX512, ssubScalarAVX512, smulScalarAVX512, sdivScalarAVX512}}.vecSet()
	avx512Vec64 = asmKernels[float64]{8, ddotAVX512, daxpyAVX512, daddReLUAVX512, dreluGradAVX512, dsgdAVX512, true, dscaledDiffAVX512, dsumSqDiffAVX512, dadamAVX512, dadamWAVX512,
		[2][2]func(lr, momentum, oneMinusDampening, weightDecay float64, p, g, buf *float64, n int){{dmomentumAVX512, dmomentumNesterovAVX512}, {dmomentumFirstAVX512, dmomentumFirstNesterovAVX512}}, dsumRowsAVX512, [3]func(dst, x, y *float64, n int){daddAVX512, dsubAVX512, dmulAVX512},
		[4]func(dst, x *float64, s float64, n int){daddScalarAVX512, dsubScalarAVX512, dmulScalarAVX512, ddivScalarAVX512}}.vecSet()
)

// smaxPoolGrad2x2AVX512 is the gradient of 2×2 max pooling over the n
// windows of one output row, 16 at a time and the last under masks; it
// returns the windows done, fewer at a block with a NaN (_gen/asmgen.go).
//
//go:noescape
func smaxPoolGrad2x2AVX512(dx0, dx1, dy, x0, x1 *float32, n int) int

// smaxPool2x2AVX512 is 2×2 max pooling over the n windows of one output
// row, 16 at a time and the last under masks (_gen/asmgen.go).
//
//go:noescape
func smaxPool2x2AVX512(y, x0, x1 *float32, n int)

// maxPoolBlocks is smaxPool2x2AVX512, called directly.
func maxPoolBlocks(y, x0, x1 *float32, n int) { smaxPool2x2AVX512(y, x0, x1, n) }

// maxPoolGradBlocks is smaxPoolGrad2x2AVX512, called directly so that
// its pointers stay unescaped (a call through a func value would move the
// caller's scratch blocks to the heap).
func maxPoolGradBlocks(dx0, dx1, dy, x0, x1 *float32, n int) int {
	return smaxPoolGrad2x2AVX512(dx0, dx1, dy, x0, x1, n)
}

// pause runs n PAUSE instructions: a spin-wait that leaves the core's
// resources (and the scheduler) alone, for the Pool (spinWait).
//
//go:noescape
func pause(n int)

func spinWait() { pause(spinPauses) }

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
