package kernels

import (
	"fmt"
	"math"
)

// Layer norms of float32 rows, the statistics in float64 (as package
// nnrt's): a transformer's layer norms (rows of 64) took about a fifth of
// its training step as Go loops, which convert and add one element at a
// time. The AVX-512 set runs rows whose length is a multiple of 8 in
// assembly (genLayerNorm, genLayerNormGrads), 8 elements at a time in
// float64; the Go rows below sum in the same 8 lanes and the same tree,
// with the same roundings (explicit conversions keep Go from fusing a
// multiply and an add), so every kernel set gives the same bits.

// LayerNorm32 normalizes each row of x (rows as long as w) into y:
// y = float32((x - mean)·rstd)·w + b, rstd = 1/√(var + eps), the biased
// variance; b nil: no bias. y may be x. PyTorch's layer_norm with its
// weight and bias over the row.
func LayerNorm32(y, x, w, b []float32, eps float64) {
	n := len(w)
	if n == 0 || len(x)%n != 0 || len(y) != len(x) || (b != nil && len(b) != n) {
		panic(fmt.Sprintf("kernels: LayerNorm32 of %d elements into %d, rows of %d (bias %d)", len(x), len(y), n, len(b)))
	}
	rows := len(x) / n
	if rows == 0 {
		return
	}
	if f := current().layerNorm32; f != nil && n%8 == 0 {
		var bp *float32
		if b != nil {
			bp = &b[0]
		}
		f(&y[0], &x[0], &w[0], bp, n, rows, eps)
		return
	}
	for r := range rows {
		layerNormRow(y[r*n:(r+1)*n], x[r*n:(r+1)*n], w, b, eps)
	}
}

// LayerNormGrads32 sets dx to the gradient of LayerNorm32 for each row
// and adds each row's share of the weight's gradient to dw (which the
// caller clears): with g = dy·w and x̂ = (x - mean)·rstd recomputed from
// x, dx = (g - mean g - x̂·mean(g·x̂))·rstd and dw += dy·x̂. dx may be dy.
func LayerNormGrads32(dx, dw, dy, x, w []float32, eps float64) {
	n := len(w)
	if n == 0 || len(x)%n != 0 || len(dx) != len(x) || len(dy) != len(x) || len(dw) != n {
		panic(fmt.Sprintf("kernels: LayerNormGrads32 of %d elements (dx %d, dy %d), rows of %d (dw %d)", len(x), len(dx), len(dy), n, len(dw)))
	}
	rows := len(x) / n
	if rows == 0 {
		return
	}
	if f := current().layerNormGrads32; f != nil && n%8 == 0 {
		f(&dx[0], &dw[0], &dy[0], &x[0], &w[0], n, rows, eps)
		return
	}
	for r := range rows {
		layerNormGradRow(dx[r*n:(r+1)*n], dw, dy[r*n:(r+1)*n], x[r*n:(r+1)*n], w, eps)
	}
}

// tree8 adds 8 lanes as the assembly's hsumPD does.
func tree8(l *[8]float64) float64 {
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

// rowMean is a row's mean, summed in 8 lanes.
func rowMean(x []float32) float64 {
	var l [8]float64
	for i, v := range x {
		l[i%8] += float64(v)
	}
	return tree8(&l) / float64(len(x))
}

func layerNormRow(y, x, w, b []float32, eps float64) {
	mean := rowMean(x)
	var l [8]float64
	for i, v := range x {
		d := float64(v) - mean
		l[i%8] += float64(d * d)
	}
	rstd := 1 / math.Sqrt(tree8(&l)/float64(len(x))+eps)
	w = w[:len(x)]
	for i, v := range x {
		t := float32(float32((float64(v)-mean)*rstd) * w[i])
		if b != nil {
			t += b[i]
		}
		y[i] = t
	}
}

func layerNormGradRow(dx, dw, dy, x, w []float32, eps float64) {
	mean := rowMean(x)
	dx, dw, dy, w = dx[:len(x)], dw[:len(x)], dy[:len(x)], w[:len(x)]
	var ss, gs, ds [8]float64
	for i, v := range x {
		d := float64(v) - mean
		ss[i%8] += float64(d * d)
		g := float64(dy[i]) * float64(w[i])
		gs[i%8] += g
		ds[i%8] += float64(g * d)
	}
	n := float64(len(x))
	rstd := 1 / math.Sqrt(tree8(&ss)/n+eps)
	meanG := tree8(&gs) / n
	meanGX := tree8(&ds) * rstd / n
	for i, v := range x {
		xhat := (float64(v) - mean) * rstd
		g := float64(dy[i]) * float64(w[i])
		d := float32((g - meanG - float64(xhat*meanGX)) * rstd)
		dw[i] += float32(dy[i] * float32(xhat))
		dx[i] = d
	}
}
