package nnrt

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"testing"
)

func TestSplitMix64KnownOutputs(t *testing.T) {
	tests := []struct {
		seed uint64
		want []uint64
	}{
		// The reference implementation (Vigna, splitmix64.c) seeded with 0.
		{0, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}},
		// Rosetta Code's "Pseudo-random numbers/Splitmix64" task, seed 1234567.
		{1234567, []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821}},
	}
	for _, tt := range tests {
		r := NewRNG(tt.seed)
		for i, want := range tt.want {
			if got := r.Uint64(); got != want {
				t.Errorf("seed %d: output %d = %#016x, want %#016x", tt.seed, i, got, want)
			}
		}
	}
}

// Rosetta Code's task also fixes the float conversion used here, the top 53
// bits over 2^53: 100000 draws from seed 987654321, bucketed by floor(5x).
func TestFloat64Buckets(t *testing.T) {
	r := NewRNG(987654321)
	var got [5]int
	for range 100000 {
		got[int(r.Float64()*5)]++
	}
	if want := [5]int{20027, 19892, 20073, 19978, 20030}; got != want {
		t.Errorf("buckets %v, want %v", got, want)
	}
}

func TestRNGDeterministic(t *testing.T) {
	draw := func(seed uint64) []uint64 {
		r := NewRNG(seed)
		out := make([]uint64, 64)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	if a, b := draw(42), draw(42); !slices.Equal(a, b) {
		t.Error("the same seed gave different sequences")
	}
	a, b := draw(1), draw(2)
	for i := range a {
		if a[i] == b[i] {
			t.Errorf("seeds 1 and 2 agree at draw %d: %#x", i, a[i])
		}
	}
}

func TestFloat64Range(t *testing.T) {
	r := NewRNG(7)
	lo, hi := 1.0, 0.0
	for range 100000 {
		x := r.Float64()
		if !(x >= 0 && x < 1) {
			t.Fatalf("Float64() = %v, outside [0, 1)", x)
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	if lo > 1e-4 || hi < 1-1e-4 {
		t.Errorf("100000 draws span only [%v, %v]", lo, hi)
	}
	for range 1000 {
		if x := r.Uniform(-3, 2); !(x >= -3 && x < 2) {
			t.Fatalf("Uniform(-3, 2) = %v", x)
		}
	}
}

func TestFillUniform(t *testing.T) {
	t.Run("float64", func(t *testing.T) { testFillUniform[float64](t, 0.5) })
	t.Run("float32", func(t *testing.T) { testFillUniform[float32](t, LinearBound(3)) })
}

func testFillUniform[T Float](t *testing.T, bound float64) {
	const n = 100000
	dst := make([]T, n)
	FillUniform(NewRNG(1), dst, bound)

	// The bound as the element type holds it: rounding a draw just under
	// an unrepresentable bound may land on it.
	limit := float64(T(bound))
	var sum, sumSquares float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, v := range dst {
		x := float64(v)
		if math.Abs(x) > limit {
			t.Fatalf("dst[%d] = %v, outside ±%v", i, x, bound)
		}
		sum += x
		sumSquares += x * x
		lo, hi = min(lo, x), max(hi, x)
	}
	mean := sum / n
	variance := sumSquares/n - mean*mean
	want := bound * bound / 3 // the variance of uniform(-b, b)
	// The standard error of the mean is b/√(3n), about 0.0018·b here.
	if math.Abs(mean) > 0.01*bound {
		t.Errorf("mean %v, want about 0 (bound %v)", mean, bound)
	}
	if math.Abs(variance-want) > 0.02*want {
		t.Errorf("variance %v, want %v within 2%%", variance, want)
	}
	if lo > -0.999*bound || hi < 0.999*bound {
		t.Errorf("draws span [%v, %v], want nearly ±%v", lo, hi, bound)
	}

	again := make([]T, n)
	FillUniform(NewRNG(1), again, bound)
	if !slices.Equal(dst, again) {
		t.Error("FillUniform with the same seed gave different values")
	}
}

// TestFillUniformSameEverywhere pins the bits of 65536 float64 and float32
// draws, hashed, as amd64 computes them: New(seed) must give the same
// model on every platform. Run under qemu (scripts/test-arm64.sh), it
// failed on arm64 while Go fused Uniform's multiply and add.
func TestFillUniformSameEverywhere(t *testing.T) {
	r := NewRNG(1)
	f64 := make([]float64, 1<<16)
	f32 := make([]float32, 1<<16)
	FillUniform(r, f64, LinearBound(7))
	FillUniform(r, f32, LinearBound(3))
	h64, h32 := fnv.New64a(), fnv.New64a()
	for i := range f64 {
		h64.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(f64[i])))
		h32.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(f32[i])))
	}
	if got, want := h64.Sum64(), uint64(0x8fb362cb939d7d9c); got != want {
		t.Errorf("float64 draws hash to %#x, want %#x", got, want)
	}
	if got, want := h32.Sum64(), uint64(0xb73e74db506575ec); got != want {
		t.Errorf("float32 draws hash to %#x, want %#x", got, want)
	}
}

