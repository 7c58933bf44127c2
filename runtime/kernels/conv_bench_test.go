package kernels

import "testing"

// BenchmarkConv times the direct convolution's three kernels on a layer
// of the size the digits CNN has: 32 samples, 16 -> 32 channels of 4×4, a
// 3×3 kernel with padding 1 (2.4M multiply-adds each).
func BenchmarkConv(b *testing.B) {
	c := Conv{N: 32, C: 16, K: 32, Groups: 1, H: 4, W: 4, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
	x := make([]float32, c.N*c.C*c.H*c.W)
	w := make([]float32, c.K*c.C*c.R*c.S)
	y := make([]float32, c.N*c.K*c.P()*c.Q())
	dx, dw := make([]float32, len(x)), make([]float32, len(w))
	b.Run("Forward", func(b *testing.B) {
		for b.Loop() {
			ConvForward32(c, y, x, w, nil)
		}
	})
	b.Run("InputGrad", func(b *testing.B) {
		for b.Loop() {
			ConvInputGrad32(c, dx, y, w)
		}
	})
	b.Run("WeightGrad", func(b *testing.B) {
		for b.Loop() {
			ConvWeightGrad32(c, dw, y, x)
		}
	})
}
