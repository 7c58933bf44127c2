package ir

import "slices"

// A Reduction says how the axes of a tensor x map to those of a result
// that sums (or averages, or takes the maximum) over some of them, for the
// back ends' loops: Reduced lists the axes of x reduced, in order; Kept
// gives, for each axis of x, the axis of the result it is, or -1 where it
// is reduced (or where x and the result both have 1 there).
type Reduction struct {
	Reduced []int
	Kept    []int
}

// ReductionOver is the reduction of x over axes, the result keeping them
// as 1s when keep (sum, mean, max and max_grad).
func ReductionOver(x Shape, axes []int, keep bool) Reduction {
	r := Reduction{Kept: make([]int, len(x))}
	o := 0
	for a := range x {
		r.Kept[a] = -1
		if slices.Contains(axes, a) {
			r.Reduced = append(r.Reduced, a)
			if keep {
				o++
			}
			continue
		}
		r.Kept[a] = o
		o++
	}
	return r
}

// ReductionTo is the reduction of x to a shape that broadcasts to x's
// (sum_to): over the axes that broadcasting would add or repeat.
func ReductionTo(x, to Shape) Reduction {
	skip := len(x) - len(to)
	r := Reduction{Kept: make([]int, len(x))}
	for a, d := range x {
		r.Kept[a] = -1
		switch {
		case a < skip || to[a-skip] == 1 && d != 1:
			r.Reduced = append(r.Reduced, a)
		case to[a-skip] != 1:
			r.Kept[a] = a - skip
		}
	}
	return r
}

// Extents are the sizes of the reduced axes of x.
func (r Reduction) Extents(x Shape) []int {
	ext := make([]int, len(r.Reduced))
	for i, a := range r.Reduced {
		ext[i] = x[a]
	}
	return ext
}
