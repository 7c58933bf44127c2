package codegen

import (
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// An assembly writes a value's numbers straight from the values they come
// from, through the permutes, reshapes and slice gradients between, which
// no code then computes. The gradient of attention's packed projection is
// q's, k's and v's gradients, each moved back from heads (permute),
// merged (reshape) and put in its third of the columns (slice_grad), the
// thirds then added: as an assembly, three strided copies into the sum,
// instead of a copy for each permute and reshape, a cleared tensor for
// each third and two adds over the whole. A permute merged by a reshape
// (attention's heads joined for the output projection) is likewise one
// copy into the reshape's storage. Each number is copied, not summed, so
// the results are the same bits.
type assembly struct {
	clear bool // the pieces leave part of the value out: zeros first
	// Each piece is a source's numbers and where they go: element idx of
	// src to base + Σ idx[d]·strides[d] of the assembled value, counted in
	// its row-major order (a view of the value, the other way round).
	pieces []view
}

// assemblies finds the values to assemble (the sums of slice gradients
// on one axis whose regions do not overlap, and the reshapes of
// permutes), sets computedBy for the values they stand in for, and
// returns them.
func (gen *generator) assemblies() map[*ir.Value]*assembly {
	if gen.unroll {
		return nil
	}
	readers := map[*ir.Value]int{}
	for _, v := range gen.g.Values {
		for _, a := range v.Args {
			readers[a]++
		}
	}
	for _, v := range gen.g.Outputs {
		readers[v] += 2 // Forward copies it out: never stood in for
	}
	// only reports whether v's one reader is the value it is folded into,
	// and no other code computes it.
	only := func(v *ir.Value) bool { return readers[v] == 1 && gen.computedBy[v] == nil && !ir.IsLeaf(v.Op) }
	found := map[*ir.Value]*assembly{}
	// Latest first, so that a sum takes the sums and reshapes inside it.
	for _, v := range slices.Backward(gen.g.Values) {
		if v.Storage.Kind != ir.InSlot || gen.computedBy[v] != nil || !vectorized(v) {
			continue
		}
		var as *assembly
		var within []*ir.Value
		switch {
		case v.Op == ir.OpAdd:
			as, within = gen.sumOfSlices(v, only)
		case v.Op == ir.OpReshape && v.Args[0].Op == ir.OpPermute && only(v.Args[0]):
			strides, ok := reshapeStrides(v.Shape, rowMajor(v.Shape), v.Args[0].Shape)
			if !ok {
				continue
			}
			if p, chain, ok := gen.pieceAt(v, v.Args[0], strides, 0, only); ok {
				as, within = &assembly{pieces: []view{p}}, chain
			}
		}
		if as == nil || !gen.sourcesIntact(v, as, within) {
			continue
		}
		found[v] = as
		for _, w := range within {
			gen.computedBy[w] = v
		}
	}
	return found
}

// sumOfSlices returns v, a sum, as an assembly of the slice gradients it
// adds (through sums of them that only it reads), with the values it
// stands in for; nil where v adds anything else, or slices along different
// axes or overlapping.
func (gen *generator) sumOfSlices(v *ir.Value, only func(*ir.Value) bool) (*assembly, []*ir.Value) {
	var grads, within []*ir.Value
	var collect func(a *ir.Value) bool
	collect = func(a *ir.Value) bool {
		switch {
		case !only(a) || !slices.Equal(a.Shape, v.Shape):
			return false
		case a.Op == ir.OpAdd:
			within = append(within, a)
			return collect(a.Args[0]) && collect(a.Args[1])
		case a.Op == ir.OpSliceGrad:
			grads = append(grads, a)
			within = append(within, a)
			return true
		}
		return false
	}
	if !collect(v.Args[0]) || !collect(v.Args[1]) {
		return nil, nil
	}
	axis := grads[0].Axis
	covered := 0
	for i, s := range grads {
		if s.Axis != axis {
			return nil, nil
		}
		for _, t := range grads[:i] {
			if s.Start < t.End && t.Start < s.End {
				return nil, nil
			}
		}
		covered += s.End - s.Start
	}
	as := &assembly{clear: covered < v.Shape[axis]}
	strides := rowMajor(v.Shape)
	for _, s := range grads {
		p, chain, ok := gen.pieceAt(v, s.Args[0], strides, s.Start*strides[axis], only)
		if !ok {
			return nil, nil
		}
		as.pieces = append(as.pieces, p)
		within = append(within, chain...)
	}
	return as, within
}

// pieceAt follows a, whose element idx lies at base + Σ idx[d]·strides[d]
// of v, down its permutes and reshapes that nothing else reads, to the
// value whose numbers v copies: that piece and the values passed.
func (gen *generator) pieceAt(v, a *ir.Value, strides []int, base int, only func(*ir.Value) bool) (view, []*ir.Value, bool) {
	var chain []*ir.Value
	for only(a) && (a.Op == ir.OpPermute || a.Op == ir.OpReshape) {
		x := a.Args[0]
		switch a.Op {
		case ir.OpPermute: // a[idx] = x[xi], xi[Perm[i]] = idx[i]
			xs := make([]int, len(strides))
			for i, p := range a.Perm {
				xs[p] = strides[i]
			}
			strides = xs
		case ir.OpReshape:
			xs, ok := reshapeStrides(a.Shape, strides, x.Shape)
			if !ok {
				return view{}, nil, false
			}
			strides = xs
		}
		chain = append(chain, a)
		a = x
	}
	ok := a.Storage.Kind == ir.InSlot || a.Storage.Kind == ir.InArg
	ok = ok && a.Storage != v.Storage && !gen.views[a] && gen.computedBy[a] == nil
	// With a number of samples per call, the samples' axis must lead in
	// both, so that the loops over the call's samples write the call's rows.
	if gen.samples[v] || gen.samples[a] {
		ok = ok && gen.samples[v] && gen.samples[a] && strides[0] == rowMajor(v.Shape)[0]
	}
	return view{src: a, base: base, strides: strides}, chain, ok
}

// sourcesIntact reports whether every piece's source still holds its
// numbers where v is computed: no value between them takes its storage,
// but those the assembly stands in for, which no code computes.
func (gen *generator) sourcesIntact(v *ir.Value, as *assembly, within []*ir.Value) bool {
	end := slices.Index(gen.g.Values, v)
	for _, p := range as.pieces {
		if p.src.Storage.Kind != ir.InSlot {
			continue // an argument: nothing writes it
		}
		for _, w := range gen.g.Values[slices.Index(gen.g.Values, p.src)+1 : end] {
			if w.Storage == p.src.Storage && !ir.IsLeaf(w.Op) && !slices.Contains(within, w) {
				return false
			}
		}
	}
	return true
}

// genAssembly emits v's assembly: each piece's rows copied into v where
// they are runs of v's elements (16 or more), else element by element.
func (gen *generator) genAssembly(v *ir.Value, as *assembly) []jen.Code {
	var code []jen.Code
	if as.clear {
		code = append(code, jen.Clear(gen.flatValue(v)))
	}
	slot := gen.self().Dot(slotField(v.Storage.Slot))
	for _, p := range as.pieces {
		r := len(p.src.Shape)
		width := p.src.Shape[r-1]
		if p.strides[r-1] == 1 && width >= 16 {
			code = append(code, gen.rows(p.src, func(lead []index) []jen.Code {
				at := append(slices.Clone(lead), index{})
				return []jen.Code{jen.Copy(slot.Clone().Index(p.at(at, 0).Op(":").Add(p.at(at, width))), gen.rowAt(p.src, lead))}
			})...)
			continue
		}
		code = append(code, gen.each(p.src, func(idx []index) []jen.Code {
			return []jen.Code{slot.Clone().Index(p.at(idx, 0)).Op("=").Add(gen.at(p.src, idx...))}
		})...)
	}
	return code
}
