package ir

import (
	"fmt"
	"slices"
)

// Convolutions over one or two spatial axes, as PyTorch's Conv1d and
// Conv2d: x [batch, in, *spatial], w [out, in/groups, *kernel], an
// optional bias [out], and per spatial axis a stride, a zero padding on
// both sides and a dilation (Attrs.Stride, Pad, Dilation), with the
// channels in Groups groups. The gradients take the shapes they give
// back as To: conv_input_grad(dy, w) is x's, conv_weight_grad(dy, x) w's.

// ConvOut is the spatial size of a convolution's result along one axis:
// PyTorch's floor((in + 2·pad - dilation·(kernel-1) - 1) / stride) + 1.
func ConvOut(in, kernel, stride, pad, dilation int) int {
	return (in+2*pad-dilation*(kernel-1)-1)/stride + 1
}

// convResult checks a convolution of x by w under the attributes and
// returns its result's shape.
func convResult(op Op, x, w Shape, a Attrs) (Shape, error) {
	if len(x) != 3 && len(x) != 4 {
		return nil, fmt.Errorf("%s: input %v, want [batch, channels, length] or [batch, channels, height, width]", op, x)
	}
	d := len(x) - 2
	if len(w) != len(x) {
		return nil, fmt.Errorf("%s: weight %v for input %v, want [out, in/groups, %d kernel sizes]", op, w, x, d)
	}
	if len(a.Stride) != d || len(a.Pad) != d || len(a.Dilation) != d {
		return nil, fmt.Errorf("%s: stride %s, padding %s, dilation %s, want %d of each", op, ints(a.Stride), ints(a.Pad), ints(a.Dilation), d)
	}
	g := a.Groups
	if g < 1 || x[1]%g != 0 || w[0]%g != 0 || w[1]*g != x[1] {
		return nil, fmt.Errorf("%s: %d groups of input %v and weight %v: want the channels (%d in, %d out) in whole groups and the weight [out, in/groups, ...]", op, g, x, w, x[1], w[0])
	}
	out := Shape{x[0], w[0]}
	for i := range d {
		if a.Stride[i] < 1 || a.Dilation[i] < 1 || a.Pad[i] < 0 {
			return nil, fmt.Errorf("%s: stride %s, dilation %s, padding %s: want strides and dilations of at least 1, paddings of at least 0", op, ints(a.Stride), ints(a.Dilation), ints(a.Pad))
		}
		o := ConvOut(x[2+i], w[2+i], a.Stride[i], a.Pad[i], a.Dilation[i])
		if o < 1 {
			return nil, fmt.Errorf("%s: a kernel of %v (dilation %s) does not fit the input %v padded by %s", op, w[2:], ints(a.Dilation), x[2:], ints(a.Pad))
		}
		out = append(out, o)
	}
	return out, nil
}

// convShape: x, w and an optional bias [out].
func convShape(v *Value) (Shape, error) {
	out, err := convResult(v.Op, v.Args[0].Shape, v.Args[1].Shape, v.Attrs)
	if err != nil {
		return nil, err
	}
	if len(v.Args) == 3 && (len(v.Args[2].Shape) != 1 || v.Args[2].Shape[0] != out[1]) {
		return nil, fmt.Errorf("%s: bias %v, want [%d]", v.Op, v.Args[2].Shape, out[1])
	}
	return out, nil
}

// convInputGradShape: dy and w give back x's shape, To.
func convInputGradShape(v *Value) (Shape, error) {
	dy, w := v.Args[0].Shape, v.Args[1].Shape
	out, err := convResult(v.Op, v.To, w, v.Attrs)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(out, dy) {
		return nil, fmt.Errorf("%s: dy %v, but a convolution of %v by %v gives %v", v.Op, dy, v.To, w, out)
	}
	return v.To, nil
}

// convWeightGradShape: dy and x give back w's shape, To.
func convWeightGradShape(v *Value) (Shape, error) {
	dy, x := v.Args[0].Shape, v.Args[1].Shape
	out, err := convResult(v.Op, x, v.To, v.Attrs)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(out, dy) {
		return nil, fmt.Errorf("%s: dy %v, but a convolution of %v by %v gives %v", v.Op, dy, x, v.To, out)
	}
	return v.To, nil
}

