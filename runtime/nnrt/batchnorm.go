package nnrt

import "math"

// Batch normalization, PyTorch's BatchNorm1d and BatchNorm2d without their
// weight and bias (a multiply and an add after it). x is laid out as
// [batch][channels][size], row-major, where size is the product of the
// spatial axes (1 for a [batch, channels] input): each channel is
// normalized over the batch·size numbers it has. Moments are summed in
// float64.

// BatchNormTrain sets y = (x - μ) / √(σ² + eps), with μ and σ² each
// channel's mean and biased variance over the batch, as PyTorch does in
// training mode. When mean and variance (the running statistics) are not
// nil it updates them as PyTorch does: mean ← (1 - momentum)·mean +
// momentum·μ and variance ← (1 - momentum)·variance + momentum·σ²·n/(n-1),
// the unbiased variance of the n numbers. y may be x.
func BatchNormTrain[T Float](y, x []T, channels, size int, eps, momentum float64, mean, variance []T) {
	batch := len(x) / (channels * size)
	n := float64(batch * size)
	for c := range channels {
		mu, ss := channelMoments(x, c, channels, size)
		rstd := 1 / math.Sqrt(ss/n+eps)
		for b := range batch {
			i := (b*channels + c) * size
			for j, v := range x[i : i+size] {
				y[i+j] = T((float64(v) - mu) * rstd)
			}
		}
		if mean != nil {
			mean[c] = T((1-momentum)*float64(mean[c]) + momentum*mu)
			variance[c] = T((1-momentum)*float64(variance[c]) + momentum*ss/(n-1))
		}
	}
}

// BatchNormEval sets y = (x - mean) / √(variance + eps) with each
// channel's running statistics, as PyTorch does in evaluation mode. y may
// be x.
func BatchNormEval[T Float](y, x []T, channels, size int, eps float64, mean, variance []T) {
	batch := len(x) / (channels * size)
	for c := range channels {
		mu, rstd := float64(mean[c]), 1/math.Sqrt(float64(variance[c])+eps)
		for b := range batch {
			i := (b*channels + c) * size
			for j, v := range x[i : i+size] {
				y[i+j] = T((float64(v) - mu) * rstd)
			}
		}
	}
}

// BatchNormTrainGrad sets dx, the gradient through y = BatchNormTrain(x):
// per channel, (dy - mean dy - y·mean(dy·y)) / √(σ² + eps), the means over
// the channel's numbers. dx may be dy.
func BatchNormTrainGrad[T Float](dx, dy, x, y []T, channels, size int, eps float64) {
	batch := len(x) / (channels * size)
	n := float64(batch * size)
	for c := range channels {
		_, ss := channelMoments(x, c, channels, size)
		rstd := 1 / math.Sqrt(ss/n+eps)
		var sum, dot float64
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				sum += float64(d)
				dot += float64(d) * float64(y[i+j])
			}
		}
		sum, dot = sum/n, dot/n
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				dx[i+j] = T((float64(d) - sum - float64(y[i+j])*dot) * rstd)
			}
		}
	}
}

// BatchNormEvalGrad sets dx = dy / √(variance + eps), the gradient through
// y = BatchNormEval(x). dx may be dy.
func BatchNormEvalGrad[T Float](dx, dy []T, channels, size int, eps float64, variance []T) {
	batch := len(dy) / (channels * size)
	for c := range channels {
		rstd := 1 / math.Sqrt(float64(variance[c])+eps)
		for b := range batch {
			i := (b*channels + c) * size
			for j, d := range dy[i : i+size] {
				dx[i+j] = T(float64(d) * rstd)
			}
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
