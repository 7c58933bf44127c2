package nnrt

import (
	"math"
	"testing"
)

// bnInput is x [batch 3][channels 2][size 4] and a weighting w of the
// same shape for a scalar Σ w·y.
func bnInput() (x, w []float64) {
	for i := range 24 {
		x = append(x, math.Sin(float64(i)*1.3)+0.1*float64(i%5))
		w = append(w, math.Cos(float64(i)*0.7))
	}
	return x, w
}

// BatchNormTrain against its formula and PyTorch's running-statistics
// update; BatchNormTrainGrad against central differences.
func TestBatchNormTrain(t *testing.T) {
	const channels, size, eps, momentum = 2, 4, 1e-5, 0.1
	x, w := bnInput()
	y := make([]float64, len(x))
	mean, variance := []float64{0.5, -0.25}, []float64{2, 0.5}
	BatchNormTrain(y, x, channels, size, eps, momentum, mean, variance)
	for c := range channels {
		var vals []float64
		for b := range 3 {
			vals = append(vals, x[(b*channels+c)*size:][:size]...)
		}
		var mu, ss float64
		for _, v := range vals {
			mu += v / 12
		}
		for _, v := range vals {
			ss += (v - mu) * (v - mu)
		}
		for b := range 3 {
			for j := range size {
				i := (b*channels+c)*size + j
				if want := (x[i] - mu) / math.Sqrt(ss/12+eps); math.Abs(y[i]-want) > 1e-14 {
					t.Errorf("y[%d] = %g, want %g", i, y[i], want)
				}
			}
		}
		wantMean := []float64{0.5, -0.25}[c]*0.9 + 0.1*mu
		wantVar := []float64{2, 0.5}[c]*0.9 + 0.1*ss/11
		if math.Abs(mean[c]-wantMean) > 1e-15 || math.Abs(variance[c]-wantVar) > 1e-15 {
			t.Errorf("channel %d: running mean %g, variance %g, want %g, %g", c, mean[c], variance[c], wantMean, wantVar)
		}
	}
	f := func(x []float64) float64 {
		y := make([]float64, len(x))
		BatchNormTrain(y, x, channels, size, eps, momentum, nil, nil)
		var s float64
		for i := range y {
			s += w[i] * y[i]
		}
		return s
	}
	dx := make([]float64, len(x))
	BatchNormTrainGrad(dx, w, x, y, channels, size, eps)
	checkFD(t, f, x, dx)
}

// BatchNormEval normalizes by the running statistics; its gradient is a
// scale.
func TestBatchNormEval(t *testing.T) {
	const channels, size, eps = 2, 4, 1e-3
	x, w := bnInput()
	mean, variance := []float64{0.5, -0.25}, []float64{2, 0.5}
	y := make([]float64, len(x))
	BatchNormEval(y, x, channels, size, eps, mean, variance)
	for i := range x {
		c := i / size % channels
		if want := (x[i] - mean[c]) / math.Sqrt(variance[c]+eps); math.Abs(y[i]-want) > 1e-15 {
			t.Errorf("y[%d] = %g, want %g", i, y[i], want)
		}
	}
	f := func(x []float64) float64 {
		y := make([]float64, len(x))
		BatchNormEval(y, x, channels, size, eps, mean, variance)
		var s float64
		for i := range y {
			s += w[i] * y[i]
		}
		return s
	}
	dx := make([]float64, len(x))
	BatchNormEvalGrad(dx, w, channels, size, eps, variance)
	checkFD(t, f, x, dx)
}

// checkFD compares dx with central differences of f at x.
func checkFD(t *testing.T, f func([]float64) float64, x, dx []float64) {
	t.Helper()
	const h = 1e-6
	for i := range x {
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		xp[i] += h
		xm[i] -= h
		if fd := (f(xp) - f(xm)) / (2 * h); math.Abs(fd-dx[i]) > 1e-8 {
			t.Errorf("dx[%d] = %g, finite differences %g", i, dx[i], fd)
		}
	}
}
