package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvForward: a 3×3 input, a 2×2 kernel, by hand: each output is the
// sum of the kernel times the 2×2 window under it, plus the bias; padded,
// the windows at the edges read zeros.
func TestConvForward(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float64{1, 10, 100, 1000}
	c := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 3, W: 3, R: 2, S: 2, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}
	y := make([]float64, 4)
	ConvForward64(c, y, x, w, []float64{0.5})
	want := []float64{1 + 20 + 400 + 5000 + 0.5, 2 + 30 + 500 + 6000 + 0.5, 4 + 50 + 700 + 8000 + 0.5, 5 + 60 + 800 + 9000 + 0.5}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("y = %v, want %v", y, want)
		}
	}
	c.PadH, c.PadW, c.StrideH, c.StrideW = 1, 1, 2, 2 // outputs at (-1,-1), (-1,1), (1,-1), (1,1)
	ConvForward64(c, y, x, w, nil)
	want = []float64{1000 * 1, 100*2 + 1000*3, 10*4 + 1000*7, 1*5 + 10*6 + 100*8 + 1000*9}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("padded, strided: y = %v, want %v", y, want)
		}
	}
}

// TestConvAdjoint: the convolution is linear in x and in w, and its
// gradients are its adjoints: Σ dy·conv(x, w) = Σ inputGrad(dy, w)·x =
// Σ weightGrad(dy, x)·w, for groups, strides, paddings and dilations, in
// one and two dimensions.
func TestConvAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []Conv{
		{N: 2, C: 3, K: 4, Groups: 1, H: 7, W: 6, R: 3, S: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilH: 2, DilW: 1},
		{N: 1, C: 6, K: 6, Groups: 6, H: 5, W: 5, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1},
		{N: 3, C: 4, K: 2, Groups: 2, H: 1, W: 9, R: 1, S: 4, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2, DilH: 1, DilW: 2},
	} {
		random := func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.Float64()*2 - 1
			}
			return v
		}
		x, w := random(c.N*c.C*c.H*c.W), random(c.K*(c.C/c.Groups)*c.R*c.S)
		dy := random(c.N * c.K * c.P() * c.Q())
		y, dx, dw := make([]float64, len(dy)), make([]float64, len(x)), make([]float64, len(w))
		ConvForward64(c, y, x, w, nil)
		ConvInputGrad64(c, dx, dy, w)
		ConvWeightGrad64(c, dw, dy, x)
		dot := func(a, b []float64) (s float64) {
			for i := range a {
				s += a[i] * b[i]
			}
			return s
		}
		want := dot(dy, y)
		for name, got := range map[string]float64{"input": dot(dx, x), "weight": dot(dw, w)} {
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("%+v: Σ %s grad · %s = %v, Σ dy·y = %v", c, name, name, got, want)
			}
		}
	}
}

// TestPooling: 2×2 windows of stride 2 over a 4×4 plane, by hand; with
// padding 1 and stride 1 on a 2×2 plane, max reads the padding as -∞ and
// avg as zeros counted in the divisor; the max's gradient goes to the
// first largest of a tie.
func TestPooling(t *testing.T) {
	x := []float64{
		1, 5, 2, 2,
		3, 4, 2, 2,
		0, -1, 7, 6,
		-2, -3, 8, 9,
	}
	c := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 4, W: 4, R: 2, S: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	y := make([]float64, 4)
	MaxPoolForward64(c, y, x)
	if want := []float64{5, 2, 0, 9}; !slicesEqual(y, want) {
		t.Errorf("max pool %v, want %v", y, want)
	}
	AvgPoolForward64(c, y, x)
	if want := []float64{13.0 / 4, 2, -6.0 / 4, 30.0 / 4}; !slicesEqual(y, want) {
		t.Errorf("avg pool %v, want %v", y, want)
	}
	dx := make([]float64, 16)
	MaxPoolGrad64(c, dx, []float64{1, 2, 3, 4}, x)
	want := make([]float64, 16)
	want[1], want[2], want[8], want[15] = 1, 2, 3, 4 // the tie of 2s: the first, row-major
	if !slicesEqual(dx, want) {
		t.Errorf("max pool grad %v, want %v", dx, want)
	}
	AvgPoolGrad64(c, dx, []float64{4, 8, 12, 16})
	if dx[0] != 1 || dx[5] != 1 || dx[2] != 2 || dx[15] != 4 {
		t.Errorf("avg pool grad %v", dx)
	}

	p := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 2, W: 2, R: 2, S: 2, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
	small := []float64{-1, -2, -3, -4}
	y = make([]float64, 9)
	MaxPoolForward64(p, y, small)
	if want := []float64{-1, -1, -2, -1, -1, -2, -3, -3, -4}; !slicesEqual(y, want) {
		t.Errorf("padded max pool %v, want %v", y, want)
	}
	AvgPoolForward64(p, y, small)
	if want := []float64{-0.25, -0.75, -0.5, -1, -2.5, -1.5, -0.75, -1.75, -1}; !slicesEqual(y, want) {
		t.Errorf("padded avg pool %v, want %v", y, want)
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPoolingAllocs(t *testing.T) {
	c := Conv{N: 2, C: 3, K: 3, Groups: 3, H: 8, W: 8, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
	x, y := make([]float32, 2*3*8*8), make([]float32, 2*3*c.P()*c.Q())
	dx := make([]float32, len(x))
	if n := testing.AllocsPerRun(10, func() {
		MaxPoolForward32(c, y, x)
		MaxPoolGrad32(c, dx, y, x)
		AvgPoolForward32(c, y, x)
		AvgPoolGrad32(c, dx, y)
	}); n != 0 {
		t.Errorf("pooling allocates %v times", n)
	}
}
