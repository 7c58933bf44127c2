package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConv times the convolution's three kernels on one core: the
// digits CNN's second layer (32 samples, 16 -> 32 channels of 4×4, 3×3,
// padding 1: 2.4M multiply-adds), LeNet-5's two at batch 64, and a 3×3
// convolution of 64 -> 64 channels over 32×32 at batch 32 (1.2G). The
// reported GFLOP/s count two flops per multiply-add.
func BenchmarkConv(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    Conv
	}{
		{"digits2", Conv{N: 32, C: 16, K: 32, Groups: 1, H: 4, W: 4, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}},
		{"lenet1", Conv{N: 64, C: 1, K: 6, Groups: 1, H: 28, W: 28, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1}},
		{"lenet2", Conv{N: 64, C: 6, K: 16, Groups: 1, H: 14, W: 14, R: 5, S: 5, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}},
		{"3x3x64", Conv{N: 32, C: 64, K: 64, Groups: 1, H: 32, W: 32, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}},
	} {
		c := bc.c
		x := make([]float32, c.N*c.C*c.H*c.W)
		w := make([]float32, c.K*c.C/c.Groups*c.R*c.S)
		y := make([]float32, c.N*c.K*c.P()*c.Q())
		bias := make([]float32, c.K)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		work := make([]float32, ConvWork32(c))
		flops := 2 * float64(len(y)) * float64(c.C/c.Groups*c.R*c.S)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("%s/Forward", bc.name), func(b *testing.B) {
			for b.Loop() {
				ConvForwardReLU32(c, y, x, w, bias, work)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("%s/InputGrad", bc.name), func(b *testing.B) {
			for b.Loop() {
				ConvInputGrad32(c, dx, y, w, work)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("%s/WeightGrad", bc.name), func(b *testing.B) {
			for b.Loop() {
				ConvWeightGrad32(c, dw, y, x, work)
			}
			report(b)
		})
	}
}

// BenchmarkPool times 2×2 max pooling and its gradient on LeNet-5's first
// layer's outputs at batch 64 (64·6 planes of 28×28).
func BenchmarkPool(b *testing.B) {
	c := Conv{N: 64, C: 6, K: 6, Groups: 6, H: 28, W: 28, R: 2, S: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	x := make([]float32, c.N*c.C*c.H*c.W)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = max(float32(rng.NormFloat64()), 0) // a relu's outputs: half zeros
	}
	y := make([]float32, c.N*c.C*c.P()*c.Q())
	dx := make([]float32, len(x))
	b.Run("MaxForward", func(b *testing.B) {
		for b.Loop() {
			MaxPoolForward32(c, y, x)
		}
	})
	b.Run("MaxGrad", func(b *testing.B) {
		for b.Loop() {
			MaxPoolGrad32(c, dx, y, x)
		}
	})
}
