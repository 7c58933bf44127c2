package nnrt

import (
	"math"
	"testing"
)

// grid holds the points where the element-wise helpers are checked:
// negatives and positives, near zero, and large enough to saturate.
var grid = []float64{
	-1000, -30, -7.5, -3, -1.5, -1, -0.75, -0.3, -1e-3, -1e-8,
	0, 1e-8, 1e-3, 0.3, 0.75, 1, 1.5, 3, 7.5, 30, 1000,
}

// derivative is f'(x) by central differences. The step scales with |x| so
// that x±h stays well apart in float64. Its truncation error, about
// h²·f⁽³⁾/6, and its rounding error, about ε·|f|/h, are both near 1e-10 on
// the grid for the element-wise helpers, whose large inputs are in their
// straight or flat parts.
func derivative(f func(float64) float64, x float64) float64 {
	return derivativeStep(f, x, 1e-6*max(1, math.Abs(x)))
}

// derivativeStep is f'(x) by central differences with step h, divided by
// the step actually taken after rounding x±h.
func derivativeStep(f func(float64) float64, x, h float64) float64 {
	hi, lo := x+h, x-h
	return (f(hi) - f(lo)) / (hi - lo)
}

// closeTo reports whether got is within a relative 1e-7 of want; the
// absolute 1e-9 allows for the finite differences' own error where the
// derivative is about 0.
func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= 1e-7*math.Abs(want)+1e-9
}

// Each activation's gradient helper is dy times the derivative of its
// forward helper. The gradient helpers take the activation's output y,
// except gelu's, which take its input x.
func TestActivationGradients(t *testing.T) {
	const alpha = 0.2
	tests := []struct {
		name       string
		f          func(x float64) float64
		grad       func(dy, x, y float64) float64
		kinkAtZero bool // not differentiable at 0: skip points within a step of it
	}{
		{"sigmoid", Sigmoid[float64], func(dy, _, y float64) float64 { return SigmoidGrad(dy, y) }, false},
		{"relu", ReLU[float64], func(dy, _, y float64) float64 { return ReLUGrad(dy, y) }, true},
		{"tanh", Tanh[float64], func(dy, _, y float64) float64 { return TanhGrad(dy, y) }, false},
		{"leaky_relu", func(x float64) float64 { return LeakyReLU(x, alpha) },
			func(dy, _, y float64) float64 { return LeakyReLUGrad(dy, y, alpha) }, true},
		{"leaky_relu alpha 0", func(x float64) float64 { return LeakyReLU(x, 0) },
			func(dy, _, y float64) float64 { return LeakyReLUGrad(dy, y, 0) }, true},
		{"gelu", GELU[float64], func(dy, x, _ float64) float64 { return GELUGrad(dy, x) }, false},
		{"gelu tanh", GELUTanh[float64], func(dy, x, _ float64) float64 { return GELUTanhGrad(dy, x) }, false},
	}
	for _, tt := range tests {
		for _, x := range grid {
			if tt.kinkAtZero && math.Abs(x) < 1e-5 {
				continue
			}
			slope := derivative(tt.f, x)
			for _, dy := range []float64{1, -0.75} {
				if got, want := tt.grad(dy, x, tt.f(x)), dy*slope; !closeTo(got, want) {
					t.Errorf("%s: gradient at x=%v, dy=%v is %.17g, finite differences give %.17g", tt.name, x, dy, got, want)
				}
			}
		}
	}
}

