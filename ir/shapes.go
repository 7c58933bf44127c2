package ir

import (
	"fmt"
	"math"
	"slices"
)

// The shape rules of the op table: each checks its value's arguments and
// attributes and gives the result's shape.

func linearShape(v *Value) (Shape, error) {
	x, w := v.Args[0], v.Args[1]
	if len(x.Shape) != 2 || len(w.Shape) != 2 {
		return nil, fmt.Errorf("linear: want x [batch,in] and weight [out,in], got %v and %v", x.Shape, w.Shape)
	}
	if x.Shape[1] != w.Shape[1] {
		return nil, fmt.Errorf("linear: input has %d features but the weight expects %d", x.Shape[1], w.Shape[1])
	}
	if len(v.Args) == 3 && !slices.Equal(v.Args[2].Shape, Shape{w.Shape[0]}) {
		return nil, fmt.Errorf("linear: bias shape %v, want [%d]", v.Args[2].Shape, w.Shape[0])
	}
	if _, ok := ActivationOf(v.Act); v.Act != "" && !ok {
		return nil, fmt.Errorf("linear: %q is not an activation", v.Act)
	}
	return Shape{x.Shape[0], w.Shape[0]}, nil
}

// Broadcast is the shape NumPy gives an elementwise op of a and b: aligned
// at their last axes, each axis the larger of the two, where the other is
// 1 or missing.
func Broadcast(a, b Shape) (Shape, error) {
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := range n {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast: %d against %d", a, b, da, db)
		}
	}
	return out, nil
}

// dimFromEnd is axis len(s)-1-k of s, or 1 past its first axis.
func dimFromEnd(s Shape, k int) int {
	if k >= len(s) {
		return 1
	}
	return s[len(s)-1-k]
}

func broadcastShape(v *Value) (Shape, error) {
	s, err := Broadcast(v.Args[0].Shape, v.Args[1].Shape)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", v.Op, err)
	}
	return s, nil
}

// rowsShape is for ops over the last axis: all arguments alike, not scalars.
func rowsShape(v *Value) (Shape, error) {
	if len(v.Args[0].Shape) == 0 {
		return nil, fmt.Errorf("%s: want a tensor, got a scalar", v.Op)
	}
	return sameShape(v)
}

// checkAxes checks that axes are distinct, increasing and within rank.
func checkAxes(op Op, axes []int, rank int) error {
	for i, a := range axes {
		if a < 0 || a >= rank || i > 0 && a <= axes[i-1] {
			return fmt.Errorf("%s: axes %v of a rank-%d tensor, want distinct increasing axes from 0 to %d", op, axes, rank, rank-1)
		}
	}
	return nil
}

