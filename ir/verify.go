package ir

import (
	"errors"
	"fmt"
	"slices"
)

// Verify checks the graph's invariants: arguments scheduled before their
// users, op arities and shapes, one dtype, well-formed roles and storage.
// It reports every violation it finds.
func (g *Graph) Verify() error {
	var errs []error
	bad := func(v *Value, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", v.LongString(), fmt.Sprintf(format, args...)))
	}
	seen := make(map[*Value]bool, len(g.Values))
	scheduled := make(map[*Value]bool, len(g.Values))
	position := make(map[*Value]int, len(g.Values))
	for i, v := range g.Values {
		scheduled[v] = true
		position[v] = i
	}
	ids := make(map[int]bool, len(g.Values))
	for _, v := range g.Values {
		if ids[v.ID] {
			bad(v, "duplicate id")
		}
		ids[v.ID] = true
		for i, a := range v.Args {
			if want := argDType(v.Op, i, g.DType); a.DType != want {
				bad(v, "argument %d is %s, want %s", i, a.DType, want)
			}
			if !seen[a] {
				bad(v, "argument %s is not scheduled before its use", a)
			}
			if a.Phase > v.Phase {
				bad(v, "phase %s uses %s from the later phase %s", v.Phase, a, a.Phase)
			}
		}
		seen[v] = true
		if v.DType != g.DType && !(v.DType == Int && (v.Op == OpInput || v.Op == OpState || v.Op == OpStepCount)) &&
			!(v.DType == I64 && v.Op == OpBuffer) {
			bad(v, "dtype %s in a %s graph", v.DType, g.DType)
		}
		if a := v.Also; a != nil {
			next := position[v] + 1
			info, isAct := ActivationOf(a.Op)
			if v.Op != OpLinear || v.Act != "" || !isAct || info.RowWise || next >= len(g.Values) || g.Values[next] != a || len(a.Args) != 1 || a.Args[0] != v {
				bad(v, "also computes %s, which must be an activation of it scheduled right after it", a)
			}
		}
		if IsLeaf(v.Op) {
			if len(v.Args) > 0 {
				bad(v, "a leaf with arguments")
			}
		} else if shape, err := InferShape(v); err != nil {
			bad(v, "%v", err)
		} else if !slices.Equal(shape, v.Shape) {
			bad(v, "shape %v, but its arguments give %v", v.Shape, shape)
		}
		if v.Grad != nil {
			if v.Op != OpParam {
				bad(v, "only parameters carry gradients")
			} else if !scheduled[v.Grad] {
				bad(v, "gradient %s is not in the graph", v.Grad)
			} else if !slices.Equal(v.Grad.Shape, v.Shape) {
				bad(v, "gradient shape %v", v.Grad.Shape)
			}
		}
		if v.Storage.Kind == InSlot && (v.Storage.Slot < 0 || v.Storage.Slot >= len(g.Slots) || g.Slots[v.Storage.Slot].Size < v.Shape.Size()) {
			bad(v, "does not fit its slot")
		}
	}
	for _, v := range g.Outputs {
		if !seen[v] {
			errs = append(errs, fmt.Errorf("output %s is not in the graph", v))
		}
	}
	if g.Loss != nil && (!seen[g.Loss] || len(g.Loss.Shape) != 0) {
		errs = append(errs, fmt.Errorf("loss %s must be a scalar in the graph", g.Loss))
	}
	if g.Unbatched && g.Batch != 1 {
		errs = append(errs, fmt.Errorf("unbatched graph with batch %d", g.Batch))
	}
	return errors.Join(errs...)
}