// At the kink, PyTorch takes the left derivative: relu's threshold_backward
// passes nothing where x ≤ 0, leaky_relu's backward scales by alpha.
func TestGradientsAtZero(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, y := range []float64{0, negZero} {
		if got := ReLUGrad(3.0, y); got != 0 {
			t.Errorf("ReLUGrad(3, %v) = %v, want 0", y, got)
		}
		if got := LeakyReLUGrad(3.0, y, 0.25); got != 0.75 {
			t.Errorf("LeakyReLUGrad(3, %v, 0.25) = %v, want 0.75", y, got)
		}
	}
	// Both gelu gradients are 1/2 at 0: Φ(0) + 0·φ(0).
	if got := GELUGrad(2.0, 0); got != 1 {
		t.Errorf("GELUGrad(2, 0) = %v, want 1", got)
	}
	if got := GELUTanhGrad(2.0, 0); got != 1 {
		t.Errorf("GELUTanhGrad(2, 0) = %v, want 1", got)
	}
	if got := SigmoidGrad(4.0, Sigmoid(0.0)); got != 1 {
		t.Errorf("SigmoidGrad(4, σ(0)) = %v, want 1", got)
	}
	if got := TanhGrad(4.0, Tanh(0.0)); got != 4 {
		t.Errorf("TanhGrad(4, tanh 0) = %v, want 4", got)
	}
}

