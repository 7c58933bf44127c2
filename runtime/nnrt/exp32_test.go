package nnrt

import (
	"math"
	"testing"
)

// ulpDiff is the distance in float32 steps between a and the float64 b.
func ulpDiff(a float32, b float64) float64 {
	want := float32(b)
	if a == want {
		return 0
	}
	ulp := math.Abs(float64(math.Nextafter32(want, float32(math.Inf(1)))) - float64(want))
	if ulp == 0 {
		ulp = math.SmallestNonzeroFloat32
	}
	return math.Abs(float64(a)-b) / ulp
}

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x <= 88; x = math.Nextafter32(x, 100) + 1e-4 {
		d := ulpDiff(Exp32(x), math.Exp(float64(x)))
		worst = max(worst, d)
		if d > 1 {
			t.Fatalf("Exp32(%v) = %v, %v ulps from %v", x, Exp32(x), d, math.Exp(float64(x)))
		}
	}
	t.Logf("worst error %.3f ulp", worst)
	for _, tt := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
		{89, float32(math.Inf(1))}, {-104, 0},
	} {
		if got := Exp32(tt.x); got != tt.want {
			t.Errorf("Exp32(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
	if got := Exp32(float32(math.NaN())); got == got {
		t.Errorf("Exp32(NaN) = %v", got)
	}
	// Subnormal results stay close in absolute terms.
	for _, x := range []float32{-88, -95, -100, -103} {
		if got, want := float64(Exp32(x)), math.Exp(float64(x)); math.Abs(got-want) > 2*math.SmallestNonzeroFloat32 {
			t.Errorf("Exp32(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestSigmoid32Fast(t *testing.T) {
	worst := 0.0
	for x := float32(-30); x <= 30; x += 1.0 / 1024 {
		d := ulpDiff(Sigmoid32(x), 1/(1+math.Exp(-float64(x))))
		worst = max(worst, d)
		if d > 3 {
			t.Fatalf("Sigmoid32(%v) = %v, %v ulps off", x, Sigmoid32(x), d)
		}
	}
	t.Logf("worst error %.3f ulp", worst)
	if Sigmoid32(0) != 0.5 || Sigmoid32(200) != 1 || Sigmoid32(-200) != 0 {
		t.Errorf("Sigmoid32 at 0, 200, -200: %v %v %v", Sigmoid32(0), Sigmoid32(200), Sigmoid32(-200))
	}
}

var sink32 float32

func BenchmarkExp32(b *testing.B) {
	x := float32(0.3)
	for b.Loop() {
		sink32 = Exp32(x)
		x = -x
	}
}

func BenchmarkSigmoid32(b *testing.B) {
	x := float32(0.3)
	for b.Loop() {
		sink32 = Sigmoid32(x)
		x = -x
	}
}

func BenchmarkSigmoidGeneric32(b *testing.B) {
	x := float32(0.3)
	for b.Loop() {
		sink32 = Sigmoid(x)
		x = -x
	}
}
