package codegen

import (
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// A view is a value that slice, reshape and permute make of another
// without changing its numbers, read where they lie: element idx of the
// view is element base + Σ idx[d]·strides[d] of src, counted in src's
// row-major order. Attention's heads are such views of the packed
// projection (q, k, v: its thirds, split into heads and moved before the
// sequence), and the output's gradient split into heads another: a
// per-head product reads them with the GEMM's row stride instead of from
// copies (foldViews).
type view struct {
	src     *ir.Value
	base    int
	strides []int
}

// viewOf returns v as a view of the first value down its chain of
// slice, reshape and permute that is none of those, or false where the
// chain has another op or a reshape that strides cannot express.
func viewOf(v *ir.Value) (view, bool) {
	switch v.Op {
	case ir.OpSlice:
		x, ok := viewOf(v.Args[0])
		if !ok {
			return view{}, false
		}
		x.base += v.Start * x.strides[v.Axis]
		return x, true
	case ir.OpPermute:
		x, ok := viewOf(v.Args[0])
		if !ok {
			return view{}, false
		}
		strides := make([]int, len(v.Perm))
		for i, p := range v.Perm {
			strides[i] = x.strides[p]
		}
		x.strides = strides
		return x, true
	case ir.OpReshape:
		x, ok := viewOf(v.Args[0])
		if !ok {
			return view{}, false
		}
		strides, ok := reshapeStrides(v.Args[0].Shape, x.strides, v.Shape)
		x.strides = strides
		return x, ok
	}
	return view{src: v, strides: rowMajor(v.Shape)}, true
}

// at is the offset in src of the view's element at the indexes idx (loop
// variables or constants), plus plus: Σ idx[d]·strides[d] + base + plus,
// the constant last.
func (v view) at(idx []index, plus int) *jen.Statement {
	base := v.base + plus
	s := jen.Null()
	terms := 0
	for d, ix := range idx {
		base += ix.value * v.strides[d]
		if ix.name == "" {
			continue
		}
		if terms > 0 {
			s.Op("+")
		}
		terms++
		s.Id(ix.name)
		if v.strides[d] != 1 {
			s.Op("*").Lit(v.strides[d])
		}
	}
	switch {
	case terms == 0:
		return jen.Lit(base)
	case base != 0:
		s.Op("+").Lit(base)
	}
	return s
}

// rowMajor is the strides of a contiguous row-major tensor.
func rowMajor(shape ir.Shape) []int {
	strides := make([]int, len(shape))
	stride := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = stride
		stride *= shape[d]
	}
	return strides
}

// reshapeStrides is the strides of a reshape of a strided tensor to
// shape to: axes split and merge in groups of equal size, and each group
// of from's must be contiguous within itself; false where one is not.
func reshapeStrides(from ir.Shape, strides []int, to ir.Shape) ([]int, bool) {
	out := make([]int, len(to))
	i, j := 0, 0
	for i < len(from) && j < len(to) {
		i2, j2, a, b := i+1, j+1, from[i], to[j]
		for a != b {
			switch {
			case a < b && i2 < len(from):
				a *= from[i2]
				i2++
			case b < a && j2 < len(to):
				b *= to[j2]
				j2++
			default:
				return nil, false
			}
		}
		for d := i; d+1 < i2; d++ {
			if strides[d] != strides[d+1]*from[d+1] {
				return nil, false
			}
		}
		inner := strides[i2-1]
		for d := j2 - 1; d >= j; d-- {
			out[d] = inner
			inner *= to[d]
		}
		i, j = i2, j2
	}
	for ; j < len(to); j++ { // trailing axes of size 1
		if to[j] != 1 {
			return nil, false
		}
		out[j] = 1
	}
	for ; i < len(from); i++ {
		if from[i] != 1 {
			return nil, false
		}
	}
	return out, true
}

// matrix is a per-head product's operand as the GEMM reads it: the
// matrix of the leading indexes at a base offset of src with row stride
// ld, transposed (trans) where its columns are the strided axis.
type matrix struct {
	view
	ld    int
	trans bool
}

