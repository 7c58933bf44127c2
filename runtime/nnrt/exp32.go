package nnrt

import "math"

// Exp32 is e^x in float32, within 1 ulp of the correctly rounded result
// for normal results (tests check every float32 in [-87, 88] on a grid),
// at about a third of the cost of math.Exp: range reduction x = k·ln2 + r
// with |r| ≤ ln2/2 (ln2 split in two parts, so k·ln2 is exact), a degree-6
// polynomial for e^r (Cephes' expf coefficients), then the exponent k added
// into the bits.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	// k = x·log2(e) rounded to nearest; the conversion truncates toward 0.
	t := x * 1.442695040888963
	if t < 0 {
		t -= 0.5
	} else {
		t += 0.5
	}
	k := float32(int32(t))
	// The explicit conversions round every product, so that no compiler
	// fuses them into FMAs (Go may, with GOAMD64=v3): Exp32 gives the same
	// bits whatever the build.
	r := x - float32(k*0.693359375) + float32(k*2.12194440e-4)
	z := float32(r * r)
	p := float32(1.9875691500e-4*r) + 1.3981999507e-3
	p = float32(p*r) + 8.3334519073e-3
	p = float32(p*r) + 4.1665795894e-2
	p = float32(p*r) + 1.6666665459e-1
	p = float32(p*r) + 5.0000001201e-1
	y := float32(p*z) + r + 1
	e := int32(k)
	if e < -125 {
		// A subnormal result: scale in two steps so no step underflows early.
		return float32(y*math.Float32frombits(uint32(e+126+127)<<23)) * math.Float32frombits(1<<23)
	}
	return y * math.Float32frombits(uint32(e+127)<<23)
}

// Sigmoid32 is 1/(1+e^-x) in float32 through Exp32: within a few ulps,
// and about twice as fast as Sigmoid[float32], which goes through
// float64. It saturates to 0 and 1 like Sigmoid.
func Sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + Exp32(-x))
	}
	e := Exp32(x)
	return e / (1 + e)
}