// Reduced is shape without the axes, or with them as 1s when keep.
func Reduced(shape Shape, axes []int, keep bool) Shape {
	out := Shape{}
	for i, d := range shape {
		switch {
		case !slices.Contains(axes, i):
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}

func reduceShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if len(v.Axes) == 0 {
		return nil, fmt.Errorf("%s: no axes to reduce", v.Op)
	}
	if err := checkAxes(v.Op, v.Axes, len(x)); err != nil {
		return nil, err
	}
	return Reduced(x, v.Axes, v.KeepDims), nil
}

// layerNormShape: the normalized axes are the last ones. layer_norm's
// weight and bias, and layer_norm_affine_grad's w, are shaped like them,
// as is layer_norm_weight_grad's result; the other arguments (x, dy, y)
// have x's shape.
func layerNormShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if v.Op == OpLayerNormGrad || v.Op == OpLayerNormAffineGrad || v.Op == OpLayerNormWeightGrad {
		x = v.Args[1].Shape // dy, x, ...
	}
	if len(v.Axes) == 0 || v.Axes[len(v.Axes)-1] != len(x)-1 {
		return nil, fmt.Errorf("%s: axes %v of %v, want the last ones", v.Op, v.Axes, x)
	}
	if err := checkAxes(v.Op, v.Axes, len(x)); err != nil {
		return nil, err
	}
	for i, a := range v.Axes {
		if a != v.Axes[0]+i {
			return nil, fmt.Errorf("%s: axes %v, want consecutive trailing axes", v.Op, v.Axes)
		}
	}
	if !(v.Eps > 0) || math.IsInf(v.Eps, 0) {
		return nil, fmt.Errorf("%s: eps %g, want a positive number", v.Op, v.Eps)
	}
	norm := x[v.Axes[0]:]
	var full, normed []*Value // the arguments shaped like x, and like the normalized axes
	switch v.Op {
	case OpLayerNorm:
		full, normed = v.Args[:1], v.Args[1:]
	case OpLayerNormGrad:
		full = v.Args
	case OpLayerNormAffineGrad:
		full, normed = v.Args[:2], v.Args[2:]
	case OpLayerNormWeightGrad:
		full = v.Args
	}
	for _, a := range full {
		if !slices.Equal(a.Shape, x) {
			return nil, fmt.Errorf("%s: shapes %v and %v differ", v.Op, x, a.Shape)
		}
	}
	for _, a := range normed {
		if !slices.Equal(a.Shape, norm) {
			return nil, fmt.Errorf("%s: weight or bias of shape %v, want %v, the normalized axes' of %v", v.Op, a.Shape, norm, x)
		}
	}
	if v.Op == OpLayerNormWeightGrad {
		return slices.Clone(norm), nil
	}
	return x, nil
}

// dropoutShape: the mask is shaped like x; P is a probability.
func dropoutShape(v *Value) (Shape, error) {
	if !(v.P >= 0 && v.P <= 1) {
		return nil, fmt.Errorf("%s: p %g, want a probability from 0 to 1", v.Op, v.P)
	}
	return v.Args[0].Shape, nil
}

// causalShape: scores with a query and a key axis, the last two.
func causalShape(v *Value) (Shape, error) {
	if len(v.Args[0].Shape) < 2 {
		return nil, fmt.Errorf("%s: want scores [..., queries, keys], got %v", v.Op, v.Args[0].Shape)
	}
	return v.Args[0].Shape, nil
}

// maxGradShape: dy shaped like max's result, x and y = max(x).
func maxGradShape(v *Value) (Shape, error) {
	dy, x, y := v.Args[0].Shape, v.Args[1].Shape, v.Args[2].Shape
	if err := checkAxes(v.Op, v.Axes, len(x)); err != nil {
		return nil, err
	}
	if want := Reduced(x, v.Axes, v.KeepDims); !slices.Equal(dy, want) || !slices.Equal(y, want) {
		return nil, fmt.Errorf("%s: dy %v and y %v, want %v for x %v", v.Op, dy, y, want, x)
	}
	return x, nil
}

func reshapeShape(v *Value) (Shape, error) {
	if slices.Contains(v.To, 0) || Shape(v.To).Size() != v.Args[0].Shape.Size() {
		return nil, fmt.Errorf("reshape: %v has %d elements, %v has %d", v.Args[0].Shape, v.Args[0].Shape.Size(), v.To, Shape(v.To).Size())
	}
	return slices.Clone(v.To), nil
}

// IsPermutation reports whether perm holds 0 to len(perm)-1 once each.
func IsPermutation(perm []int) bool {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return false
		}
		seen[p] = true
	}
	return true
}

func permuteShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if len(v.Perm) != len(x) || !IsPermutation(v.Perm) {
		return nil, fmt.Errorf("permute: %v is not a permutation of the %d axes of %v", v.Perm, len(x), x)
	}
	out := make(Shape, len(x))
	for i, p := range v.Perm {
		out[i] = x[p]
	}
	return out, nil
}

func expandShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if s, err := Broadcast(x, v.To); err != nil || !slices.Equal(s, v.To) {
		return nil, fmt.Errorf("expand: %v does not broadcast to %v", x, v.To)
	}
	return slices.Clone(v.To), nil
}

func sumToShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if s, err := Broadcast(v.To, x); err != nil || !slices.Equal(s, x) {
		return nil, fmt.Errorf("sum_to: %v does not broadcast to %v", v.To, x)
	}
	return slices.Clone(v.To), nil
}

func concatShape(v *Value) (Shape, error) {
	first := v.Args[0].Shape
	if v.Axis < 0 || v.Axis >= len(first) {
		return nil, fmt.Errorf("concat: axis %d of a rank-%d tensor", v.Axis, len(first))
	}
	out := slices.Clone(first)
	for _, a := range v.Args[1:] {
		s := a.Shape
		if len(s) != len(first) || !slices.Equal(s[:v.Axis], first[:v.Axis]) || !slices.Equal(s[v.Axis+1:], first[v.Axis+1:]) {
			return nil, fmt.Errorf("concat: %v and %v differ outside axis %d", first, s, v.Axis)
		}
		out[v.Axis] += s[v.Axis]
	}
	return out, nil
}

func sliceShape(v *Value) (Shape, error) {
	x := v.Args[0].Shape
	if v.Axis < 0 || v.Axis >= len(x) || v.Start < 0 || v.End <= v.Start || v.End > x[v.Axis] {
		return nil, fmt.Errorf("slice: elements %d to %d of axis %d of %v", v.Start, v.End, v.Axis, x)
	}
	out := slices.Clone(x)
	out[v.Axis] = v.End - v.Start
	return out, nil
}

func sliceGradShape(v *Value) (Shape, error) {
	dy, to := v.Args[0].Shape, Shape(v.To)
	if len(dy) != len(to) || v.Axis < 0 || v.Axis >= len(to) || v.End-v.Start != dy[v.Axis] || v.Start < 0 || v.End > to[v.Axis] {
		return nil, fmt.Errorf("slice_grad: %v does not fit at %d:%d of axis %d of %v", dy, v.Start, v.End, v.Axis, to)
	}
	for i := range dy {
		if i != v.Axis && dy[i] != to[i] {
			return nil, fmt.Errorf("slice_grad: %v and %v differ outside axis %d", dy, to, v.Axis)
		}
	}
	return slices.Clone(to), nil
}

// MatMulDims returns a matmul's m, n and k and the broadcast shape of its
// leading (batch) axes.
func MatMulDims(v *Value) (m, n, k int, batch Shape, err error) {
	a, b := v.Args[0].Shape, v.Args[1].Shape
	if len(a) < 2 || len(b) < 2 {
		return 0, 0, 0, nil, fmt.Errorf("matmul: want matrices, got %v and %v", a, b)
	}
	m, k = a[len(a)-2], a[len(a)-1]
	if v.TransA {
		m, k = k, m
	}
	k2, n := b[len(b)-2], b[len(b)-1]
	if v.TransB {
		k2, n = n, k2
	}
	if k != k2 {
		return 0, 0, 0, nil, fmt.Errorf("matmul: inner sizes %d and %d differ", k, k2)
	}
	batch, err = Broadcast(a[:len(a)-2], b[:len(b)-2])
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("matmul: batch axes: %v", err)
	}
	return m, n, k, batch, nil
}

func matmulShape(v *Value) (Shape, error) {
	m, n, _, batch, err := MatMulDims(v)
	if err != nil {
		return nil, err
	}
	return append(batch, m, n), nil
}

func sumRowsShape(v *Value) (Shape, error) {
	a := v.Args[0].Shape
	if len(a) != 2 {
		return nil, fmt.Errorf("sum_rows: want a matrix, got %v", a)
	}
	return Shape{a[1]}, nil
}

