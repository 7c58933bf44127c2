package nnrt

import (
	"math"
	"testing"
)

func TestLogSoftmax(t *testing.T) {
	row := []float64{1, -2, 3.5, 1000}
	want := make([]float64, len(row))
	top := 1000.0
	var sum float64
	for _, x := range row {
		sum += math.Exp(x - top)
	}
	for i, x := range row {
		want[i] = x - top - math.Log(sum)
	}
	LogSoftmax64(row)
	for i := range row {
		if math.Abs(row[i]-want[i]) > 1e-12 {
			t.Errorf("LogSoftmax64[%d] = %g, want %g", i, row[i], want[i])
		}
	}
}

// The gradient against central differences of Σ w·log_softmax(x).
func TestLogSoftmaxGrad(t *testing.T) {
	x := []float64{0.3, -1.2, 2.0, 0.7}
	w := []float64{0.5, -1, 2, 0.25}
	f := func(x []float64) float64 {
		y := append([]float64(nil), x...)
		LogSoftmax(y)
		var s float64
		for i := range y {
			s += w[i] * y[i]
		}
		return s
	}
	y := append([]float64(nil), x...)
	LogSoftmax(y)
	dx := make([]float64, len(x))
	LogSoftmaxGrad(dx, w, y)
	const h = 1e-6
	for i := range x {
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		xp[i] += h
		xm[i] -= h
		fd := (f(xp) - f(xm)) / (2 * h)
		if math.Abs(fd-dx[i]) > 1e-8 {
			t.Errorf("dx[%d] = %g, finite differences %g", i, dx[i], fd)
		}
	}
}

// LayerNorm against its formula, and LayerNormGrad against central
// differences of Σ w·LayerNorm(x).
func TestLayerNorm(t *testing.T) {
	x := []float64{0.3, -1.2, 2.0, 0.7, 1.1}
	w := []float64{0.5, -1, 2, 0.25, -0.75}
	const eps = 1e-5
	f := func(x []float64) float64 {
		y := make([]float64, len(x))
		LayerNorm(y, x, eps)
		var s float64
		for i := range y {
			s += w[i] * y[i]
		}
		return s
	}
	y := make([]float64, len(x))
	LayerNorm(y, x, eps)
	var mean, v float64
	for _, e := range x {
		mean += e / 5
	}
	for _, e := range x {
		v += (e - mean) * (e - mean) / 5
	}
	for i := range x {
		if want := (x[i] - mean) / math.Sqrt(v+eps); math.Abs(y[i]-want) > 1e-14 {
			t.Errorf("y[%d] = %g, want %g", i, y[i], want)
		}
	}
	dx := make([]float64, len(x))
	LayerNormGrad(dx, w, x, y, eps)
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
