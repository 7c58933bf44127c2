package nnrt

import "math"

// Functions of a row (the last axis of a tensor) that generated code calls.

// LogSoftmax replaces row with row - log Σ e^row, PyTorch's log_softmax,
// shifted by the row's maximum so that no exponential overflows.
func LogSoftmax[T Float](row []T) {
	top := rowMax(row)
	var sum float64
	for _, x := range row {
		sum += expOf(x - top)
	}
	shift := float64(top) + math.Log(sum)
	for i, x := range row {
		row[i] = T(float64(x) - shift)
	}
}

// LogSoftmax32 is LogSoftmax for float32 rows.
func LogSoftmax32(row []float32) { LogSoftmax(row) }

// LogSoftmax64 is LogSoftmax for float64 rows.
func LogSoftmax64(row []float64) { LogSoftmax(row) }

// LogSoftmaxGrad sets dx = dy - e^y·Σ dy, the gradient through
// y = log_softmax(x).
func LogSoftmaxGrad[T Float](dx, dy, y []T) {
	var sum T
	for _, d := range dy {
		sum += d
	}
	for i := range y {
		dx[i] = dy[i] - T(math.Exp(float64(y[i])))*sum
	}
}

// LayerNorm sets y = (x - mean x) / √(var x + eps) over one row, PyTorch's
// layer_norm without its weight and bias; the variance is the biased one,
// and both moments are summed in float64. y may be x.
func LayerNorm[T Float](y, x []T, eps float64) {
	mean, rstd := moments(x, eps)
	for i, v := range x {
		y[i] = T((float64(v) - mean) * rstd)
	}
}

// LayerNormGrad sets dx, the gradient through y = LayerNorm(x):
// (dy - mean dy - y·mean(dy·y)) / √(var x + eps).
func LayerNormGrad[T Float](dx, dy, x, y []T, eps float64) {
	_, rstd := moments(x, eps)
	var sum, dot float64
	for i := range dy {
		sum += float64(dy[i])
		dot += float64(dy[i]) * float64(y[i])
	}
	n := float64(len(dy))
	for i := range dx {
		dx[i] = T((float64(dy[i]) - sum/n - float64(y[i])*dot/n) * rstd)
	}
}

// LayerNormAffine sets y = x̂·w + b over one row, x̂ = (x - mean x) /
// √(var x + eps) as LayerNorm's, rounded to T before the weight and bias
// (b nil: none): PyTorch's layer_norm with its weight and bias, in one
// loop. y may be x.
func LayerNormAffine[T Float](y, x, w, b []T, eps float64) {
	mean, rstd := moments(x, eps)
	y, w = y[:len(x)], w[:len(x)] // no bounds checks in the loops
	if b == nil {
		for i, v := range x {
			y[i] = T((float64(v)-mean)*rstd) * w[i]
		}
		return
	}
	b = b[:len(x)]
	for i, v := range x {
		y[i] = T((float64(v)-mean)*rstd)*w[i] + b[i]
	}
}

// LayerNormAffineGrad sets dx, the gradient through y = LayerNormAffine(x,
// w, b): with g = dy·w and x̂ recomputed from x, (g - mean g - x̂·mean(g·x̂))
// / √(var x + eps), summed in float64.
func LayerNormAffineGrad[T Float](dx, dy, x, w []T, eps float64) {
	mean, rstd, meanG, meanGX := gradMoments(dy, x, w, eps)
	dy, x, w = dy[:len(dx)], x[:len(dx)], w[:len(dx)]
	for i := range dx {
		g := float64(dy[i]) * float64(w[i])
		dx[i] = T((g - meanG - (float64(x[i])-mean)*rstd*meanGX) * rstd)
	}
}