func TestLinearBound(t *testing.T) {
	for _, tt := range []struct {
		fanIn int
		want  float64
	}{
		{1, 1},
		{4, 0.5},
		{16, 0.25},
		{3, 0.5773502691896258},
	} {
		if got := LinearBound(tt.fanIn); got != tt.want {
			t.Errorf("LinearBound(%d) = %v, want %v", tt.fanIn, got, tt.want)
		}
	}
}

var sigmoidGrid = []float64{
	0, math.Copysign(0, -1), 1e-8, -1e-8, 0.5, -0.5, 1, -1, 2.5, -2.5,
	20, -20, 36, -36, 100, -100, 700, -700, 1000, -1000,
	math.Inf(1), math.Inf(-1),
}

// sigmoid is the textbook formula, exact enough in float64 for this grid:
// exp(-x) overflows only where the answer is 0 anyway.
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestSigmoid64(t *testing.T) {
	for _, x := range sigmoidGrid {
		got, want := Sigmoid[float64](x), sigmoid(x)
		if math.IsNaN(got) || got < 0 || got > 1 {
			t.Errorf("Sigmoid[float64](%v) = %v", x, got)
			continue
		}
		if math.Abs(got-want) > 1e-15*want {
			t.Errorf("Sigmoid[float64](%v) = %v, want %v", x, got, want)
		}
		// σ(x) + σ(-x) = 1.
		if s := got + Sigmoid[float64](-x); math.Abs(s-1) > 1e-15 {
			t.Errorf("Sigmoid[float64](%v) + Sigmoid[float64](%v) = %v", x, -x, s)
		}
	}
	for _, tt := range []struct{ x, want float64 }{
		{0, 0.5},
		{math.Copysign(0, -1), 0.5},
		{1e-8, 0.5 + 0.25e-8},
		{-1e-8, 0.5 - 0.25e-8},
		{100, 1},
		{1000, 1},
		{-1000, 0},
		{math.Inf(1), 1},
		{math.Inf(-1), 0},
	} {
		if got := Sigmoid[float64](tt.x); got != tt.want {
			t.Errorf("Sigmoid[float64](%v) = %v, want exactly %v", tt.x, got, tt.want)
		}
	}
	// Large negative inputs keep their (tiny) value instead of flushing to 0.
	if got := Sigmoid[float64](-100); got <= 0 || math.Abs(got-math.Exp(-100)) > 1e-15*got {
		t.Errorf("Sigmoid[float64](-100) = %v, want about %v", got, math.Exp(-100))
	}
}

// ulps is the distance between two float32s in units in the last place.
func ulps(a, b float32) int64 {
	key := func(f float32) int64 {
		bits := int64(math.Float32bits(f))
		if bits&(1<<31) != 0 {
			return (1 << 31) - bits // negative floats count down from -0
		}
		return bits
	}
	d := key(a) - key(b)
	return max(d, -d)
}

