package ir

import (
	"fmt"
	"slices"
	"strings"
)

// Samples finds the values of a batched graph that hold one row per
// sample along their first axis (the inputs, and what is computed from
// them sample by sample), so that the generated code can run on n samples
// of the Batch it was compiled for: such a value's first n rows depend
// only on the first n rows of the inputs, the rest are left alone, and a
// value that reduces over the samples (a loss, a weight's gradient) sums
// or averages over those n. It fails, saying where, for a graph that
// mixes samples (a concatenation or a slice along the sample axis, a
// reshape or permutation that moves it, a softmax over it), for an
// unbatched graph or one of batch 1, and for an output without a row per
// sample: the generated code then takes the full batch only.
func Samples(g *Graph) (map[*Value]bool, error) {
	if g.Unbatched || g.Batch < 2 {
		return nil, fmt.Errorf("the network takes %d sample per call", g.Batch)
	}
	samples := map[*Value]bool{}
	for _, v := range g.Values {
		if v.Op == OpInput {
			if len(v.Shape) == 0 || v.Shape[0] != g.Batch {
				return nil, samplesError(v, "the input %s is %v, without the batch of %d first", v.Name, v.Shape, g.Batch)
			}
			samples[v] = true
			continue
		}
		in := make([]bool, len(v.Args))
		some := false
		for i, a := range v.Args {
			in[i] = samples[a]
			some = some || in[i]
		}
		if !some {
			continue
		}
		rule := defs[v.Op].Samples
		if rule == nil {
			return nil, samplesError(v, "%s has no rule for fewer samples than the batch", v.Op)
		}
		carries, err := rule(v, in)
		if err != nil {
			return nil, samplesError(v, "%s %v", v.Op, err)
		}
		samples[v] = carries
	}
	for _, o := range g.Outputs {
		if !samples[o] {
			return nil, samplesError(o, "the output %s has no row per sample", strings.TrimSpace(o.Name+" "+o.Shape.String()))
		}
	}
	return samples, nil
}

// A SamplesError says where and why a graph takes its full batch only.
type SamplesError struct {
	Pos   Pos    // where the source defines the value, if known
	Value string // else the value's name, or its number in the graph
	Msg   string
}

func (e *SamplesError) Error() string {
	if e.Pos.IsValid() {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Value + ": " + e.Msg
}

func samplesError(v *Value, format string, args ...any) error {
	name := v.Name
	if name == "" {
		name = v.String()
	}
	return &SamplesError{Pos: v.Pos, Value: name, Msg: fmt.Sprintf(format, args...)}
}

// A sampleRule says whether v holds a row per sample along its first axis,
// given which of its arguments do (at least one), or why v would mix
// samples.
type sampleRule func(v *Value, in []bool) (bool, error)

// keepSamples: an elementwise op, whose result has a row per sample where
// an argument does, provided broadcasting lines that argument's first axis
// up with the result's.
func keepSamples(v *Value, in []bool) (bool, error) {
	for i, a := range v.Args {
		if in[i] && len(a.Shape) != len(v.Shape) {
			return false, fmt.Errorf("broadcasts a %v tensor of samples to %v, along another axis", a.Shape, v.Shape)
		}
	}
	return true, nil
}

// rowSamples: softmax and log_softmax (and their gradients), over each
// row of the last axis, which must not be the samples'.
func rowSamples(v *Value, in []bool) (bool, error) {
	if len(v.Shape) < 2 {
		return false, fmt.Errorf("over the sample axis mixes samples")
	}
	return keepSamples(v, in)
}

// normSamples: layer_norm over trailing axes that must not include the
// samples'.
func normSamples(v *Value, in []bool) (bool, error) {
	if v.Axes[0] == 0 {
		return false, fmt.Errorf("over the sample axis mixes samples")
	}
	return keepSamples(v, in)
}

// normWeightGradSamples: a layer norm's weight gradient sums over the
// leading axes, the samples' among them.
func normWeightGradSamples(v *Value, in []bool) (bool, error) {
	if v.Axes[0] == 0 {
		return false, fmt.Errorf("over the sample axis mixes samples")
	}
	return false, nil
}

// reduceSamples: a reduction, over the samples (then the result has
// none) or over other axes (it keeps them first).
func reduceSamples(v *Value, in []bool) (bool, error) {
	return !slices.Contains(v.Axes, 0), nil
}

// maxGradSamples: dx is shaped like x.
func maxGradSamples(v *Value, in []bool) (bool, error) {
	if !in[1] {
		return false, fmt.Errorf("of a maximum over the samples without them")
	}
	return true, nil
}

// sumToSamples: the sum over the axes that broadcasting would repeat,
// among them the samples' unless the result keeps them.
func sumToSamples(v *Value, in []bool) (bool, error) {
	x := v.Args[0].Shape
	return len(v.To) == len(x) && v.To[0] == x[0], nil
}

// reshapeSamples: the same numbers under another shape, which must keep
// each sample's numbers in its own row.
func reshapeSamples(v *Value, in []bool) (bool, error) {
	if v.To[0] != v.Args[0].Shape[0] {
		return false, fmt.Errorf("to %v merges or splits the samples", v.To)
	}
	return true, nil
}

func permuteSamples(v *Value, in []bool) (bool, error) {
	if v.Perm[0] != 0 {
		return false, fmt.Errorf("%v moves the sample axis", v.Perm)
	}
	return true, nil
}

// axisSamples: concat, slice and slice_grad, along an axis that must not
// be the samples'.
func axisSamples(v *Value, in []bool) (bool, error) {
	if v.Axis == 0 {
		return false, fmt.Errorf("along the sample axis mixes samples")
	}
	return keepSamples(v, in)
}

// linearSamples: x·wᵀ + b, row by row of x.
func linearSamples(v *Value, in []bool) (bool, error) {
	if slices.Contains(in[1:], true) {
		return false, fmt.Errorf("with weights that have a row per sample")
	}
	return in[0], nil
}

// matmulSamples: a product whose result's first axis is the samples' (a's
// rows, or the leading batch axis of both), or that sums over the samples
// (aᵀ·b, the gradient of a weight).
func matmulSamples(v *Value, in []bool) (bool, error) {
	a, b := v.Args[0], v.Args[1]
	if len(v.Shape) > 2 { // batched over leading axes: the samples' must be one of them
		for i, x := range []*Value{a, b} {
			if in[i] && len(x.Shape) != len(v.Shape) {
				return false, fmt.Errorf("of a %v tensor of samples in a batch of %v products", x.Shape, v.Shape[:len(v.Shape)-2])
			}
		}
		return true, nil
	}
	aRows := in[0] && !v.TransA // the samples are op(a)'s rows: the result's
	aInner := in[0] && v.TransA // the samples are the sum's
	bInner := in[1] && !v.TransB
	switch {
	case in[1] && v.TransB:
		return false, fmt.Errorf("with a second operand of samples transposed: a column per sample")
	case aInner != bInner:
		return false, fmt.Errorf("sums the samples of one operand against another axis")
	}
	return aRows, nil
}

// noSamples: a loss, or the sum over the batch: a result without samples,
// from the n of them.
func noSamples(v *Value, in []bool) (bool, error) { return false, nil }

// lossGradSamples: shaped like the loss's output.
func lossGradSamples(v *Value, in []bool) (bool, error) { return in[0], nil }

// updateSamples: an optimizer's update, which a value with a row per
// sample must not reach.
func updateSamples(v *Value, in []bool) (bool, error) {
	return false, fmt.Errorf("of %s from a value with a row per sample", v.Args[0].Name)
}
