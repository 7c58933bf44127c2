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
// TestLayerNormAffine checks LayerNormAffine against LayerNorm then ·w + b,
// and its gradients by central differences in float64: dx through
// LayerNormAffineGrad, dw summed over two rows by LayerNormWeightGrad,
// of the loss Σ u·y for fixed u.
func TestLayerNormAffine(t *testing.T) {
	x := []float64{0.3, -1.2, 2.0, 0.7, 1.1, -0.4, 0.9, 1.7, -2.1, 0.2}
	w := []float64{1.5, -0.5, 0.8, 2, 0.3}
	b := []float64{0.1, 0.2, -0.3, 0.4, 0}
	u := []float64{0.5, -1, 2, 0.25, -0.75, 1.25, 0.3, -0.6, 0.9, -0.2}
	const eps = 1e-5
	rows := func(x, w []float64) []float64 {
		y := make([]float64, len(x))
		for r := 0; r < len(x); r += 5 {
			LayerNormAffine(y[r:r+5], x[r:r+5], w, b, eps)
		}
		return y
	}
	loss := func(x, w []float64) float64 {
		s := 0.0
		for i, y := range rows(x, w) {
			s += u[i] * y
		}
		return s
	}
	y := rows(x, w)
	plain := make([]float64, 5)
	for r := 0; r < len(x); r += 5 {
		LayerNorm(plain, x[r:r+5], eps)
		for i := range plain {
			if want := plain[i]*w[i] + b[i]; y[r+i] != want {
				t.Errorf("y[%d] = %g, want %g", r+i, y[r+i], want)
			}
		}
	}
	dx, dw := make([]float64, len(x)), make([]float64, len(w))
	for r := 0; r < len(x); r += 5 {
		LayerNormAffineGrad(dx[r:r+5], u[r:r+5], x[r:r+5], w, eps)
		LayerNormWeightGrad(dw, u[r:r+5], x[r:r+5], eps)
	}
	const h = 1e-6
	central := func(v []float64, i int, f func() float64) float64 {
		old := v[i]
		v[i] = old + h
		up := f()
		v[i] = old - h
		down := f()
		v[i] = old
		return (up - down) / (2 * h)
	}
	for i := range x {
		if fd := central(x, i, func() float64 { return loss(x, w) }); math.Abs(fd-dx[i]) > 1e-8 {
			t.Errorf("dx[%d] = %g, finite differences %g", i, dx[i], fd)
		}
	}
	for i := range w {
		if fd := central(w, i, func() float64 { return loss(x, w) }); math.Abs(fd-dw[i]) > 1e-8 {
			t.Errorf("dw[%d] = %g, finite differences %g", i, dw[i], fd)
		}
	}
	noBias := make([]float64, 5)
	LayerNormAffine(noBias, x[:5], w, nil, eps)
	for i := range noBias {
		if want := y[i] - b[i]; math.Abs(noBias[i]-want) > 1e-15 {
			t.Errorf("without bias: y[%d] = %g, want %g", i, noBias[i], want)
		}
	}
}

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

// TestLayerNormGrads checks LayerNormGrads against LayerNormAffineGrad and
// LayerNormWeightGrad: the same numbers, to the bit.
func TestLayerNormGrads(t *testing.T) {
	r := NewRNG(7)
	const rows, width, eps = 3, 70, 1e-5
	dy, x, w := make([]float32, rows*width), make([]float32, rows*width), make([]float32, width)
	FillUniform(r, dy, 1)
	FillUniform(r, x, 2)
	FillUniform(r, w, 1.5)
	dx1, dx2 := make([]float32, rows*width), make([]float32, rows*width)
	dw1, dw2 := make([]float32, width), make([]float32, width)
	for row := 0; row < rows*width; row += width {
		LayerNormAffineGrad(dx1[row:row+width], dy[row:row+width], x[row:row+width], w, eps)
		LayerNormWeightGrad(dw1, dy[row:row+width], x[row:row+width], eps)
		LayerNormGrads(dx2[row:row+width], dw2, dy[row:row+width], x[row:row+width], w, eps)
	}
	for i := range dx1 {
		if dx1[i] != dx2[i] {
			t.Fatalf("dx[%d] = %v, want %v", i, dx2[i], dx1[i])
		}
	}
	for i := range dw1 {
		if dw1[i] != dw2[i] {
			t.Fatalf("dw[%d] = %v, want %v", i, dw2[i], dw1[i])
		}
	}
}