func lossShape(v *Value) (Shape, error) {
	y, t := v.Args[0], v.Args[1]
	if ClassLoss(v.Op) {
		// The classes are the last axis; the axes before it are rows,
		// each with its class index: [batch, classes] and [batch], or a
		// sequence's [batch, seq, classes] and [batch, seq].
		if len(y.Shape) < 2 || t.DType != Int || !slices.Equal(t.Shape, y.Shape[:len(y.Shape)-1]) {
			return nil, fmt.Errorf("%s: want logits [batch, ..., classes] and class indices [batch, ...], got %v and %s%v", v.Op, y.Shape, t.DType, t.Shape)
		}
	} else if !slices.Equal(y.Shape, t.Shape) {
		return nil, fmt.Errorf("%s: output has shape %v but the target has %v", v.Op, y.Shape, t.Shape)
	}
	if v.Reduction != ReduceMean && v.Reduction != ReduceSum {
		return nil, fmt.Errorf("%s: reduction %s, want mean or sum", v.Op, v.Reduction)
	}
	if err := lossOptions(v); err != nil {
		return nil, fmt.Errorf("%s: %v", v.Op, err)
	}
	return Shape{}, nil
}

// lossOptions checks the options a loss takes, and that it takes no other.
func lossOptions(v *Value) error {
	classes := ClassLoss(v.Op)
	switch {
	case v.Weight != nil && !classes, v.Ignores && !classes:
		return fmt.Errorf("weight and ignore_index are options of the losses of class indices")
	case v.Weight != nil && len(v.Weight) != v.Args[0].Shape[len(v.Args[0].Shape)-1]:
		return fmt.Errorf("%d class weights for %d classes", len(v.Weight), v.Args[0].Shape[len(v.Args[0].Shape)-1])
	case v.LabelSmoothing != 0 && v.Op != OpCrossEntropy && v.Op != OpCrossEntropyGrad:
		return fmt.Errorf("label_smoothing is an option of cross_entropy")
	case !(v.LabelSmoothing >= 0 && v.LabelSmoothing <= 1):
		return fmt.Errorf("label_smoothing %g, want it in [0, 1]", v.LabelSmoothing)
	}
	switch v.Op {
	case OpSmoothL1, OpSmoothL1Grad, OpHuber, OpHuberGrad:
		if !(v.Delta > 0) || math.IsInf(v.Delta, 1) {
			return fmt.Errorf("%s %g, want it positive", thresholdName(v.Op), v.Delta)
		}
	default:
		if v.Delta != 0 {
			return fmt.Errorf("beta and delta are options of smooth_l1 and huber")
		}
	}
	return nil
}

// thresholdName is PyTorch's name for Delta: smooth_l1's beta, huber's delta.
func thresholdName(op Op) string {
	if op == OpSmoothL1 || op == OpSmoothL1Grad {
		return "beta"
	}
	return "delta"
}

func lossGradShape(v *Value) (Shape, error) {
	if _, err := lossShape(v); err != nil {
		return nil, err
	}
	if len(v.Args[2].Shape) != 0 {
		return nil, fmt.Errorf("%s: upstream gradient must be a scalar, got %v", v.Op, v.Args[2].Shape)
	}
	return v.Args[0].Shape, nil
}

func stepCountShape(v *Value) (Shape, error) {
	if s := v.Args[0]; s.Op != OpState || s.DType != Int || len(s.Shape) != 0 {
		return nil, fmt.Errorf("%s: counts in an integer state, not %s", v.Op, s.LongString())
	}
	return Shape{}, nil
}

// updateShape checks an optimizer update: a parameter, its gradient, then
// the given number of state buffers shaped like it, then scalars.
func updateShape(buffers int) func(v *Value) (Shape, error) {
	return func(v *Value) (Shape, error) {
		p := v.Args[0]
		if p.Op != OpParam {
			return nil, fmt.Errorf("%s: updates a parameter, not %s", v.Op, p.Op)
		}
		for i, a := range v.Args[1:] {
			if i < 1+buffers {
				if !slices.Equal(a.Shape, p.Shape) {
					return nil, fmt.Errorf("%s: parameter %v and argument %d %v differ", v.Op, p.Shape, i+1, a.Shape)
				}
			} else if len(a.Shape) != 0 {
				return nil, fmt.Errorf("%s: argument %d must be a scalar, got %v", v.Op, i+1, a.Shape)
			}
		}
		return p.Shape, nil
	}
}