// operandView returns how a batched product reads its argument a as a
// view (see view), or false where a is read as stored: a not a view, a
// view whose last two axes are neither rows nor columns of unit stride,
// or one over the samples of a partial build (whose leading offsets
// would run over the call's samples only where the sample axis leads).
func (gen *generator) operandView(a *ir.Value) (matrix, bool) {
	if a.Op != ir.OpSlice && a.Op != ir.OpReshape && a.Op != ir.OpPermute {
		return matrix{}, false
	}
	v, ok := viewOf(a)
	if !ok || v.src.Storage.Kind != ir.InSlot && v.src.Storage.Kind != ir.InArg || gen.unroll {
		return matrix{}, false
	}
	if gen.samples[v.src] && v.strides[0] != rowMajor(v.src.Shape)[0] {
		return matrix{}, false
	}
	r := len(a.Shape)
	switch {
	case v.strides[r-1] == 1:
		return matrix{view: v, ld: v.strides[r-2]}, v.strides[r-2] >= a.Shape[r-1]
	case v.strides[r-2] == 1:
		return matrix{view: v, ld: v.strides[r-1], trans: true}, v.strides[r-1] >= a.Shape[r-2]
	}
	return matrix{}, false
}

// matrixAt is the slice of src that holds the operand's matrix at the
// leading indexes idx, from its first element to its last.
func (gen *generator) matrixAt(mx matrix, a *ir.Value, idx []index) *jen.Statement {
	r := len(a.Shape)
	rows, cols := a.Shape[r-2], a.Shape[r-1]
	if mx.trans {
		rows, cols = cols, rows
	}
	return gen.flatValue(mx.src).Index(mx.at(idx, 0).Op(":").Add(mx.at(idx, (rows-1)*mx.ld+cols)))
}

// foldViews returns the values that no code computes because every
// reader reads them where their source lies: the slices, reshapes and
// permutes of views that only per-head products (perIndex GEMMs) and
// other such values read.
func (gen *generator) foldViews() map[*ir.Value]bool {
	readers := map[*ir.Value][]*ir.Value{}
	for _, v := range gen.g.Values {
		for _, a := range v.Args {
			readers[a] = append(readers[a], v)
		}
	}
	for _, v := range gen.g.Outputs {
		readers[v] = append(readers[v], nil) // Forward copies it out
	}
	folded := map[*ir.Value]bool{}
	// Latest first, so that a view's readers are decided before it.
	for _, v := range slices.Backward(gen.g.Values) {
		if v.Op != ir.OpSlice && v.Op != ir.OpReshape && v.Op != ir.OpPermute || len(readers[v]) == 0 {
			continue
		}
		all := true
		for _, r := range readers[v] {
			switch {
			case r == nil:
				all = false
			case folded[r]:
			case r.Op == ir.OpMatMul && gen.viewProduct(r):
				if mx, ok := gen.operandView(v); !ok || !gen.intact(mx.src, r) {
					all = false
				}
			default:
				all = false
			}
		}
		if all {
			folded[v] = true
		}
	}
	return folded
}

// intact reports whether src still holds its numbers when reader runs:
// no value after it up to the reader takes its storage (the planner keeps
// a product's sources alive, see passes.lastUses; this checks that it did).
func (gen *generator) intact(src, reader *ir.Value) bool {
	at := slices.Index(gen.g.Values, src)
	for _, w := range gen.g.Values[at+1:] {
		if w == reader {
			return true
		}
		if w.Storage == src.Storage && !ir.IsLeaf(w.Op) {
			return false
		}
	}
	return false
}

// viewProduct reports whether v is a product that runs one GEMM per index
// of its leading axes (genBatchedGemm), whose operands may be views.
func (gen *generator) viewProduct(v *ir.Value) bool {
	_, _, _, ok := productShape(v, false)
	return ok && perIndex(v) && gen.summedBy[v] == nil && len(v.Shape) > 2
}
