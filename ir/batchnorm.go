package ir

import (
	"fmt"
	"math"
	"slices"
)

// Batch normalization, PyTorch's BatchNorm1d ([B, C] or [B, C, L]) and
// BatchNorm2d ([B, C, H, W]), its weight and bias included:
//
//	batch_norm(x [, running_mean, running_var, num_batches_tracked] [, weight, bias])
//
// (1, 3, 4 or 6 arguments). In training mode each channel is normalized by
// its mean and biased variance over the batch and the positions, and the
// running statistics, when given, are updated in place (mean ← (1-m)·mean
// + m·μ, var ← (1-m)·var + m·σ²·n/(n-1), with m the Momentum or
// 1/num_batches_tracked when Cumulative, the count incremented first); in
// evaluation mode the running statistics normalize. Then x̂·weight + bias
// per channel. The mode is the generated model's (Train and Eval), read
// when the code runs. The gradients recompute x̂ from x and the statistics
// of the mode:
//
//	batch_norm_grad(dy, x [, running_mean, running_var] [, weight]) -> dx
//	batch_norm_weight_grad(dy, x [, running_mean, running_var]) -> Σ dy·x̂ per channel
//
// (the bias's gradient is a sum of dy over every axis but the channels').

// BatchNormParts names batch_norm's arguments: its input, its running
// statistics and count (nil without them) and its weight and bias (nil
// without them).
func BatchNormParts(v *Value) (x, mean, variance, count, weight, bias *Value) {
	args := v.Args
	x = args[0]
	if len(args) >= 4 {
		mean, variance, count = args[1], args[2], args[3]
	}
	if n := len(args); n == 3 || n == 6 {
		weight, bias = args[n-2], args[n-1]
	}
	return
}

// BatchNormGradParts names the arguments of batch_norm_grad and
// batch_norm_weight_grad after dy and x: the running statistics (nil
// without them) and the weight (nil without it, and in weight_grad).
func BatchNormGradParts(v *Value) (mean, variance, weight *Value) {
	rest := v.Args[2:]
	if len(rest) >= 2 {
		mean, variance, rest = rest[0], rest[1], rest[2:]
	}
	if len(rest) == 1 {
		weight = rest[0]
	}
	return
}

// channelShape is [C] for an input x [B, C, ...].
func channelShape(x Shape) Shape { return Shape{x[1]} }

func checkBatchNormInput(op Op, x Shape, eps float64) error {
	if len(x) < 2 {
		return fmt.Errorf("%s: input %v, want [batch, channels, ...]", op, x)
	}
	if !(eps > 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("%s: eps %g, want a positive number", op, eps)
	}
	return nil
}

// batchNormShape: x [B, C, ...], the running statistics [C] and a scalar
// count, the weight and bias [C].
func batchNormShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if n := len(v.Args); n == 2 || n == 5 {
		return nil, fmt.Errorf("%s takes the input, then optionally running_mean, running_var and num_batches_tracked, then optionally weight and bias; got %d arguments", v.Op, n)
	}
	if err := checkBatchNormInput(v.Op, x, v.Eps); err != nil {
		return nil, err
	}
	_, mean, variance, count, weight, bias := BatchNormParts(v)
	c := channelShape(x)
	if mean != nil && (!slices.Equal(mean.Shape, c) || !slices.Equal(variance.Shape, c) || len(count.Shape) != 0) {
		return nil, fmt.Errorf("%s: running statistics %v and %v and count %v for input %v, want %v, %v and a scalar", v.Op, mean.Shape, variance.Shape, count.Shape, x, c, c)
	}
	if weight != nil && (!slices.Equal(weight.Shape, c) || !slices.Equal(bias.Shape, c)) {
		return nil, fmt.Errorf("%s: weight %v and bias %v for input %v, want %v", v.Op, weight.Shape, bias.Shape, x, c)
	}
	if x.Size()/x[1] < 2 {
		return nil, fmt.Errorf("%s: input %v has one value per channel: training needs more than one (PyTorch refuses it too)", v.Op, x)
	}
	if math.IsNaN(v.Momentum) || math.IsInf(v.Momentum, 0) {
		return nil, fmt.Errorf("%s: momentum %g, want a number", v.Op, v.Momentum)
	}
	return x, nil
}

// batchNormGradShape: dy and x of the input's shape, the running
// statistics and the weight [C]; weight_grad gives [C].
func batchNormGradShape(v *Value) (Shape, error) {
	dy, x := v.Args[0].Shape, v.Args[1].Shape
	if err := checkBatchNormInput(v.Op, x, v.Eps); err != nil {
		return nil, err
	}
	if !slices.Equal(dy, x) {
		return nil, fmt.Errorf("%s: dy %v and x %v differ", v.Op, dy, x)
	}
	c := channelShape(x)
	for _, a := range v.Args[2:] {
		if !slices.Equal(a.Shape, c) {
			return nil, fmt.Errorf("%s: a running statistic or weight of %v for input %v, want %v", v.Op, a.Shape, x, c)
		}
	}
	if v.Op == OpBatchNormWeightGrad {
		if len(v.Args) == 3 {
			return nil, fmt.Errorf("%s takes dy and x, and optionally the running mean and variance; got 3 arguments", v.Op)
		}
		return c, nil
	}
	return x, nil
}

// batchNormSamples: the batch's statistics mix the samples, so a network
// with batch normalization takes the full batch only.
func batchNormSamples(v *Value, in []bool) (bool, error) {
	if slices.Contains(in, true) {
		return false, fmt.Errorf("normalizes by statistics over the batch, which mix the samples")
	}
	return false, nil
}
