package nnrt

import "math"

// The element-wise unary operations beyond math.go's activations, each
// with the gradient helper that generated code calls: dy times the
// derivative, from the operation's input x or its output y as the doc
// comment says. They follow PyTorch 1.13's CPU kernels (and, for the
// gradients, its autograd formulas): the same branches and, for the
// arithmetic-only helpers, the same operations in the same order in the
// element type, so that a float32 model rounds as PyTorch's float32 kernel
// does. Transcendental functions evaluate in float64 and round once, as in
// math.go. cudagen/prelude.cu has a CUDA twin of each (nn_silu, ...).

// SiLU is x·σ(x) = x/(1+e^-x), PyTorch's silu. For x → -∞ it is -0, not
// NaN: e^-x overflows to +Inf.
func SiLU[T Float](x T) T {
	v := float64(x)
	return T(v / (1 + math.Exp(-v)))
}

// SiLUGrad is dy·s·(1 + x·(1-s)) with s = σ(x) = 1/(1+e^-x), from the
// input x: PyTorch's silu_backward.
func SiLUGrad[T Float](dy, x T) T {
	v := float64(x)
	s := 1 / (1 + math.Exp(-v))
	return T(float64(dy) * s * (1 + v*(1-s)))
}

// ELU is x for x > 0, else alpha·(e^x - 1) (by expm1, exact near 0):
// PyTorch's elu with scale and input_scale 1.
func ELU[T Float](x, alpha T) T {
	if x > 0 {
		return x
	}
	return T(float64(alpha) * math.Expm1(float64(x)))
}

// ELUGrad is dy for x > 0, else dy·alpha·e^x, from the input x: PyTorch's
// elu_backward with is_result=false.
func ELUGrad[T Float](dy, x, alpha T) T {
	if x > 0 {
		return dy
	}
	return T(float64(dy) * float64(alpha) * math.Exp(float64(x)))
}

// softplusThreshold is PyTorch's default threshold for softplus (with its
// default beta = 1): above it, log(1 + e^x) is x to within rounding.
const softplusThreshold = 20

// Softplus is log(1 + e^x), or x where x > 20: PyTorch's softplus with
// beta=1, threshold=20.
func Softplus[T Float](x T) T {
	if x > softplusThreshold {
		return x
	}
	return T(math.Log1p(math.Exp(float64(x))))
}

// SoftplusGrad is dy·z/(z+1) with z = e^x, or dy where x > 20, from the
// input x: PyTorch's softplus_backward.
func SoftplusGrad[T Float](dy, x T) T {
	if x > softplusThreshold {
		return dy
	}
	z := math.Exp(float64(x))
	return T(float64(dy) * z / (z + 1))
}

// Mish is x·tanh(softplus(x)) = x·tanh(log(1 + e^x)), PyTorch's mish (its
// CPU formula, without softplus's threshold). For large x, e^x overflows to
// +Inf, whose log1p is +Inf and tanh 1: Mish(1000) is 1000.
func Mish[T Float](x T) T {
	v := float64(x)
	return T(v * math.Tanh(math.Log1p(math.Exp(v))))
}

// MishGrad is dy·(t + x·σ(x)·(1 - t²)) with t = tanh(log(1 + e^x)) and
// σ(x) = 1/(1+e^-x), from the input x: PyTorch's mish_backward.
func MishGrad[T Float](dy, x T) T {
	v := float64(x)
	s := 1 / (1 + math.Exp(-v))
	t := math.Tanh(math.Log1p(math.Exp(v)))
	return T(float64(dy) * (t + v*s*(1-t*t)))
}

// Hardswish is 0 for x ≤ -3, x for x ≥ 3, else x·(x+3)/6: PyTorch's
// hardswish, x·min(max(x+3, 0), 6)/6, without the -0 it gives below -3 and
// the overflow of 6x near the largest floats.
func Hardswish[T Float](x T) T {
	switch {
	case x <= -3:
		return 0
	case x >= 3:
		return x
	}
	return x * (x + 3) / 6
}

// HardswishGrad is 0 for x < -3, dy·(x/3 + 0.5) for -3 ≤ x ≤ 3, else dy,
// from the input x: the branches of PyTorch's hardswish_backward (its
// scalar code; so 1.5·dy at x = 3 exactly).
func HardswishGrad[T Float](dy, x T) T {
	switch {
	case x < -3:
		return 0
	case x <= 3:
		return dy * (x/3 + 0.5)
	}
	return dy
}

// Hardsigmoid is 0 for x ≤ -3, 1 for x ≥ 3, else (x+3)/6: PyTorch's
// hardsigmoid, min(max(x+3, 0), 6)/6, to the bit.
func Hardsigmoid[T Float](x T) T {
	switch {
	case x <= -3:
		return 0
	case x >= 3:
		return 1
	}
	return (x + 3) / 6
}

