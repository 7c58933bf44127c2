package nnrt

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// unaryGrid is grid with points near the kinks and thresholds of the
// unary operations (hard* at ±3, softplus at 20) and a few more.
var unaryGrid = slices.Concat(grid, []float64{-2.9, -2.5, -1.2, -0.5, 0.5, 2.5, 2.9, 5, 19.5, 20.5, 25})

// Each gradient helper is dy times the derivative of its forward helper,
// by central differences in float64, away from the kinks.
func TestUnaryGradients(t *testing.T) {
	away := func(kinks ...float64) func(float64) bool {
		return func(x float64) bool {
			for _, k := range kinks {
				if math.Abs(x-k) < 1e-5*max(1, math.Abs(k)) {
					return false
				}
			}
			return true
		}
	}
	positive := func(x float64) bool { return x > 0 }
	nonzero := func(x float64) bool { return x != 0 }
	type fdCase struct {
		name string
		f    func(x float64) float64
		grad func(dy, x float64) float64
		ok   func(x float64) bool // where to check; nil for everywhere
		// relStep takes a step of 1e-6·|x|, for functions with a pole or
		// a singular derivative at 0, whose scale is |x|.
		relStep bool
	}
	tests := []fdCase{
		{name: "SiLU", f: SiLU[float64], grad: SiLUGrad[float64]},
		// Even with alpha = 1, elu's second derivative jumps at 0, which
		// makes central differences there accurate to h only.
		{name: "ELU alpha 1", f: func(x float64) float64 { return ELU(x, 1) },
			grad: func(dy, x float64) float64 { return ELUGrad(dy, x, 1) }, ok: away(0)},
		{name: "ELU alpha 0.3", f: func(x float64) float64 { return ELU(x, 0.3) },
			grad: func(dy, x float64) float64 { return ELUGrad(dy, x, 0.3) }, ok: away(0)},
		{name: "Softplus", f: Softplus[float64], grad: SoftplusGrad[float64]},
		{name: "Mish", f: Mish[float64], grad: MishGrad[float64]},
		{name: "Hardswish", f: Hardswish[float64], grad: HardswishGrad[float64], ok: away(-3, 3)},
		{name: "Hardsigmoid", f: Hardsigmoid[float64], grad: HardsigmoidGrad[float64], ok: away(-3, 3)},
		{name: "Softsign", f: Softsign[float64], grad: SoftsignGrad[float64], ok: away(0)},
		{name: "Exp", f: Exp[float64], grad: func(dy, x float64) float64 { return ExpGrad(dy, Exp(x)) },
			ok: func(x float64) bool { return x < 700 }},
		{name: "Log", f: Log[float64], grad: LogGrad[float64], ok: positive, relStep: true},
		{name: "Sqrt", f: Sqrt[float64], grad: func(dy, x float64) float64 { return SqrtGrad(dy, Sqrt(x)) },
			ok: positive, relStep: true},
		{name: "Neg", f: Neg[float64], grad: NegGrad[float64]},
		{name: "Abs", f: Abs[float64], grad: AbsGrad[float64], ok: away(0)},
		{name: "Reciprocal", f: Reciprocal[float64], grad: func(dy, x float64) float64 { return ReciprocalGrad(dy, Reciprocal(x)) },
			ok: nonzero, relStep: true},
	}
	for _, p := range []float64{0, 1, 2, 3, 4, 7, -1, -2, -3, 0.5, -0.5, 1.5, 2.5, 0.3, -1.7} {
		ok := nonzero
		if p != math.Trunc(p) {
			ok = positive // a fractional power of a negative number is NaN
		}
		tests = append(tests, fdCase{name: fmt.Sprintf("PowConst p=%v", p),
			f:    func(x float64) float64 { return PowConst(x, p) },
			grad: func(dy, x float64) float64 { return PowConstGrad(dy, x, p) },
			ok:   ok, relStep: true})
	}
	for _, b := range [][2]float64{{-2, 2}, {-0.4, 0.2}, {math.Inf(-1), 0.6}, {0, math.Inf(1)}} {
		lo, hi := b[0], b[1]
		tests = append(tests, fdCase{name: fmt.Sprintf("Clamp [%v, %v]", lo, hi),
			f:    func(x float64) float64 { return Clamp(x, lo, hi) },
			grad: func(dy, x float64) float64 { return ClampGrad(dy, x, lo, hi) },
			ok:   away(lo, hi)})
	}
	for _, tt := range tests {
		for _, x := range unaryGrid {
			if tt.ok != nil && !tt.ok(x) {
				continue
			}
			slope := derivative(tt.f, x)
			if tt.relStep {
				slope = derivativeStep(tt.f, x, 1e-6*math.Abs(x))
			}
			for _, dy := range []float64{1, -0.75} {
				if got, want := tt.grad(dy, x), dy*slope; !closeTo(got, want) {
					t.Errorf("%s: gradient at x=%v, dy=%v is %.17g, finite differences give %.17g", tt.name, x, dy, got, want)
				}
			}
		}
	}
}

