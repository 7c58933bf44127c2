package nnrt

import (
	"math"
	"unsafe"
)

// The activations, their derivatives and the loss helpers that generated
// code calls, one definition for float32 and float64. Transcendental
// functions evaluate in float64, so a float32 model gets the correctly
// rounded result in all but rare halfway cases.

// Sigmoid is 1/(1+e^-x), saturating to 0 or 1 without overflow.
func Sigmoid[T Float](x T) T {
	if x >= 0 {
		return T(1 / (1 + math.Exp(-float64(x))))
	}
	e := math.Exp(float64(x))
	return T(e / (1 + e))
}

// SigmoidGrad is dy·σ'(x) from y = σ(x): dy·y(1-y).
func SigmoidGrad[T Float](dy, y T) T { return dy * y * (1 - y) }

// ReLU is max(x, 0); NaN stays NaN, as in PyTorch.
func ReLU[T Float](x T) T {
	if x > 0 || x != x {
		return x
	}
	return 0
}

// ReLUGrad is dy where y = relu(x) > 0, else 0 (PyTorch's threshold_backward).
func ReLUGrad[T Float](dy, y T) T {
	if y > 0 {
		return dy
	}
	return 0
}

// Tanh is tanh x.
func Tanh[T Float](x T) T { return T(math.Tanh(float64(x))) }

// TanhGrad is dy·(1-y²) from y = tanh x.
func TanhGrad[T Float](dy, y T) T { return dy * (1 - y*y) }

// LeakyReLU is x for x > 0, else alpha·x.
func LeakyReLU[T Float](x, alpha T) T {
	if x > 0 {
		return x
	}
	return alpha * x
}

// LeakyReLUGrad is dy where y > 0, else alpha·dy. From the output, which
// has the input's sign because nngen requires alpha ≥ 0.
func LeakyReLUGrad[T Float](dy, y, alpha T) T {
	if y > 0 {
		return dy
	}
	return alpha * dy
}

// GELU is x·Φ(x) = x/2·(1 + erf(x/√2)), PyTorch's gelu(approximate='none').
func GELU[T Float](x T) T {
	v := float64(x)
	return T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
}

// GELUGrad is dy·(Φ(x) + x·φ(x)).
func GELUGrad[T Float](dy, x T) T {
	v := float64(x)
	cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
	pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
	return T(float64(dy) * (cdf + v*pdf))
}

// √(2/π) and the cubic coefficient of gelu's tanh approximation.
const (
	geluK = 0.7978845608028654
	geluC = 0.044715
)

// GELUTanh is x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch's
// gelu(approximate='tanh').
func GELUTanh[T Float](x T) T {
	v := float64(x)
	return T(0.5 * v * (1 + math.Tanh(geluK*(v+geluC*v*v*v))))
}

// GELUTanhGrad is dy times the derivative of GELUTanh.
func GELUTanhGrad[T Float](dy, x T) T {
	v := float64(x)
	t := math.Tanh(geluK * (v + geluC*v*v*v))
	d := 0.5*(1+t) + 0.5*v*(1-t*t)*geluK*(1+3*geluC*v*v)
	return T(float64(dy) * d)
}

// Softmax replaces row with e^row / Σ e^row, shifted by the row's maximum
// so that no exponential overflows.
func Softmax[T Float](row []T) {
	top := rowMax(row)
	var sum float64
	for i, x := range row {
		e := expOf(x - top)
		row[i] = T(e)
		sum += e
	}
	for i := range row {
		row[i] = T(float64(row[i]) / sum)
	}
}

// SoftmaxGrad sets dx = y·(dy - Σ dy·y), the gradient through y = softmax(x).
func SoftmaxGrad[T Float](dx, dy, y []T) {
	var dot T
	for i := range y {
		dot += dy[i] * y[i]
	}
	for i := range y {
		dx[i] = y[i] * (dy[i] - dot)
	}
}

// expOf is e^x: Exp32 for float32, a third of math.Exp's cost, and
// math.Exp for float64.
func expOf[T Float](x T) float64 {
	if unsafe.Sizeof(x) == 4 {
		return float64(Exp32(float32(x)))
	}
	return math.Exp(float64(x))
}

// LogSumExp is log Σ e^row, computed stably.
func LogSumExp[T Float](row []T) T {
	top := rowMax(row)
	var sum float64
	for _, x := range row {
		sum += expOf(x - top)
	}
	return top + T(math.Log(sum))
}

// BCEWithLogits is the binary cross-entropy of logit z against target t,
// max(z,0) - z·t + log(1 + e^-|z|), stable for large |z|.
func BCEWithLogits[T Float](z, t T) T {
	v := float64(z)
	return T(max(v, 0) - v*float64(t) + math.Log1p(math.Exp(-math.Abs(v))))
}

// Sign is -1, 0 or 1, as PyTorch's sign (the L1 loss's derivative).
func Sign[T Float](x T) T {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// Abs is |x|.
func Abs[T Float](x T) T { return T(math.Abs(float64(x))) }

// Sqrt is √x.
func Sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// Pow is x^n for the integer step counts in bias corrections, in float64.
func Pow[T Float, N ~int | ~int64](x T, n N) float64 { return math.Pow(float64(x), float64(n)) }

// rowMax is the largest element of a row (NaN if one is), which the
// functions of a row subtract so that no exponential overflows.
func rowMax[T Float](row []T) T {
	top := row[0]
	for _, x := range row[1:] {
		top = max(top, x)
	}
	return top
}