// hardsigmoidSixth is PyTorch's one_sixth in hardsigmoid_backward, which
// is the float32 1.0f/6.0f for every element type, float64 included.
const hardsigmoidSixth = float32(1.0 / 6.0)

// HardsigmoidGrad is dy/6 for -3 < x < 3, else 0, from the input x:
// PyTorch's hardsigmoid_backward, which multiplies by float32(1/6)
// (0.1666666716337204) in float64 too.
func HardsigmoidGrad[T Float](dy, x T) T {
	if x > -3 && x < 3 {
		return dy * T(hardsigmoidSixth)
	}
	return 0
}

// Softsign is x/(1 + |x|), PyTorch's softsign (x / (x.abs() + 1)).
func Softsign[T Float](x T) T { return x / (Abs(x) + 1) }

// SoftsignGrad is dy/(1 + |x|)², from the input x (what autograd's
// division and abs backward add up to), divided twice so that the square
// does not overflow.
func SoftsignGrad[T Float](dy, x T) T {
	d := Abs(x) + 1
	return dy / d / d
}

// Exp is e^x, PyTorch's exp.
func Exp[T Float](x T) T { return T(math.Exp(float64(x))) }

// ExpGrad is dy·y from the output y = e^x (PyTorch: grad * result).
func ExpGrad[T Float](dy, y T) T { return dy * y }

// Log is ln x, PyTorch's log: -Inf at 0, NaN below.
func Log[T Float](x T) T { return T(math.Log(float64(x))) }

// LogGrad is dy/x from the input x (PyTorch: grad / self).
func LogGrad[T Float](dy, x T) T { return dy / x }

// SqrtGrad is dy/(2y) from the output y = √x (PyTorch: grad / (2 * result)).
func SqrtGrad[T Float](dy, y T) T { return dy / (2 * y) }

// Neg is -x, PyTorch's neg.
func Neg[T Float](x T) T { return -x }

// NegGrad is -dy; it takes the input x, unused, for the shape that every
// gradient helper has.
func NegGrad[T Float](dy, _ T) T { return -dy }

// AbsGrad is dy·sign(x) from the input x, 0 at x = 0 (PyTorch's
// abs_backward: grad * self.sgn()).
func AbsGrad[T Float](dy, x T) T { return dy * Sign(x) }

// Reciprocal is 1/x, PyTorch's reciprocal.
func Reciprocal[T Float](x T) T { return 1 / x }

// ReciprocalGrad is -dy·y² from the output y = 1/x (PyTorch:
// -grad * (result * result)).
func ReciprocalGrad[T Float](dy, y T) T { return -dy * (y * y) }

// PowConst is x^p for a constant p, as torch.pow(x, p) computes it: 1 for
// p = 0 and x for p = 1 (even where x is NaN), √x for 0.5 and 1/√x for -0.5
// (so -0 and -Inf follow sqrt, not pow), 1/x for -1, x·x, x·x·x and 1/(x·x)
// for 2, 3 and -2 in the element type, else pow in float64.
func PowConst[T Float](x, p T) T { return powConst(x, float64(p)) }

// powConst is PowConst with a float64 exponent, PyTorch's Scalar: its
// gradient raises x to p - 1 computed in float64.
func powConst[T Float](x T, p float64) T {
	switch p {
	case 0:
		return 1
	case 1:
		return x
	case 0.5:
		return Sqrt(x)
	case -0.5:
		return 1 / Sqrt(x)
	case -1:
		return 1 / x
	case 2:
		return x * x
	case 3:
		return x * x * x
	case -2:
		return 1 / (x * x)
	}
	return T(math.Pow(float64(x), p))
}

// PowConstGrad is dy·p·x^(p-1) from the input x, and 0 for p = 0: PyTorch's
// pow_backward, grad * (exponent * self.pow(exponent - 1)).
func PowConstGrad[T Float](dy, x, p T) T {
	if p == 0 {
		return 0
	}
	return dy * (p * powConst(x, float64(p)-1))
}

// Clamp is min(max(x, lo), hi) as PyTorch's clamp computes it
// (std::min(std::max(x, lo), hi)): NaN stays NaN, hi wins where lo > hi,
// and lo = -Inf or hi = +Inf leaves that side open.
func Clamp[T Float](x, lo, hi T) T {
	if x < lo {
		x = lo
	}
	if hi < x {
		x = hi
	}
	return x
}

// ClampGrad is dy where lo ≤ x ≤ hi, else 0, from the input x: PyTorch's
// clamp_backward, which passes the gradient at the bounds and none for NaN.
func ClampGrad[T Float](dy, x, lo, hi T) T {
	if x >= lo && x <= hi {
		return dy
	}
	return 0
}