func TestSigmoid32(t *testing.T) {
	for _, x64 := range sigmoidGrid {
		x := float32(x64)
		got := Sigmoid[float32](x)
		if math.IsNaN(float64(got)) || got < 0 || got > 1 {
			t.Errorf("Sigmoid[float32](%v) = %v", x, got)
			continue
		}
		if d := ulps(got, float32(Sigmoid[float64](float64(x)))); d > 1 {
			t.Errorf("Sigmoid[float32](%v) = %v, %d ulps from float32(Sigmoid64) = %v", x, got, d, float32(Sigmoid[float64](float64(x))))
		}
		if d := ulps(got, float32(sigmoid(float64(x)))); d > 1 {
			t.Errorf("Sigmoid[float32](%v) = %v, %d ulps from %v", x, got, d, float32(sigmoid(float64(x))))
		}
	}
	for _, tt := range []struct{ x, want float32 }{
		{0, 0.5},
		{float32(math.Copysign(0, -1)), 0.5},
		{20, 1},
		{100, 1},
		{-1000, 0},
		{float32(math.Inf(1)), 1},
		{float32(math.Inf(-1)), 0},
	} {
		if got := Sigmoid[float32](tt.x); got != tt.want {
			t.Errorf("Sigmoid[float32](%v) = %v, want exactly %v", tt.x, got, tt.want)
		}
	}
	if got := Sigmoid[float32](-100); got <= 0 {
		t.Errorf("Sigmoid[float32](-100) = %v, want a (subnormal) positive number", got)
	}
}

func TestLookup(t *testing.T) {
	weight := []float32{1, 2, 3, 4, 5, 6}
	params := []Param[float32]{
		{Name: "fc.weight", Shape: []int{2, 3}, Value: weight, Grad: make([]float32, 6)},
		{Name: "fc.bias", Shape: []int{2}, Value: []float32{7, 8}},
	}
	p, ok := Lookup(params, "fc.weight")
	if !ok || p.Name != "fc.weight" || !slices.Equal(p.Shape, []int{2, 3}) || len(p.Grad) != 6 {
		t.Fatalf("Lookup(fc.weight) = %+v, %v", p, ok)
	}
	// The result aliases the model's array, as generated Params do.
	p.Value[4] = -1
	if weight[4] != -1 {
		t.Error("Lookup's Value does not alias the parameter")
	}
	if p, ok := Lookup(params, "fc.bias"); !ok || !slices.Equal(p.Value, []float32{7, 8}) || p.Grad != nil {
		t.Errorf("Lookup(fc.bias) = %+v, %v", p, ok)
	}
	for _, name := range []string{"fc", "fc.Weight", "", "fc.weight "} {
		if p, ok := Lookup(params, name); ok || p.Name != "" || p.Value != nil {
			t.Errorf("Lookup(%q) = %+v, %v; want not found", name, p, ok)
		}
	}
	if _, ok := Lookup[float64](nil, "fc.weight"); ok {
		t.Error("Lookup found a parameter in an empty list")
	}
}

func TestSupportPackageVersion(t *testing.T) {
	if !SupportPackageIsVersion1 {
		t.Error("SupportPackageIsVersion1 is false")
	}
}

// TestFillNormal: the same seed gives the same numbers, whose mean and
// variance over many are N(0, 1)'s.
func TestFillNormal(t *testing.T) {
	a, b := make([]float64, 20001), make([]float64, 20001)
	FillNormal(NewRNG(7), a)
	FillNormal(NewRNG(7), b)
	mean, sq := 0.0, 0.0
	for i := range a {
		if a[i] != b[i] || math.IsNaN(a[i]) || math.IsInf(a[i], 0) {
			t.Fatalf("element %d: %v and %v", i, a[i], b[i])
		}
		mean += a[i]
		sq += a[i] * a[i]
	}
	mean /= float64(len(a))
	variance := sq/float64(len(a)) - mean*mean
	if math.Abs(mean) > 0.03 || math.Abs(variance-1) > 0.05 {
		t.Errorf("mean %v, variance %v; want 0 and 1", mean, variance)
	}
}