// The forward helpers against independent formulas, and where they
// saturate, overflow or meet NaN.
func TestUnaryValues(t *testing.T) {
	// Formulas that differ from the helpers' (σ by math.go's Sigmoid,
	// tanh(log(1+e^x)) as ((1+e^x)²-1)/((1+e^x)²+1) = e^x(2+e^x)/((1+e^x)²+1),
	// e^x-1 without expm1), at points where they are accurate: a few ulps
	// apart.
	for _, x := range []float64{-7.5, -3, -1.5, -1, -0.3, 0.3, 1, 1.5, 3, 7.5} {
		e := math.Exp(x)
		u := (1 + e) * (1 + e)
		elu := x
		if x <= 0 {
			elu = 0.7 * (e - 1)
		}
		for _, tt := range []struct {
			name      string
			got, want float64
		}{
			{"SiLU", SiLU(x), x * Sigmoid(x)},
			{"SiLUGrad", SiLUGrad(0.75, x), 0.75 * (Sigmoid(x) + x*Sigmoid(x)*Sigmoid(-x))},
			{"ELU", ELU(x, 0.7), elu},
			{"Softplus", Softplus(x), softplusSeries(x)},
			{"SoftplusGrad", SoftplusGrad(0.75, x), 0.75 * Sigmoid(x)},
			{"Mish", Mish(x), x * e * (2 + e) / (u + 1)},
			{"MishGrad", MishGrad(0.75, x), 0.75 * (e*(2+e)/(u+1) + x*Sigmoid(x)*4*u/((u+1)*(u+1)))},
			{"Exp", Exp(x), e},
			{"Log", Log(e), x},
			{"Softsign", Softsign(x), x / (1 + math.Abs(x))},
			{"PowConst 2.5", PowConst(math.Abs(x), 2.5), math.Abs(x) * math.Abs(x) * math.Sqrt(math.Abs(x))},
			{"PowConst -3", PowConst(x, -3), 1 / (x * x * x)},
		} {
			if math.Abs(tt.got-tt.want) > 1e-14*math.Abs(tt.want) {
				t.Errorf("%s(%v) = %.17g, want %.17g", tt.name, x, tt.got, tt.want)
			}
		}
	}
	// e^x - 1 loses the digits that expm1 keeps: near 0, elu is
	// alpha·(x + x²/2 + x³/6).
	if got, want := ELU(-1e-10, 0.5), 0.5*(-1e-10+1e-20/2); math.Abs(got-want) > 4e-16*math.Abs(want) {
		t.Errorf("ELU(-1e-10, 0.5) = %.17g, want %.17g", got, want)
	}

	inf, nan := math.Inf(1), math.NaN()
	negZero := math.Copysign(0, -1)
	for _, tt := range []struct {
		name      string
		got, want float64
	}{
		{"SiLU(0)", SiLU(0.0), 0},
		{"SiLU(-1000)", SiLU(-1000.0), 0}, // -0: e^1000 overflows to +Inf
		{"SiLU(1000)", SiLU(1000.0), 1000},
		{"SiLU(+Inf)", SiLU(inf), inf},
		{"SiLUGrad(1, 0)", SiLUGrad(1.0, 0), 0.5},
		{"SiLUGrad(1, -1000)", SiLUGrad(1.0, -1000), 0},
		{"SiLUGrad(1, 1000)", SiLUGrad(1.0, 1000), 1},
		{"ELU(2, 0.5)", ELU(2.0, 0.5), 2},
		{"ELU(0, 0.5)", ELU(0.0, 0.5), 0},
		{"ELU(-1000, 0.5)", ELU(-1000.0, 0.5), -0.5},
		{"ELU(-Inf, 0.5)", ELU(-inf, 0.5), -0.5},
		{"ELUGrad(3, 0, 0.5)", ELUGrad(3.0, 0, 0.5), 1.5}, // the left derivative at 0
		{"ELUGrad(3, 1e-300, 0.5)", ELUGrad(3.0, 1e-300, 0.5), 3},
		{"ELUGrad(3, -1000, 0.5)", ELUGrad(3.0, -1000, 0.5), 0},
		{"Softplus(0)", Softplus(0.0), math.Ln2},
		{"Softplus(20)", Softplus(20.0), math.Log1p(math.Exp(20))},
		{"Softplus(20.5)", Softplus(20.5), 20.5},
		{"Softplus(30)", Softplus(30.0), 30},
		{"Softplus(1000)", Softplus(1000.0), 1000},
		{"Softplus(-1000)", Softplus(-1000.0), 0},
		{"SoftplusGrad(2, 0)", SoftplusGrad(2.0, 0), 1},
		{"SoftplusGrad(2, 30)", SoftplusGrad(2.0, 30), 2},
		{"SoftplusGrad(2, -1000)", SoftplusGrad(2.0, -1000), 0},
		{"Mish(0)", Mish(0.0), 0},
		{"Mish(1000)", Mish(1000.0), 1000},
		{"Mish(710)", Mish(710.0), 710}, // e^710 overflows
		{"Mish(+Inf)", Mish(inf), inf},
		{"Mish(-1000)", Mish(-1000.0), 0},
		{"MishGrad(1, 1000)", MishGrad(1.0, 1000), 1},
		{"MishGrad(1, -1000)", MishGrad(1.0, -1000), 0},
		{"Hardswish(-3)", Hardswish(-3.0), 0},
		{"Hardswish(-1000)", Hardswish(-1000.0), 0},
		{"Hardswish(-Inf)", Hardswish(-inf), 0},
		{"Hardswish(-1.5)", Hardswish(-1.5), -0.375},
		{"Hardswish(1)", Hardswish(1.0), 2.0 / 3},
		{"Hardswish(3)", Hardswish(3.0), 3},
		{"Hardswish(1e300)", Hardswish(1e300), 1e300},
		{"HardswishGrad(2, -3.5)", HardswishGrad(2.0, -3.5), 0},
		{"HardswishGrad(2, -3)", HardswishGrad(2.0, -3), -1},
		{"HardswishGrad(2, 0)", HardswishGrad(2.0, 0), 1},
		{"HardswishGrad(2, 3)", HardswishGrad(2.0, 3), 3}, // PyTorch's x <= 3 branch
		{"HardswishGrad(2, 3.5)", HardswishGrad(2.0, 3.5), 2},
		{"Hardsigmoid(-3)", Hardsigmoid(-3.0), 0},
		{"Hardsigmoid(0)", Hardsigmoid(0.0), 0.5},
		{"Hardsigmoid(1.5)", Hardsigmoid(1.5), 0.75},
		{"Hardsigmoid(3)", Hardsigmoid(3.0), 1},
		{"Hardsigmoid(+Inf)", Hardsigmoid(inf), 1},
		{"HardsigmoidGrad(6, 0)", HardsigmoidGrad(6.0, 0), 6 * float64(float32(1.0/6))},
		{"HardsigmoidGrad(6, -3)", HardsigmoidGrad(6.0, -3), 0},
		{"HardsigmoidGrad(6, 3)", HardsigmoidGrad(6.0, 3), 0},
		{"Softsign(1)", Softsign(1.0), 0.5},
		{"Softsign(-3)", Softsign(-3.0), -0.75},
		{"SoftsignGrad(2, -1)", SoftsignGrad(2.0, -1), 0.5},
		{"Exp(0)", Exp(0.0), 1},
		{"Exp(-1000)", Exp(-1000.0), 0},
		{"Exp(1000)", Exp(1000.0), inf},
		{"ExpGrad(3, 0.5)", ExpGrad(3.0, 0.5), 1.5},
		{"Log(1)", Log(1.0), 0},
		{"Log(0)", Log(0.0), -inf},
		{"Log(+Inf)", Log(inf), inf},
		{"LogGrad(3, 0.5)", LogGrad(3.0, 0.5), 6},
		{"LogGrad(3, 0)", LogGrad(3.0, 0), inf},
		{"SqrtGrad(3, 0.5)", SqrtGrad(3.0, 0.5), 3},
		{"SqrtGrad(3, 0)", SqrtGrad(3.0, 0), inf},
		{"Neg(2)", Neg(2.0), -2},
		{"NegGrad(2, 5)", NegGrad(2.0, 5), -2},
		{"AbsGrad(3, -2)", AbsGrad(3.0, -2), -3},
		{"AbsGrad(3, 0)", AbsGrad(3.0, 0), 0},
		{"AbsGrad(3, 1e-300)", AbsGrad(3.0, 1e-300), 3},
		{"Reciprocal(4)", Reciprocal(4.0), 0.25},
		{"Reciprocal(0)", Reciprocal(0.0), inf},
		{"Reciprocal(-0)", Reciprocal(negZero), -inf},
		{"ReciprocalGrad(3, 0.5)", ReciprocalGrad(3.0, 0.5), -0.75},
		{"PowConst(2, 10)", PowConst(2.0, 10), 1024},
		{"PowConst(-2, 3)", PowConst(-2.0, 3), -8},
		{"PowConst(-2, 2)", PowConst(-2.0, 2), 4},
		{"PowConst(-2, -2)", PowConst(-2.0, -2), 0.25},
		{"PowConst(4, 0.5)", PowConst(4.0, 0.5), 2},
		{"PowConst(4, -0.5)", PowConst(4.0, -0.5), 0.5},
		{"PowConst(4, -1)", PowConst(4.0, -1), 0.25},
		{"PowConst(7, 1)", PowConst(7.0, 1), 7},
		{"PowConst(0, 0)", PowConst(0.0, 0), 1},
		{"PowConst(NaN, 0)", PowConst(nan, 0), 1},
		{"PowConst(0, -1)", PowConst(0.0, -1), inf},
		{"PowConst(0, -1.5)", PowConst(0.0, -1.5), inf},
		{"PowConst(0, 1.5)", PowConst(0.0, 1.5), 0},
		{"PowConst(-Inf, 2)", PowConst(-inf, 2), inf},
		{"PowConst(-Inf, 3)", PowConst(-inf, 3), -inf},
		{"PowConst(+Inf, -0.5)", PowConst(inf, -0.5), 0},
		{"PowConstGrad(2, 3, 0)", PowConstGrad(2.0, 3, 0), 0},
		{"PowConstGrad(2, 3, 1)", PowConstGrad(2.0, 3, 1), 2},
		{"PowConstGrad(2, 0, 1)", PowConstGrad(2.0, 0, 1), 2},
		{"PowConstGrad(2, 3, 2)", PowConstGrad(2.0, 3, 2), 12},
		{"PowConstGrad(2, -3, 3)", PowConstGrad(2.0, -3, 3), 54},
		{"PowConstGrad(2, 4, 0.5)", PowConstGrad(2.0, 4, 0.5), 0.5},
		{"PowConstGrad(2, 4, 1.5)", PowConstGrad(2.0, 4, 1.5), 6},
		{"PowConstGrad(2, 2, -1)", PowConstGrad(2.0, 2, -1), -0.5},
		{"PowConstGrad(2, 0, 2)", PowConstGrad(2.0, 0, 2), 0},
		{"Clamp(5, -1, 1)", Clamp(5.0, -1, 1), 1},
		{"Clamp(-5, -1, 1)", Clamp(-5.0, -1, 1), -1},
		{"Clamp(0.25, -1, 1)", Clamp(0.25, -1, 1), 0.25},
		{"Clamp(-1e300, -Inf, 2)", Clamp(-1e300, -inf, 2), -1e300},
		{"Clamp(5, -Inf, 2)", Clamp(5.0, -inf, 2), 2},
		{"Clamp(1e300, 0, +Inf)", Clamp(1e300, 0, inf), 1e300},
		{"Clamp(-5, 0, +Inf)", Clamp(-5.0, 0, inf), 0},
		{"Clamp(-Inf, -1, 1)", Clamp(-inf, -1, 1), -1},
		{"Clamp(0, 2, 1)", Clamp(0.0, 2, 1), 1}, // lo > hi: hi, as min(max(x, lo), hi)
		{"ClampGrad(3, -1, -1, 1)", ClampGrad(3.0, -1, -1, 1), 3},
		{"ClampGrad(3, 1, -1, 1)", ClampGrad(3.0, 1, -1, 1), 3},
		{"ClampGrad(3, 1.5, -1, 1)", ClampGrad(3.0, 1.5, -1, 1), 0},
		{"ClampGrad(3, -1e300, -Inf, 1)", ClampGrad(3.0, -1e300, -inf, 1), 3},
		{"ClampGrad(3, NaN, -Inf, +Inf)", ClampGrad(3.0, nan, -inf, inf), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// Zeros with PyTorch's signs.
	for _, tt := range []struct {
		name string
		got  float64
		neg  bool
	}{
		{"SiLU(-1000)", SiLU(-1000.0), true},
		{"Neg(0)", Neg(0.0), true},
		{"PowConst(-0, 0.5)", PowConst(negZero, 0.5), true}, // sqrt(-0), not pow(-0, 0.5)
		{"PowConst(-0, 3)", PowConst(negZero, 3), true},
		{"PowConst(-0, 2)", PowConst(negZero, 2), false},
		{"Clamp(-0, 0, 1)", Clamp(negZero, 0, 1), true}, // std::max(-0, 0) is -0
	} {
		if tt.got != 0 || math.Signbit(tt.got) != tt.neg {
			t.Errorf("%s = %v, want a zero with sign bit %v", tt.name, tt.got, tt.neg)
		}
	}
	// NaN stays NaN, except where PyTorch's formula discards x.
	for name, got := range map[string]float64{
		"SiLU(NaN)":              SiLU(nan),
		"SiLU(-Inf)":             SiLU(-inf), // -Inf/(1+Inf), as in PyTorch
		"SiLUGrad(1, NaN)":       SiLUGrad(1.0, nan),
		"ELU(NaN)":               ELU(nan, 0.5),
		"ELUGrad(1, NaN)":        ELUGrad(1.0, nan, 0.5),
		"Softplus(NaN)":          Softplus(nan),
		"SoftplusGrad(1, NaN)":   SoftplusGrad(1.0, nan),
		"Mish(NaN)":              Mish(nan),
		"MishGrad(1, NaN)":       MishGrad(1.0, nan),
		"Hardswish(NaN)":         Hardswish(nan),
		"Hardsigmoid(NaN)":       Hardsigmoid(nan),
		"Softsign(NaN)":          Softsign(nan),
		"Softsign(Inf)":          Softsign(inf), // Inf/Inf, as PyTorch's x/(|x|+1)
		"Exp(NaN)":               Exp(nan),
		"Log(-1)":                Log(-1.0),
		"Neg(NaN)":               Neg(nan),
		"Reciprocal(NaN)":        Reciprocal(nan),
		"PowConst(NaN, 2)":       PowConst(nan, 2),
		"PowConst(-8, 1/3)":      PowConst(-8.0, 1.0/3),
		"PowConst(-Inf, 0.5)":    PowConst(-inf, 0.5), // sqrt(-Inf); Go's Pow gives +Inf
		"PowConst(-4, -0.5)":     PowConst(-4.0, -0.5),
		"Clamp(NaN, -1, 1)":      Clamp(nan, -1, 1),
		"Clamp(NaN, -Inf, +Inf)": Clamp(nan, -inf, inf),
		"Clamp(NaN, 0, +Inf)":    Clamp(nan, 0, inf),
	} {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", name, got)
		}
	}
	// (1+|x|)² would overflow; 1/(1+|x|)² is a subnormal.
	if got := SoftsignGrad(1.0, 1e160); !(got > 0) {
		t.Errorf("SoftsignGrad(1, 1e160) = %v, want 1e-320", got)
	}
	// HardswishGrad takes PyTorch's last branch for NaN, as its scalar
	// code does.
	if got := HardswishGrad(2.0, nan); got != 2 {
		t.Errorf("HardswishGrad(2, NaN) = %v, want 2", got)
	}
}

// softplusSeries is log(1 + e^x): for x < -1, by the series
// Σ (-1)^(k+1) e^(kx)/k, which 1 + e^x would round away.
func softplusSeries(x float64) float64 {
	e := math.Exp(x)
	if x >= -1 {
		return math.Log(1 + e)
	}
	var sum float64
	for k := 40; k >= 1; k-- { // smallest terms first
		term := math.Pow(e, float64(k)) / float64(k)
		if k%2 == 0 {
			term = -term
		}
		sum += term
	}
	return sum
}

// unaryOp is one helper, its CUDA twin and the arguments it takes.
type unaryOp[T Float] struct {
	name, c string
	grad    bool      // the first argument is dy
	params  []float64 // the arguments after x (alpha, p, lo and hi)
	// ulps32 is how far the float32 helper may be from the float64
	// helper's result rounded to float32: 0 where the float32 helper
	// evaluates in float64 too, or is one operation in float32; more
	// where it is several operations in float32, each rounding.
	ulps32 int64
	f      func(args []T) T
	// scale, where not nil, is the size of the terms that the result
	// sums, larger than the result where they cancel: there, the last
	// bits of e^x or log(1+x) show in the result's leading digits.
	scale func(args []T) T
}

func call1[T Float](f func(T) T) func([]T) T { return func(a []T) T { return f(a[0]) } }
func call2[T Float](f func(T, T) T) func([]T) T {
	return func(a []T) T { return f(a[0], a[1]) }
}
func call3[T Float](f func(T, T, T) T) func([]T) T {
	return func(a []T) T { return f(a[0], a[1], a[2]) }
}
func call4[T Float](f func(T, T, T, T) T) func([]T) T {
	return func(a []T) T { return f(a[0], a[1], a[2], a[3]) }
}

// unaryOps lists the helpers of unary.go, instantiated for T.
func unaryOps[T Float]() []unaryOp[T] {
	ops := []unaryOp[T]{
		{name: "SiLU", c: "nn_silu", f: call1(SiLU[T])},
		{name: "SiLUGrad", c: "nn_silu_grad", grad: true, f: call2(SiLUGrad[T]), scale: func(a []T) T {
			s := Sigmoid(a[1]) // dy·s·(1 + x·(1-s)) is 0 near x = -1.28
			return Abs(a[0]) * s * (1 + Abs(a[1])*(1-s))
		}},
		{name: "Softplus", c: "nn_softplus", f: call1(Softplus[T])},
		{name: "SoftplusGrad", c: "nn_softplus_grad", grad: true, f: call2(SoftplusGrad[T])},
		{name: "Mish", c: "nn_mish", f: call1(Mish[T])},
		{name: "MishGrad", c: "nn_mish_grad", grad: true, f: call2(MishGrad[T]), scale: func(a []T) T {
			t := Tanh(Softplus(a[1])) // dy·(t + x·σ(x)·(1 - t²)) is 0 near x = -1.19
			return Abs(a[0]) * (Abs(t) + Abs(a[1])*Sigmoid(a[1])*(1-t*t))
		}},
		{name: "Hardswish", c: "nn_hardswish", ulps32: 2, f: call1(Hardswish[T])},
		{name: "HardswishGrad", c: "nn_hardswish_grad", grad: true, ulps32: 2, f: call2(HardswishGrad[T])},
		{name: "Hardsigmoid", c: "nn_hardsigmoid", ulps32: 1, f: call1(Hardsigmoid[T])},
		{name: "HardsigmoidGrad", c: "nn_hardsigmoid_grad", grad: true, f: call2(HardsigmoidGrad[T])},
		{name: "Softsign", c: "nn_softsign", ulps32: 2, f: call1(Softsign[T])},
		{name: "SoftsignGrad", c: "nn_softsign_grad", grad: true, ulps32: 2, f: call2(SoftsignGrad[T])},
		{name: "Exp", c: "nn_exp_op", f: call1(Exp[T])},
		{name: "ExpGrad", c: "nn_exp_op_grad", grad: true, f: call2(ExpGrad[T])},
		{name: "Log", c: "nn_log_op", f: call1(Log[T])},
		{name: "LogGrad", c: "nn_log_op_grad", grad: true, f: call2(LogGrad[T])},
		{name: "Sqrt", c: "nn_sqrt_op", f: call1(Sqrt[T])},
		{name: "SqrtGrad", c: "nn_sqrt_grad", grad: true, f: call2(SqrtGrad[T])},
		{name: "Neg", c: "nn_neg", f: call1(Neg[T])},
		{name: "NegGrad", c: "nn_neg_grad", grad: true, f: call2(NegGrad[T])},
		{name: "Abs", c: "nn_abs_op", f: call1(Abs[T])},
		{name: "AbsGrad", c: "nn_abs_grad", grad: true, f: call2(AbsGrad[T])},
		{name: "Reciprocal", c: "nn_reciprocal", f: call1(Reciprocal[T])},
		{name: "ReciprocalGrad", c: "nn_reciprocal_grad", grad: true, ulps32: 2, f: call2(ReciprocalGrad[T])},
	}
	for _, alpha := range []float64{1, 0.3} {
		ops = append(ops,
			unaryOp[T]{name: "ELU", c: "nn_elu", params: []float64{alpha}, f: call2(ELU[T])},
			unaryOp[T]{name: "ELUGrad", c: "nn_elu_grad", grad: true, params: []float64{alpha}, f: call3(ELUGrad[T])})
	}
	for _, p := range []float64{0, 1, 2, 3, 7, -1, -2, 0.5, -0.5, 1.5, 0.3, -1.7} {
		ulps := int64(0)
		if p == 3 || p == -2 || p == -0.5 {
			ulps = 2 // two operations in float32
		}
		ops = append(ops,
			unaryOp[T]{name: "PowConst", c: "nn_pow_const", params: []float64{p}, ulps32: ulps, f: call2(PowConst[T])},
			unaryOp[T]{name: "PowConstGrad", c: "nn_pow_const_grad", grad: true, params: []float64{p}, ulps32: 2, f: call3(PowConstGrad[T])})
	}
	for _, b := range [][]float64{{-2, 2}, {math.Inf(-1), 0.5}, {0, math.Inf(1)}, {1, -1}} {
		ops = append(ops,
			unaryOp[T]{name: "Clamp", c: "nn_clamp", params: b, f: call3(Clamp[T])},
			unaryOp[T]{name: "ClampGrad", c: "nn_clamp_grad", grad: true, params: b, f: call4(ClampGrad[T])})
	}
	return ops
}

// unaryArgs lists the argument lists op is checked with: each point of
// unaryGrid, NaN and the infinities as x, after dy = 1 and -0.75 for
// gradients, before op's parameters.
func unaryArgs(grad bool, params []float64) [][]float64 {
	xs := slices.Concat(unaryGrid, []float64{math.NaN(), math.Inf(1), math.Inf(-1)})
	dys := []float64{1}
	if grad {
		dys = []float64{1, -0.75}
	}
	var args [][]float64
	for _, dy := range dys {
		for _, x := range xs {
			var a []float64
			if grad {
				a = append(a, dy)
			}
			args = append(args, slices.Concat(a, []float64{x}, params))
		}
	}
	return args
}

// The float32 helpers compute what the float64 ones do on the same
// float32 arguments, rounded to float32: exactly for those that evaluate
// in float64 or are one operation, within an ulp or two for chains of
// float32 operations.
func TestUnaryFloat32(t *testing.T) {
	ops32, ops64 := unaryOps[float32](), unaryOps[float64]()
	for i, op := range ops32 {
		for _, a64 := range unaryArgs(op.grad, op.params) {
			a32 := make([]float32, len(a64))
			for j, v := range a64 {
				a32[j] = float32(v)
				a64[j] = float64(a32[j])
			}
			got, want := op.f(a32), float32(ops64[i].f(a64))
			if got != want && !(got != got && want != want) && ulps(got, want) > op.ulps32 {
				t.Errorf("%s[float32]%v = %v, %d ulps from float64's %v", op.name, a32, got, ulps(got, want), want)
			}
		}
	}
}

// TestUnaryPrelude compiles cudagen/prelude.cu for the CPU, as the tests
// of generated CUDA code do (g++ with nngen_emu.h), with real = double and
// real = float, and checks that each CUDA function computes what its Go
// helper does: within 1e-15 relative in float64 (relative to the terms
// where a gradient's terms cancel), where Go's assembly math.Exp differs
// from the prelude's port of the pure Go function in the last bit, as the
// prelude's log1p may from Go's, and within an ulp in float32.
func TestUnaryPrelude(t *testing.T) {
	if _, err := exec.LookPath("g++"); err != nil {
		t.Skip("g++ is not installed: apt-get install g++")
	}
	emulation, err := filepath.Abs("../../cudagen/emulation")
	if err != nil {
		t.Fatal(err)
	}
	prelude, err := filepath.Abs("../../cudagen/prelude.cu")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("double", func(t *testing.T) {
		ops := unaryOps[float64]()
		got := runPrelude(t, emulation, prelude, "double", ops)
		for i, op := range ops {
			for j, a := range unaryArgs(op.grad, op.params) {
				c, g := got[i][j], op.f(a)
				scale := math.Abs(g)
				if op.scale != nil {
					scale = max(scale, op.scale(a))
				}
				if c != g && !(math.IsNaN(c) && math.IsNaN(g)) && !(math.Abs(c-g) <= 1e-15*scale) {
					t.Errorf("%s%v = %.17g, but Go's %s gives %.17g", op.c, a, c, op.name, g)
				}
			}
		}
	})
	t.Run("float", func(t *testing.T) {
		ops := unaryOps[float32]()
		got := runPrelude(t, emulation, prelude, "float", ops)
		for i, op := range ops {
			for j, a64 := range unaryArgs(op.grad, op.params) {
				a := make([]float32, len(a64))
				for k, v := range a64 {
					a[k] = float32(v)
				}
				c, g := float32(got[i][j]), op.f(a)
				if c != g && !(c != c && g != g) && ulps(c, g) > 1 {
					t.Errorf("%s%v = %v, but Go's %s[float32] gives %v", op.c, a, c, op.name, g)
				}
			}
		}
	})
}

// runPrelude builds and runs a program that includes the prelude with
// real = typ and calls each op's CUDA function on unaryArgs, and returns
// the results, as float64, per op and argument list.
func runPrelude[T Float](t *testing.T, emulation, prelude, typ string, ops []unaryOp[T]) [][]float64 {
	t.Helper()
	lit := func(v float64) string {
		switch {
		case math.IsNaN(v):
			return "__builtin_nan(\"\")"
		case math.IsInf(v, 1):
			return "__builtin_inf()"
		case math.IsInf(v, -1):
			return "-__builtin_inf()"
		}
		return strconv.FormatFloat(float64(T(v)), 'x', -1, 64)
	}
	var src bytes.Buffer
	fmt.Fprintf(&src, "typedef %s real;\n#include %q\n#include <cstdio>\n\n", typ, prelude)
	src.WriteString("static const struct { int op; double a[4]; } cases[] = {\n")
	n := 0
	for i, op := range ops {
		for _, a := range unaryArgs(op.grad, op.params) {
			lits := make([]string, len(a))
			for j, v := range a {
				lits[j] = lit(v)
			}
			fmt.Fprintf(&src, "  {%d, {%s}},\n", i, strings.Join(lits, ", "))
			n++
		}
	}
	src.WriteString("};\n\nstatic double call(int op, const double* a) {\n  switch (op) {\n")
	for i, op := range ops {
		params := make([]string, 1+len(op.params))
		if op.grad {
			params = append(params, "")
		}
		for j := range params {
			params[j] = fmt.Sprintf("(real)a[%d]", j)
		}
		fmt.Fprintf(&src, "  case %d: return (double)%s(%s);\n", i, op.c, strings.Join(params, ", "))
	}
	src.WriteString("  }\n  return 0;\n}\n\nint main() {\n" +
		"  for (const auto& c : cases) printf(\"%016llx\\n\", nn_bits(call(c.op, c.a)));\n}\n")

	dir := t.TempDir()
	main, bin := filepath.Join(dir, "main.cc"), filepath.Join(dir, "main")
	if err := os.WriteFile(main, src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror",
		"-I", emulation, "-include", "nngen_emu.h", main, "-o", bin}
	if out, err := exec.Command("g++", args...).CombinedOutput(); err != nil {
		t.Fatalf("g++ %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	var results []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		b, err := strconv.ParseUint(sc.Text(), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, math.Float64frombits(b))
	}
	if len(results) != n {
		t.Fatalf("the program printed %d results for %d cases", len(results), n)
	}
	got := make([][]float64, len(ops))
	for i, op := range ops {
		k := len(unaryArgs(op.grad, op.params))
		got[i], results = results[:k], results[k:]
	}
	return got
}
