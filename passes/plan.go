package passes

import "github.com/nngen/nngen/ir"

// plan gives every value its storage. Inputs, parameters, buffers,
// gradients and hyperparameters have their own places; every other value gets a scratch
// slot of the model. A slot is reused once the value in it is dead, so the
// model holds no more scratch memory than the widest point of the schedule
// needs, and nothing is allocated per step.
//
// Lifetimes come from the Backward method's schedule (forward, loss,
// backward), which Forward runs a prefix of: outputs are kept to the end of
// the forward phase (Forward copies them out there) and the loss to the end.
func plan(g *ir.Graph, _ Options) error {
	last := lastUses(g)
	gradOf := map[*ir.Value]*ir.Value{}
	for _, p := range g.Params() {
		if p.Grad != nil {
			gradOf[p.Grad] = p
		}
	}
	alsoOf := g.ComputedBy()
	g.Slots = nil
	var free []int // slot indexes not holding a live value
	for i, v := range g.Values {
		switch {
		case v.Op == ir.OpInput:
			v.Storage = ir.Storage{Kind: ir.InArg}
		case v.Op == ir.OpParam:
			v.Storage = ir.Storage{Kind: ir.InParam, Param: v}
		case v.Op == ir.OpState:
			v.Storage = ir.Storage{Kind: ir.InState, Param: v}
		case v.Op == ir.OpBuffer:
			v.Storage = ir.Storage{Kind: ir.InBuffer, Param: v}
		case v.Op == ir.OpHyper:
			v.Storage = ir.Storage{Kind: ir.InHyper}
		case v.Op == ir.OpConst:
			v.Storage = ir.Storage{Kind: ir.InConst}
		case gradOf[v] != nil:
			v.Storage = ir.Storage{Kind: ir.InGrad, Param: gradOf[v]}
		case ir.InPlace(v.Op):
			v.Storage = v.Args[0].Storage
		case alsoOf[v] != nil:
			// Given its slot with the linear that computes it, below.
		default:
			free = slot(g, v, free)
			if v.Also != nil {
				// Written in the same loop as v, so it must not take
				// the slot of an argument v is still reading.
				free = slot(g, v.Also, free)
			}
		}
		// Free after taking: a value never shares a slot with its own
		// arguments, which matmul and friends still read while writing.
		for _, a := range v.Args {
			if last[a] == i && a.Storage.Kind == ir.InSlot {
				free = append(free, a.Storage.Slot)
			}
		}
	}
	return nil
}

// slot gives v a free slot, or a new one, and returns the free slots left.
func slot(g *ir.Graph, v *ir.Value, free []int) []int {
	v.Storage = ir.Storage{Kind: ir.InSlot}
	v.Storage.Slot, free = takeSlot(g, free, v.Shape.Size())
	g.Slots[v.Storage.Slot].Values = append(g.Slots[v.Storage.Slot].Values, v)
	return free
}

// lastUses gives the schedule index of each value's last reader. A
// product over more than two axes also reads the value under each
// argument's chain of slices, reshapes and permutes: codegen may read such
// an argument where that value lies (attention's heads in the packed
// projection: codegen's views.go), so it must stay until the product.
func lastUses(g *ir.Graph) map[*ir.Value]int {
	last := map[*ir.Value]int{}
	endForward := -1
	for i, v := range g.Values {
		for _, a := range v.Args {
			last[a] = i
			if v.Op == ir.OpMatMul && len(v.Shape) > 2 {
				for a.Op == ir.OpSlice || a.Op == ir.OpReshape || a.Op == ir.OpPermute {
					a = a.Args[0]
					last[a] = max(last[a], i)
				}
			}
		}
		if v.Phase == ir.Forward {
			endForward = i
		}
	}
	for _, v := range g.Outputs {
		last[v] = max(last[v], endForward)
	}
	if g.Loss != nil {
		last[g.Loss] = len(g.Values)
	}
	return last
}

// takeSlot picks the smallest free slot that fits size, else grows the
// largest free one, else adds a slot.
func takeSlot(g *ir.Graph, free []int, size int) (int, []int) {
	best := -1
	for j, s := range free {
		fits, bestFits := g.Slots[s].Size >= size, best >= 0 && g.Slots[free[best]].Size >= size
		switch {
		case best < 0,
			fits && !bestFits,
			fits && bestFits && g.Slots[s].Size < g.Slots[free[best]].Size,
			!fits && !bestFits && g.Slots[s].Size > g.Slots[free[best]].Size:
			best = j
		}
	}
	if best < 0 {
		g.Slots = append(g.Slots, ir.Slot{Size: size})
		return len(g.Slots) - 1, free
	}
	s := free[best]
	g.Slots[s].Size = max(g.Slots[s].Size, size)
	return s, append(free[:best], free[best+1:]...)
}
