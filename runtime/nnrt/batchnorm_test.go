package nnrt

import (
	"math"
	"testing"
)

// bnInput is x [batch 3][channels 2][size 4], a weighting w of the same
// shape for a scalar Σ w·y, and a weight and bias per channel.
func bnInput() (x, w, weight, bias []float64) {
	for i := range 24 {
		x = append(x, math.Sin(float64(i)*1.3)+0.1*float64(i%5))
		w = append(w, math.Cos(float64(i)*0.7))
	}
	return x, w, []float64{1.5, 0.75}, []float64{0.25, -0.5}
}

// weighted is Σ w·y.
func weighted(w, y []float64) float64 {
	var s float64
	for i := range y {
		s += w[i] * y[i]
	}
	return s
}

// BatchNormTrain against its formula and PyTorch's running-statistics
// update; its gradients against central differences.
func TestBatchNormTrain(t *testing.T) {
	const channels, size, eps, momentum = 2, 4, 1e-5, 0.1
	x, w, weight, bias := bnInput()
	y := make([]float64, len(x))
	mean, variance := []float64{0.5, -0.25}, []float64{2, 0.5}
	BatchNormTrain(y, x, channels, size, eps, momentum, mean, variance, weight, bias)
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
				if want := (x[i]-mu)/math.Sqrt(ss/12+eps)*weight[c] + bias[c]; math.Abs(y[i]-want) > 1e-14 {
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
	loss := func(x, weight []float64) float64 {
		y := make([]float64, len(x))
		BatchNormTrain(y, x, channels, size, eps, momentum, nil, nil, weight, bias)
		return weighted(w, y)
	}
	dx := make([]float64, len(x))
	BatchNormTrainGrad(dx, w, x, channels, size, eps, weight)
	checkFD(t, "dx", func(x []float64) float64 { return loss(x, weight) }, x, dx)
	dw := make([]float64, channels)
	BatchNormWeightGrad(dw, w, x, channels, size, eps, nil, nil)
	checkFD(t, "dweight", func(weight []float64) float64 { return loss(x, weight) }, weight, dw)
}

// BatchNormEval normalizes by the running statistics; its input gradient
// is a scale, its weight gradient Σ dy·x̂ by the running statistics.
func TestBatchNormEval(t *testing.T) {
	const channels, size, eps = 2, 4, 1e-3
	x, w, weight, bias := bnInput()
	mean, variance := []float64{0.5, -0.25}, []float64{2, 0.5}
	y := make([]float64, len(x))
	BatchNormEval(y, x, channels, size, eps, mean, variance, weight, bias)
	for i := range x {
		c := i / size % channels
		if want := (x[i]-mean[c])/math.Sqrt(variance[c]+eps)*weight[c] + bias[c]; math.Abs(y[i]-want) > 1e-15 {
			t.Errorf("y[%d] = %g, want %g", i, y[i], want)
		}
	}
	loss := func(x, weight []float64) float64 {
		y := make([]float64, len(x))
		BatchNormEval(y, x, channels, size, eps, mean, variance, weight, bias)
		return weighted(w, y)
	}
	dx := make([]float64, len(x))
	BatchNormEvalGrad(dx, w, channels, size, eps, variance, weight)
	checkFD(t, "dx", func(x []float64) float64 { return loss(x, weight) }, x, dx)
	dw := make([]float64, channels)
	BatchNormWeightGrad(dw, w, x, channels, size, eps, mean, variance)
	checkFD(t, "dweight", func(weight []float64) float64 { return loss(x, weight) }, weight, dw)
}

// Without weight and bias: x̂ alone.
func TestBatchNormNoAffine(t *testing.T) {
	const channels, size, eps = 2, 4, 1e-5
	x, w, _, _ := bnInput()
	y := make([]float64, len(x))
	BatchNormTrain(y, x, channels, size, eps, 0, nil, nil, nil, nil)
	for c := range channels {
		var sum, sq float64
		for b := range 3 {
			for _, v := range y[(b*channels+c)*size:][:size] {
				sum += v
				sq += v * v
			}
		}
		if math.Abs(sum) > 1e-12 || math.Abs(sq/12-1) > 1e-4 {
			t.Errorf("channel %d: mean %g, variance %g of x̂", c, sum/12, sq/12)
		}
	}
	dx := make([]float64, len(x))
	BatchNormTrainGrad(dx, w, x, channels, size, eps, nil)
	checkFD(t, "dx", func(x []float64) float64 {
		y := make([]float64, len(x))
		BatchNormTrain(y, x, channels, size, eps, 0, nil, nil, nil, nil)
		return weighted(w, y)
	}, x, dx)
}

// checkFD compares grad with central differences of f at p.
func checkFD(t *testing.T, what string, f func([]float64) float64, p, grad []float64) {
	t.Helper()
	const h = 1e-6
	for i := range p {
		pp := append([]float64(nil), p...)
		pm := append([]float64(nil), p...)
		pp[i] += h
		pm[i] -= h
		if fd := (f(pp) - f(pm)) / (2 * h); math.Abs(fd-grad[i]) > 1e-8 {
			t.Errorf("%s[%d] = %g, finite differences %g", what, i, grad[i], fd)
		}
	}
}