// Reference values from the formulas evaluated in 40-digit arithmetic
// (mpmath): x·Φ(x) = x/2·(1 + erf(x/√2)) and
// x/2·(1 + tanh(√(2/π)·(x + 0.044715x³))), rounded to float64.
func TestGELUValues(t *testing.T) {
	tests := []struct{ x, gelu, geluTanh float64 }{
		{1, 0.8413447460685429, 0.8411919906082767},
		{-1, -0.15865525393145705, -0.1588080093917233},
		{0.5, 0.34573123063700656, 0.34571400982514394},
		{2, 1.9544997361036416, 1.954597694087775},
		{-2, -0.04550026389635842, -0.04540230591222498},
		{3, 2.99595030590511, 2.996362607918227},
		{-3, -0.0040496940948902835, -0.003637392081773019},
	}
	for _, tt := range tests {
		// A few ulps: erf, tanh and the products each round, and for
		// negative x, 1 + erf(x/√2) and 1 + tanh(...) cancel (as they
		// do in PyTorch's formulas).
		tol := 4e-16
		if tt.x < -1 {
			tol = 1e-13
		}
		if got := GELU(tt.x); math.Abs(got-tt.gelu) > tol*math.Abs(tt.gelu) {
			t.Errorf("GELU(%v) = %.17g, want %.17g", tt.x, got, tt.gelu)
		}
		if got := GELUTanh(tt.x); math.Abs(got-tt.geluTanh) > tol*math.Abs(tt.geluTanh) {
			t.Errorf("GELUTanh(%v) = %.17g, want %.17g", tt.x, got, tt.geluTanh)
		}
	}
	for _, tt := range []struct{ x, want float64 }{
		{0, 0}, {1000, 1000}, {-1000, 0}, {math.Inf(1), math.Inf(1)},
	} {
		if got := GELU(tt.x); got != tt.want {
			t.Errorf("GELU(%v) = %v, want %v", tt.x, got, tt.want)
		}
		if got := GELUTanh(tt.x); got != tt.want {
			t.Errorf("GELUTanh(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
	if got := GELUGrad(1.0, 1000); got != 1 {
		t.Errorf("GELUGrad(1, 1000) = %v, want 1", got)
	}
	if got := GELUGrad(1.0, -1000); got != 0 {
		t.Errorf("GELUGrad(1, -1000) = %v, want 0", got)
	}
}

func TestElementwiseValues(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		name      string
		got, want float64
	}{
		{"ReLU(2.5)", ReLU(2.5), 2.5},
		{"ReLU(-2.5)", ReLU(-2.5), 0},
		{"ReLU(-Inf)", ReLU(math.Inf(-1)), 0},
		{"Tanh(1)", Tanh(1.0), math.Tanh(1)},
		{"Tanh(-1000)", Tanh(-1000.0), -1},
		{"LeakyReLU(2, 0.1)", LeakyReLU(2.0, 0.1), 2},
		{"LeakyReLU(-2, 0.1)", LeakyReLU(-2.0, 0.1), -0.2},
		{"LeakyReLU(-2, 0)", LeakyReLU(-2.0, 0), 0},
		{"LeakyReLU(-1000, 0.01)", LeakyReLU(-1000.0, 0.01), -10},
		{"Sign(3)", Sign(3.0), 1},
		{"Sign(-1e-300)", Sign(-1e-300), -1},
		{"Sign(0)", Sign(0.0), 0},
		{"Sign(-0)", Sign(math.Copysign(0, -1)), 0},
		{"Sign(+Inf)", Sign(math.Inf(1)), 1},
		// PyTorch's sign(nan) is 0 (pytorch/pytorch#41245), so an l1
		// loss whose output is NaN passes no gradient.
		{"Sign(NaN)", Sign(nan), 0},
		{"Abs(-2.5)", Abs(-2.5), 2.5},
		{"Abs(-Inf)", Abs(math.Inf(-1)), math.Inf(1)},
		{"Sqrt(2)", Sqrt(2.0), math.Sqrt2},
		{"Sqrt(0)", Sqrt(0.0), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// NaN stays NaN, as in PyTorch, where a careless max(x, 0) gives 0.
	for name, got := range map[string]float64{
		"ReLU(NaN)":      ReLU(nan),
		"Tanh(NaN)":      Tanh(nan),
		"Sigmoid(NaN)":   Sigmoid(nan),
		"LeakyReLU(NaN)": LeakyReLU(nan, 0.1),
		"GELU(NaN)":      GELU(nan),
		"GELUTanh(NaN)":  GELUTanh(nan),
		"Sqrt(-1)":       Sqrt(-1.0),
	} {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", name, got)
		}
	}
	if got := ReLU[float32](float32(nan)); got == got {
		t.Errorf("ReLU[float32](NaN) = %v, want NaN", got)
	}
}

// Pow computes the bias corrections βᵗ in float64, from the element type's
// value of β.
func TestPow(t *testing.T) {
	for _, tt := range []struct {
		got, want float64
	}{
		{Pow(0.9, 0), 1},
		{Pow(0.9, 1), 0.9},
		{Pow(2.0, 10), 1024},
		{Pow(0.5, 1074), 5e-324},
		{Pow(0.5, 1075), 0},
		{Pow(0.999, 10), math.Pow(0.999, 10)},
		{Pow(-2.0, 3), -8},
		// float32's 0.9 is 0.89999997615814208984375.
		{Pow[float32](0.9, 1), 0.89999997615814208984375},
		{Pow[float32](0.9, 2), 0.89999997615814208984375 * 0.89999997615814208984375},
	} {
		if tt.got != tt.want {
			t.Errorf("Pow = %v, want %v", tt.got, tt.want)
		}
	}
	if got, want := Pow(0.999, 1000), math.Exp(1000*math.Log(0.999)); math.Abs(got-want) > 1e-13*want {
		t.Errorf("Pow(0.999, 1000) = %v, want %v", got, want)
	}
}

func TestSoftmax(t *testing.T) {
	rows := [][]float64{
		{0, 0},
		{1, 2, 3},
		{0.3, -1.2, 2.5, 0.1},
		{-5, 5},
		{1000, 1001},
		{-1000, -1001, -999},
		{1000, 1001, -1000},
		{7},
	}
	for _, row := range rows {
		y := append([]float64(nil), row...)
		Softmax(y)
		var sum float64
		for i, v := range y {
			if math.IsNaN(v) || v < 0 || v > 1 {
				t.Fatalf("Softmax(%v)[%d] = %v", row, i, v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 4e-16*float64(len(row)) {
			t.Errorf("Softmax(%v) sums to %.17g", row, sum)
		}
		// Softmax is the gradient of LogSumExp. Neither depends on the
		// row's offset, so the step does not grow with |x|; it is large
		// enough that LogSumExp's rounding, ε·1000, stays small.
		for i := range row {
			lse := func(x float64) float64 {
				r := append([]float64(nil), row...)
				r[i] = x
				return LogSumExp(r)
			}
			if d := derivativeStep(lse, row[i], 1e-4); !closeTo(y[i], d) {
				t.Errorf("Softmax(%v)[%d] = %.17g, but d LogSumExp/dx = %.17g", row, i, y[i], d)
			}
		}
	}
	// e^1000/(e^1000+e^1001) = 1/(1+e).
	y := []float64{1000, 1001}
	Softmax(y)
	if want := 1 / (1 + math.E); math.Abs(y[0]-want) > 1e-16 || math.Abs(y[1]-(1-want)) > 1e-16 {
		t.Errorf("Softmax(1000, 1001) = %v, want [%v %v]", y, want, 1-want)
	}
	y = []float64{1, 2, 3}
	Softmax(y)
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	for i := range y {
		if want := e[i] / (e[0] + e[1] + e[2]); math.Abs(y[i]-want) > 4e-16*want {
			t.Errorf("Softmax(1, 2, 3)[%d] = %v, want %v", i, y[i], want)
		}
	}
}

// SoftmaxGrad gives dL/dx for L = Σ c·softmax(x), with dy = c.
func TestSoftmaxGrad(t *testing.T) {
	for _, tt := range []struct{ x, c []float64 }{
		{[]float64{0.3, -1.2, 2.5, 0.1}, []float64{0.7, -0.4, 1.3, 0.2}},
		{[]float64{1, 2, 3}, []float64{1, 0, 0}},
		{[]float64{1000, 1001, 999, -1000}, []float64{-1, 2, 0.5, 3}},
		{[]float64{-5, 5}, []float64{1, 1}}, // a constant c: the gradient is 0
	} {
		y := append([]float64(nil), tt.x...)
		Softmax(y)
		dx := make([]float64, len(y))
		SoftmaxGrad(dx, tt.c, y)
		for j := range tt.x {
			loss := func(v float64) float64 {
				r := append([]float64(nil), tt.x...)
				r[j] = v
				Softmax(r)
				var l float64
				for i := range r {
					l += tt.c[i] * r[i]
				}
				return l
			}
			// Softmax does not depend on the row's offset, so the step
			// need not grow with |x|.
			h := 1e-6
			hi, lo := tt.x[j]+h, tt.x[j]-h
			if want := (loss(hi) - loss(lo)) / (hi - lo); !closeTo(dx[j], want) {
				t.Errorf("SoftmaxGrad(x=%v, dy=%v)[%d] = %.17g, finite differences give %.17g", tt.x, tt.c, j, dx[j], want)
			}
		}
	}
	// dx may alias dy, as generated code overwrites the upstream gradient.
	y := []float64{0.2, 0.3, 0.5}
	dy := []float64{1, -1, 2}
	want := make([]float64, 3)
	SoftmaxGrad(want, append([]float64(nil), dy...), y)
	SoftmaxGrad(dy, dy, y)
	for i := range dy {
		if dy[i] != want[i] {
			t.Errorf("SoftmaxGrad in place [%d] = %v, want %v", i, dy[i], want[i])
		}
	}
}

func TestLogSumExp(t *testing.T) {
	for _, tt := range []struct {
		row  []float64
		want float64
	}{
		{[]float64{0, 0}, math.Ln2},
		{[]float64{7}, 7},
		{[]float64{1, 2, 3}, math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))},
		// log(e^1000 + e^1001) = 1001 + log(1 + 1/e); naively, +Inf.
		{[]float64{1000, 1001}, 1001.3132616875182},
		{[]float64{-1000, -1001}, -999.6867383124818},
		{[]float64{1000, -1000}, 1000},
		{[]float64{-1000, -1000, -1000, -1000}, -1000 + 2*math.Ln2},
	} {
		got := LogSumExp(tt.row)
		if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-tt.want) > 4e-16*max(1, math.Abs(tt.want)) {
			t.Errorf("LogSumExp(%v) = %.17g, want %.17g", tt.row, got, tt.want)
		}
	}
}

// naiveBCE is the textbook -[t·log σ(z) + (1-t)·log(1-σ(z))], accurate
// where σ(z) is not within rounding of 0 or 1.
func naiveBCE(z, t float64) float64 {
	s := 1 / (1 + math.Exp(-z))
	return -(t*math.Log(s) + (1-t)*math.Log(1-s))
}

func TestBCEWithLogits(t *testing.T) {
	for _, z := range []float64{-10, -3, -1, -0.25, 0, 0.25, 1, 3, 10} {
		for _, target := range []float64{0, 0.3, 0.5, 1} {
			got, want := BCEWithLogits(z, target), naiveBCE(z, target)
			if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
				t.Errorf("BCEWithLogits(%v, %v) = %.17g, want %.17g", z, target, got, want)
			}
			// d/dz = σ(z) - t, the gradient that codegen writes.
			d := derivative(func(z float64) float64 { return BCEWithLogits(z, target) }, z)
			if want := Sigmoid(z) - target; !closeTo(d, want) {
				t.Errorf("d BCEWithLogits(%v, %v)/dz = %.17g, want σ(z)-t = %.17g", z, target, d, want)
			}
		}
	}
	// Where the naive formula takes log 0, the stable one is exact.
	for _, tt := range []struct{ z, t, want float64 }{
		{1000, 1, 0},
		{1000, 0, 1000},
		{1000, 0.5, 500},
		{-1000, 0, 0},
		{-1000, 1, 1000},
		{-1000, 0.25, 250}, // -t·z
		{0, 1, math.Ln2},
	} {
		if got := BCEWithLogits(tt.z, tt.t); got != tt.want {
			t.Errorf("BCEWithLogits(%v, %v) = %v, want %v", tt.z, tt.t, got, tt.want)
		}
	}
	if got := BCEWithLogits[float32](1000, 0); got != 1000 {
		t.Errorf("BCEWithLogits[float32](1000, 0) = %v, want 1000", got)
	}
}

// The float32 helpers compute what the float64 ones do on the same
// float32 inputs, rounded once more: transcendental functions evaluate in
// float64 and round once; the arithmetic-only gradient helpers round each
// operation in float32, a few roundings of half an ulp each.
func TestFloat32AgreesWithFloat64(t *testing.T) {
	const alpha = 0.2
	unary := []struct {
		name string
		f32  func(float32) float32
		f64  func(float64) float64
	}{
		{"Sigmoid", Sigmoid[float32], Sigmoid[float64]},
		{"ReLU", ReLU[float32], ReLU[float64]},
		{"Tanh", Tanh[float32], Tanh[float64]},
		{"LeakyReLU", func(x float32) float32 { return LeakyReLU(x, alpha) }, func(x float64) float64 { return LeakyReLU(x, float64(float32(alpha))) }},
		{"GELU", GELU[float32], GELU[float64]},
		{"GELUTanh", GELUTanh[float32], GELUTanh[float64]},
		{"Sign", Sign[float32], Sign[float64]},
		{"Abs", Abs[float32], Abs[float64]},
		{"Sqrt∘Abs", func(x float32) float32 { return Sqrt(Abs(x)) }, func(x float64) float64 { return Sqrt(Abs(x)) }},
		{"BCEWithLogits(x, 0.3)", func(x float32) float32 { return BCEWithLogits(x, 0.3) }, func(x float64) float64 { return BCEWithLogits(x, float64(float32(0.3))) }},
	}
	for _, tt := range unary {
		for _, x64 := range grid {
			x := float32(x64)
			got, want := tt.f32(x), float32(tt.f64(float64(x)))
			if d := ulps(got, want); d > 1 {
				t.Errorf("%s[float32](%v) = %v, %d ulps from float64's %v", tt.name, x, got, d, want)
			}
		}
	}
	binary := []struct {
		name string
		f32  func(dy, v float32) float32
		f64  func(dy, v float64) float64
		ulps int64
	}{
		{"SigmoidGrad", SigmoidGrad[float32], SigmoidGrad[float64], 2},
		{"ReLUGrad", ReLUGrad[float32], ReLUGrad[float64], 0},
		{"LeakyReLUGrad", func(dy, y float32) float32 { return LeakyReLUGrad(dy, y, alpha) },
			func(dy, y float64) float64 { return LeakyReLUGrad(dy, y, float64(float32(alpha))) }, 1},
		{"GELUGrad", GELUGrad[float32], GELUGrad[float64], 1},
		{"GELUTanhGrad", GELUTanhGrad[float32], GELUTanhGrad[float64], 1},
	}
	for _, tt := range binary {
		for _, x64 := range grid {
			// The output-based helpers get an output in their range.
			v := float32(x64)
			switch tt.name {
			case "SigmoidGrad":
				v = Sigmoid(v)
			case "TanhGrad":
				v = Tanh(v)
			}
			for _, dy := range []float32{1, -0.75, 3.3} {
				got, want := tt.f32(dy, v), float32(tt.f64(float64(dy), float64(v)))
				if d := ulps(got, want); d > tt.ulps {
					t.Errorf("%s[float32](%v, %v) = %v, %d ulps from float64's %v", tt.name, dy, v, got, d, want)
				}
			}
		}
	}

	// TanhGrad's 1 - y² cancels near |y| = 1, in float32 as in PyTorch's
	// tanh_backward: y² is off by up to half an ulp of 1, so the error is
	// about ε32·|dy| in absolute terms, not a few ulps of the result.
	const eps32 = 0x1p-23
	for _, x64 := range grid {
		y := Tanh(float32(x64))
		for _, dy := range []float32{1, -0.75, 3.3} {
			got, want := TanhGrad(dy, y), TanhGrad(float64(dy), float64(y))
			if math.Abs(float64(got)-want) > eps32*math.Abs(float64(dy))+eps32*math.Abs(want) {
				t.Errorf("TanhGrad[float32](%v, %v) = %v, float64 gives %v", dy, y, got, want)
			}
		}
	}

	// The row helpers, on rows whose differences are exact in float32.
	for _, row64 := range [][]float64{{1, 2, 3}, {0.25, -1.5, 2.5, 0.125}, {1000, 1001}, {-8, 0, 8}} {
		row := make([]float32, len(row64))
		for i, x := range row64 {
			row[i] = float32(x)
		}
		y32 := append([]float32(nil), row...)
		y64 := append([]float64(nil), row64...)
		Softmax(y32)
		Softmax(y64)
		for i := range y32 {
			// e^(x-max) rounds to float32 before the division rounds again.
			if d := ulps(y32[i], float32(y64[i])); d > 2 {
				t.Errorf("Softmax[float32](%v)[%d] = %v, %d ulps from float64's %v", row, i, y32[i], d, y64[i])
			}
		}
		dy := []float32{0.5, -1, 2, 0.25}[:len(row)]
		dx32 := make([]float32, len(row))
		SoftmaxGrad(dx32, dy, y32)
		dx64 := make([]float64, len(row))
		dy64 := make([]float64, len(row))
		y32as64 := make([]float64, len(row))
		for i := range dy {
			dy64[i], y32as64[i] = float64(dy[i]), float64(y32[i])
		}
		SoftmaxGrad(dx64, dy64, y32as64)
		var dot float64 // Σ|dy·y|, the scale of the dot product's rounding
		for i := range dy64 {
			dot += math.Abs(dy64[i] * y32as64[i])
		}
		for i := range dx32 {
			// y·(dy - Σ dy·y) cancels where dy ≈ Σ dy·y: the error is
			// n+2 roundings of the terms, times y.
			tol := float64(len(row)+2) * eps32 / 2 * (math.Abs(dy64[i]) + dot) * y32as64[i]
			if math.Abs(float64(dx32[i])-dx64[i]) > tol {
				t.Errorf("SoftmaxGrad[float32](%v)[%d] = %v, float64 gives %v", row, i, dx32[i], dx64[i])
			}
		}
		if got, want := LogSumExp(row), float32(LogSumExp(row64)); ulps(got, want) > 1 {
			t.Errorf("LogSumExp[float32](%v) = %v, float64 gives %v", row, got, want)
		}
	}
}