// gradMoments are what a layer norm's gradient needs of a row besides its
// elements: mean x, 1/√(var x + eps), mean g and mean(g·x̂) for g = dy·w,
// in two passes (the variance's and the gradient's sums share the
// second), each sum in two chains, in float64.
func gradMoments[T Float](dy, x, w []T, eps float64) (mean, rstd, meanG, meanGX float64) {
	mean = meanOf(x)
	var ss [4]float64 // as moments sums them: the same rstd
	squares(&ss, x, mean)
	dy, w = dy[:len(x)], w[:len(x)]
	var g0, g1, d0, d1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		ga, gb := float64(dy[i])*float64(w[i]), float64(dy[i+1])*float64(w[i+1])
		g0 += ga
		g1 += gb
		d0 += ga * (float64(x[i]) - mean)
		d1 += gb * (float64(x[i+1]) - mean)
	}
	if i < len(x) {
		g := float64(dy[i]) * float64(w[i])
		g0 += g
		d0 += g * (float64(x[i]) - mean)
	}
	n := float64(len(x))
	rstd = rstdOf(ss, len(x), eps)
	return mean, rstd, (g0 + g1) / n, (d0 + d1) * rstd / n
}

// LayerNormGrads is LayerNormAffineGrad and LayerNormWeightGrad of one
// row in one call, which computes the row's moments once for both: the
// same numbers as the two calls.
func LayerNormGrads[T Float](dx, dw, dy, x, w []T, eps float64) {
	mean, rstd, meanG, meanGX := gradMoments(dy, x, w, eps)
	dw, dy, x, w = dw[:len(dx)], dy[:len(dx)], x[:len(dx)], w[:len(dx)]
	for i := range dx {
		xhat := (float64(x[i]) - mean) * rstd
		g := float64(dy[i]) * float64(w[i])
		dx[i] = T((g - meanG - xhat*meanGX) * rstd)
		dw[i] += dy[i] * T(xhat)
	}
}

// LayerNormWeightGrad adds one row's share of the weight's gradient,
// dy·x̂, to dw: called for every row, it sums them.
func LayerNormWeightGrad[T Float](dw, dy, x []T, eps float64) {
	mean, rstd := moments(x, eps)
	for i := range dw {
		dw[i] += dy[i] * T((float64(x[i])-mean)*rstd)
	}
}

// meanOf is a row's mean, summed in float64 in four chains (see moments).
func meanOf[T Float](x []T) float64 {
	var m0, m1, m2, m3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		m0 += float64(q[0])
		m1 += float64(q[1])
		m2 += float64(q[2])
		m3 += float64(q[3])
	}
	for ; i < len(x); i++ {
		switch i & 3 {
		case 0:
			m0 += float64(x[i])
		case 1:
			m1 += float64(x[i])
		default:
			m2 += float64(x[i])
		}
	}
	return ((m0 + m1) + (m2 + m3)) / float64(len(x))
}

// moments are a row's mean and 1/√(var + eps), its variance the biased
// one, summed in float64 in two passes. Each pass keeps four partial sums
// (elements i mod 4), added at the end: four independent chains of
// float64 adds instead of one, whose latency bounded the layer norms of a
// transformer's rows (64 wide: 3x faster); in float64 the order changes
// the result only in its last bits.
func moments[T Float](x []T, eps float64) (mean, rstd float64) {
	mean = meanOf(x)
	var ss [4]float64
	squares(&ss, x, mean)
	return mean, rstdOf(ss, len(x), eps)
}

// squares adds (x[i] - mean)² to ss[i mod 4], four chains in registers.
func squares[T Float](ss *[4]float64, x []T, mean float64) {
	s0, s1, s2, s3 := ss[0], ss[1], ss[2], ss[3]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(q[0])-mean, float64(q[1])-mean, float64(q[2])-mean, float64(q[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - mean
		switch i & 3 {
		case 0:
			s0 += d * d
		case 1:
			s1 += d * d
		default:
			s2 += d * d
		}
	}
	*ss = [4]float64{s0, s1, s2, s3}
}

// rstdOf is 1/√(var + eps) from the four chains of squares of a row of n.
func rstdOf(ss [4]float64, n int, eps float64) float64 {
	return 1 / math.Sqrt(((ss[0]+ss[1])+(ss[2]+ss[3]))/float64(n)+eps)
}
