package nnrt

import "math"

// Batch normalization, PyTorch's BatchNorm1d and BatchNorm2d. x is laid
// out as [batch][channels][size], row-major, where size is the product of
// the spatial axes (1 for a [batch, channels] input): each channel is
// normalized over the batch·size numbers it has, then scaled by its weight
// and shifted by its bias (nil for none). Moments and sums are in float64.

// BatchNormTrain sets y = (x - μ)/√(σ² + eps)·weight + bias, with μ and σ²
// each channel's mean and biased variance over the batch, as PyTorch does
// in training mode. When mean and variance (the running statistics) are
// not nil it updates them as PyTorch does: mean ← (1 - momentum)·mean +
// momentum·μ and variance ← (1 - momentum)·variance + momentum·σ²·n/(n-1),
// the unbiased variance of the n numbers. y may be x.
func BatchNormTrain[T Float](y, x []T, channels, size int, eps, momentum float64, mean, variance, weight, bias []T) {
	batch := len(x) / (channels * size)
	n := float64(batch * size)
	for c := range channels {
		mu, ss := channelMoments(x, c, channels, size)
		normalize(y, x, c, channels, size, mu, 1/math.Sqrt(ss/n+eps), weight, bias)
		if mean != nil {
			mean[c] = T((1-momentum)*float64(mean[c]) + momentum*mu)
			variance[c] = T((1-momentum)*float64(variance[c]) + momentum*ss/(n-1))
		}
	}
}

// BatchNormEval sets y = (x - mean)/√(variance + eps)·weight + bias with
// each channel's running statistics, as PyTorch does in evaluation mode.
// y may be x.
func BatchNormEval[T Float](y, x []T, channels, size int, eps float64, mean, variance, weight, bias []T) {
	for c := range channels {
		normalize(y, x, c, channels, size, float64(mean[c]), 1/math.Sqrt(float64(variance[c])+eps), weight, bias)
	}
}

// BatchNormTrainGrad sets dx, the gradient through y = BatchNormTrain(x):
// per channel, weight·(dy - mean dy - x̂·mean(dy·x̂))/√(σ² + eps), the
// means over the channel's numbers, x̂ recomputed from x. dx may be dy.
func BatchNormTrainGrad[T Float](dx, dy, x []T, channels, size int, eps float64, weight []T) {
	batch := len(x) / (channels * size)
	n := float64(batch * size)
	for c := range channels {
		mu, ss := channelMoments(x, c, channels, size)
		rstd := 1 / math.Sqrt(ss/n+eps)
		var sum, dot float64
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				sum += float64(d)
				dot += float64(d) * (float64(x[i+j]) - mu) * rstd
			}
		}
		sum, dot = sum/n, dot/n
		scale := rstd
		if weight != nil {
			scale *= float64(weight[c])
		}
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				xhat := (float64(x[i+j]) - mu) * rstd
				dx[i+j] = T((float64(d) - sum - xhat*dot) * scale)
			}
		}
	}
}

// BatchNormEvalGrad sets dx = dy·weight/√(variance + eps), the gradient
// through y = BatchNormEval(x). dx may be dy.
func BatchNormEvalGrad[T Float](dx, dy []T, channels, size int, eps float64, variance, weight []T) {
	batch := len(dy) / (channels * size)
	for c := range channels {
		scale := 1 / math.Sqrt(float64(variance[c])+eps)
		if weight != nil {
			scale *= float64(weight[c])
		}
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				dx[i+j] = T(float64(d) * scale)
			}
		}
	}
}

// BatchNormWeightGrad sets dw[c] = Σ dy·x̂ over channel c's numbers, the
// gradient of batch normalization's weight: x̂ by the batch's statistics
// when mean and variance are nil (training mode), else by them.
func BatchNormWeightGrad[T Float](dw, dy, x []T, channels, size int, eps float64, mean, variance []T) {
	batch := len(x) / (channels * size)
	n := float64(batch * size)
	for c := range channels {
		var mu, rstd float64
		if mean == nil {
			var ss float64
			mu, ss = channelMoments(x, c, channels, size)
			rstd = 1 / math.Sqrt(ss/n+eps)
		} else {
			mu, rstd = float64(mean[c]), 1/math.Sqrt(float64(variance[c])+eps)
		}
		var dot float64
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				dot += float64(d) * (float64(x[i+j]) - mu) * rstd
			}
		}
		dw[c] = T(dot)
	}
}

// normalize sets channel c of y to (x - mu)·rstd·weight[c] + bias[c].
func normalize[T Float](y, x []T, c, channels, size int, mu, rstd float64, weight, bias []T) {
	batch := len(x) / (channels * size)
	scale, shift := rstd, 0.0
	if weight != nil {
		scale, shift = rstd*float64(weight[c]), float64(bias[c])
	}
	for b := range batch {
		i := (b*channels + c) * size
		for j, v := range x[i : i+size] {
			y[i+j] = T((float64(v)-mu)*scale + shift)
		}
	}
}

// channelMoments are channel c's mean and the sum of its squared
// deviations from it, in two passes.
func channelMoments[T Float](x []T, c, channels, size int) (mean, ss float64) {
	batch := len(x) / (channels * size)
	for b := range batch {
		i := (b*channels + c) * size
		for _, v := range x[i : i+size] {
			mean += float64(v)
		}
	}
	mean /= float64(batch * size)
	for b := range batch {
		i := (b*channels + c) * size
		for _, v := range x[i : i+size] {
			d := float64(v) - mean
			ss += d * d
		}
	}
	return mean, ss
}
