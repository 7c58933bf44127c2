package ir

import (
	"fmt"
	"math"
	"slices"
)

// Batch normalization, PyTorch's BatchNorm1d ([B, C] or [B, C, L]) and
// BatchNorm2d ([B, C, H, W]) without the weight and bias, which the front
// ends apply after it as a mul and an add. In training mode each channel
// is normalized by its mean and biased variance over the batch and the
// positions, and the running statistics, when given, are updated in place
// (mean ← (1-m)·mean + m·μ, var ← (1-m)·var + m·σ²·n/(n-1), with m the
// Momentum or 1/num_batches_tracked when Cumulative); in evaluation mode
// the running statistics normalize. The mode is the generated model's
// (Train and Eval), read when the code runs.

// batchNormShape: x [B, C, ...] and, optionally, running_mean [C],
// running_var [C] and the scalar num_batches_tracked.
func batchNormShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if len(x) < 2 {
		return nil, fmt.Errorf("%s: input %v, want [batch, channels, ...]", v.Op, x)
	}
	if n := len(v.Args); n != 1 && n != 4 {
		return nil, fmt.Errorf("%s takes the input alone or with running_mean, running_var and num_batches_tracked, got %d arguments", v.Op, n)
	}
	if len(v.Args) == 4 {
		c := Shape{x[1]}
		if !slices.Equal(v.Args[1].Shape, c) || !slices.Equal(v.Args[2].Shape, c) || len(v.Args[3].Shape) != 0 {
			return nil, fmt.Errorf("%s: running statistics %v and %v and count %v for input %v, want %v, %v and a scalar", v.Op, v.Args[1].Shape, v.Args[2].Shape, v.Args[3].Shape, x, c, c)
		}
	}
	if x[0]*(x.Size()/(x[0]*x[1])) < 2 {
		return nil, fmt.Errorf("%s: input %v has one value per channel: training needs more than one (PyTorch refuses it too)", v.Op, x)
	}
	if !(v.Eps > 0) || math.IsInf(v.Eps, 0) {
		return nil, fmt.Errorf("%s: eps %g, want a positive number", v.Op, v.Eps)
	}
	if math.IsNaN(v.Momentum) || math.IsInf(v.Momentum, 0) {
		return nil, fmt.Errorf("%s: momentum %g, want a number", v.Op, v.Momentum)
	}
	return x, nil
}

// batchNormGradShape: dy, x and y of the input's shape, and the running
// variance when batch_norm had running statistics.
func batchNormGradShape(v *Value) (Shape, error) {
	x := v.Args[1].Shape
	if len(x) < 2 {
		return nil, fmt.Errorf("%s: input %v, want [batch, channels, ...]", v.Op, x)
	}
	if !slices.Equal(v.Args[0].Shape, x) || !slices.Equal(v.Args[2].Shape, x) {
		return nil, fmt.Errorf("%s: dy %v, x %v and y %v differ", v.Op, v.Args[0].Shape, x, v.Args[2].Shape)
	}
	if len(v.Args) == 4 && !slices.Equal(v.Args[3].Shape, Shape{x[1]}) {
		return nil, fmt.Errorf("%s: running variance %v for input %v, want [%d]", v.Op, v.Args[3].Shape, x, x[1])
	}
	if !(v.Eps > 0) || math.IsInf(v.Eps, 0) {
		return nil, fmt.Errorf("%s: eps %g, want a positive number", v.Op, v.Eps)
	}
	return x, nil
}

// batchNormSamples: the batch's statistics mix the samples, so a network
// with batch normalization takes the full batch only.
func batchNormSamples(v *Value, in []bool) (bool, error) {
	if in[0] {
		return false, fmt.Errorf("normalizes by statistics over the batch, which mix the samples")
	}
	return false, nil
}