// convSamples: the result has x's samples; the weights must have none.
func convSamples(v *Value, in []bool) (bool, error) {
	if in[1] || len(in) > 2 && in[2] {
		return false, fmt.Errorf("with weights that have a row per sample")
	}
	return in[0], nil
}

// convInputGradSamples: dx has dy's samples.
func convInputGradSamples(v *Value, in []bool) (bool, error) {
	if in[1] {
		return false, fmt.Errorf("with weights that have a row per sample")
	}
	return in[0], nil
}

// convWeightGradSamples: dw sums over the samples of dy and x.
func convWeightGradSamples(v *Value, in []bool) (bool, error) {
	if in[0] != in[1] {
		return false, fmt.Errorf("sums the samples of one operand against another axis")
	}
	return false, nil
}

// Pooling over one or two spatial axes, as PyTorch's max_pool1d/2d and
// avg_pool1d/2d: a window of Attrs.Kernel with Stride, Pad and (max only)
// Dilation per spatial axis, channel by channel. max_pool's padding reads
// as -∞, avg_pool's as zeros counted in the divisor (PyTorch's
// count_include_pad). The gradients: max_pool_grad(dy, x) routes dy to
// the first largest input of each window, in row-major order, as PyTorch
// does; avg_pool_grad(dy) spreads it evenly, shaped To.

// poolResult is the shape of a pooling of x under the attributes.
func poolResult(op Op, x Shape, a Attrs) (Shape, error) {
	if len(x) != 3 && len(x) != 4 {
		return nil, fmt.Errorf("%s: input %v, want [batch, channels, length] or [batch, channels, height, width]", op, x)
	}
	d := len(x) - 2
	if len(a.Kernel) != d || len(a.Stride) != d || len(a.Pad) != d || len(a.Dilation) != d {
		return nil, fmt.Errorf("%s: kernel %s, stride %s, padding %s, dilation %s, want %d of each", op, ints(a.Kernel), ints(a.Stride), ints(a.Pad), ints(a.Dilation), d)
	}
	out := Shape{x[0], x[1]}
	for i := range d {
		if a.Kernel[i] < 1 || a.Stride[i] < 1 || a.Dilation[i] < 1 || a.Pad[i] < 0 || 2*a.Pad[i] > a.Dilation[i]*(a.Kernel[i]-1)+1 {
			return nil, fmt.Errorf("%s: kernel %s, stride %s, dilation %s, padding %s: want kernels, strides and dilations of at least 1, and paddings of at most half the window's reach", op, ints(a.Kernel), ints(a.Stride), ints(a.Dilation), ints(a.Pad))
		}
		o := ConvOut(x[2+i], a.Kernel[i], a.Stride[i], a.Pad[i], a.Dilation[i])
		if o < 1 {
			return nil, fmt.Errorf("%s: a window of %s (dilation %s) does not fit the input %v padded by %s", op, ints(a.Kernel), ints(a.Dilation), x[2:], ints(a.Pad))
		}
		out = append(out, o)
	}
	return out, nil
}

func poolShape(v *Value) (Shape, error) { return poolResult(v.Op, v.Args[0].Shape, v.Attrs) }

// maxPoolGradShape: dy and x give back x's shape.
func maxPoolGradShape(v *Value) (Shape, error) {
	dy, x := v.Args[0].Shape, v.Args[1].Shape
	out, err := poolResult(v.Op, x, v.Attrs)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(out, dy) {
		return nil, fmt.Errorf("%s: dy %v, but pooling %v gives %v", v.Op, dy, x, out)
	}
	return x, nil
}

// avgPoolGradShape: dy gives back To.
func avgPoolGradShape(v *Value) (Shape, error) {
	out, err := poolResult(v.Op, v.To, v.Attrs)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(out, v.Args[0].Shape) {
		return nil, fmt.Errorf("%s: dy %v, but pooling %v gives %v", v.Op, v.Args[0].Shape, v.To, out)
	}
	return v.To, nil
}
