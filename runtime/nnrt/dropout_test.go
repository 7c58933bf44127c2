package nnrt

import (
	"math"
	"slices"
	"testing"
)

// TestDropoutMaskStatistics draws masks of many elements: the kept
// fraction must be within 5 standard deviations of 1-p, a kept element
// is 1/(1-p), y = x·mask has about x's mean, successive masks differ, and
// the same seed gives the same masks.
func TestDropoutMaskStatistics(t *testing.T) {
	const n = 1 << 16
	for _, p := range []float64{0.1, 0.25, 0.5, 0.9} {
		r := DropoutRNG(1)
		mask := make([]float32, n)
		var previous []float32
		for step := range 3 {
			DropoutMask(mask, p, false, &r, nil, "d")
			kept, sumX, sumY := 0, 0.0, 0.0
			for i, m := range mask {
				x := 1 + 0.5*math.Sin(float64(i))
				sumX += x
				sumY += x * float64(m)
				switch m {
				case 0:
				case float32(1 / (1 - p)):
					kept++
				default:
					t.Fatalf("p=%g: mask element %v, want 0 or %v", p, m, float32(1/(1-p)))
				}
			}
			sigma := math.Sqrt(n * p * (1 - p))
			if d := math.Abs(float64(kept) - n*(1-p)); d > 5*sigma {
				t.Errorf("p=%g step %d: kept %d of %d, %.1f standard deviations from %g", p, step, kept, n, d/sigma, n*(1-p))
			}
			// y's mean: x·mask/(1-p) over n elements, each of variance about x²p/(1-p).
			if d := math.Abs(sumY-sumX) / n; d > 5*1.5*math.Sqrt(p/(1-p)/n) {
				t.Errorf("p=%g step %d: mean of y %g, of x %g", p, step, sumY/n, sumX/n)
			}
			if slices.Equal(mask, previous) {
				t.Errorf("p=%g: step %d drew the mask of the step before", p, step)
			}
			previous = slices.Clone(mask)
		}
		again := DropoutRNG(1)
		for range 3 {
			DropoutMask(mask, p, false, &again, nil, "d")
		}
		if !slices.Equal(mask, previous) {
			t.Errorf("p=%g: the same seed drew other masks", p)
		}
		other := DropoutRNG(2)
		DropoutMask(mask, p, false, &other, nil, "d")
		if slices.Equal(mask, previous) {
			t.Errorf("p=%g: seeds 1 and 2 drew the same mask", p)
		}
	}
}

// TestDropoutMaskModes: evaluation mode and p=0 keep everything, p=1
// nothing; the hook chooses the kept elements, which are then scaled.
func TestDropoutMaskModes(t *testing.T) {
	r := DropoutRNG(1)
	mask := []float64{7, 7, 7, 7}
	DropoutMask(mask, 0.5, true, &r, nil, "d")
	if !slices.Equal(mask, []float64{1, 1, 1, 1}) {
		t.Errorf("eval: %v", mask)
	}
	DropoutMask(mask, 0, false, &r, nil, "d")
	if !slices.Equal(mask, []float64{1, 1, 1, 1}) {
		t.Errorf("p=0: %v", mask)
	}
	DropoutMask(mask, 1, false, &r, nil, "d")
	if !slices.Equal(mask, []float64{0, 0, 0, 0}) {
		t.Errorf("p=1: %v", mask)
	}
	var layers []string
	hook := func(layer string, keep []float64) {
		layers = append(layers, layer)
		copy(keep, []float64{1, 0, 0, 1})
	}
	before := r
	DropoutMask(mask, 0.75, false, &r, hook, "block.drop")
	if !slices.Equal(mask, []float64{4, 0, 0, 4}) || !slices.Equal(layers, []string{"block.drop"}) {
		t.Errorf("hook: mask %v, layers %v", mask, layers)
	}
	if r != before {
		t.Error("a mask from the hook drew from the generator")
	}
	if n := testing.AllocsPerRun(10, func() { DropoutMask(mask, 0.3, false, &r, nil, "d") }); n != 0 {
		t.Errorf("DropoutMask allocates %v times", n)
	}
}
