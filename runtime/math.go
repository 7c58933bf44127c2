package runtime

import "math"

// Sigmoid32 is 1/(1+e^-x) in float32. It evaluates in float64 so the result
// is the correctly rounded float32 in all but rare halfway cases, and it
// saturates to 0 or 1 without overflow for large |x|.
func Sigmoid32(x float32) float32 { return float32(Sigmoid64(float64(x))) }

// Sigmoid64 is 1/(1+e^-x) in float64, stable for large |x|.
func Sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
