package cudagen

import (
	"strconv"

	"github.com/nngen/nngen/ir"
)

// The embedding kernels compute what codegen/embedding.go computes, in the
// same order, a thread per element they write; the gradient's thread
// walks every id for its row, so that no two threads add to one element
// (no atomics, the same sums on every run). The host checked the ids.

// embedding: y[p, d] = w[ids[p], d]; a bag's y[b, d] = Σ_l w[ids[b,l], d]
// over its ids but padding_idx, divided by their count for a mean (0 for
// none).
func (gen *generator) embedding(v *ir.Value) {
	w, ids := v.Args[0], v.Args[1]
	width := w.Shape[1]
	kb := gen.newKernel(v, "", v.Shape.Size())
	y, ws, is := kb.out(v), kb.ptr(w), kb.ptr(ids)
	kb.line("const long long d = t %% %d;", width)
	if v.Reduction == 0 {
		kb.line("%s[t] = %s[%s[t / %d] * %d + d];", y, ws, is, width, width)
		return
	}
	bag := ids.Shape[len(ids.Shape)-1]
	kb.line("const long long b = t / %d;", width)
	kb.line("real s = 0;")
	kb.line("long long count = 0;")
	kb.line("for (long long l = 0; l < %d; l++) {", bag)
	kb.line("  const long long id = %s[b * %d + l];", is, bag)
	if v.Padded {
		kb.line("  if (id == %d) continue;", v.PaddingIdx)
	}
	kb.line("  s += %s[id * %d + d];", ws, width)
	kb.line("  count++;")
	kb.line("}")
	if v.Reduction == ir.ReduceMean {
		kb.line("if (count > 0) s /= (real)count;")
	}
	kb.line("%s[t] = s;", y)
}

// embeddingGrad: dw[r, d] = Σ dy[p, d] over the places p whose id is r,
// in their order; for a bag, dy[b, d] (over its count for a mean) for
// each of its ids that is r. The padding row takes none.
func (gen *generator) embeddingGrad(v *ir.Value) {
	dy, ids := v.Args[0], v.Args[1]
	width := v.To[1]
	kb := gen.newKernel(v, "", v.Shape.Size())
	dw, dys, is := kb.out(v), kb.ptr(dy), kb.ptr(ids)
	kb.line("const long long r = t / %d, d = t %% %d;", width, width)
	kb.line("real s = 0;")
	if v.Padded {
		kb.line("if (r == %d) { %s[t] = 0; return; }", v.PaddingIdx, dw)
	}
	if v.Reduction == 0 {
		kb.line("for (long long p = 0; p < %d; p++) {", ids.Shape.Size())
		kb.line("  if (%s[p] == r) s += %s[p * %d + d];", is, dys, width)
		kb.line("}")
		kb.line("%s[t] = s;", dw)
		return
	}
	bag := ids.Shape[len(ids.Shape)-1]
	kb.line("for (long long b = 0; b < %d; b++) {", ids.Shape.Size()/bag)
	if v.Reduction == ir.ReduceMean {
		kb.line("  long long count = 0;")
		kb.line("  for (long long l = 0; l < %d; l++) count += %s;", bag, notPaddingC(v, is+"[b * "+strconv.Itoa(bag)+" + l]"))
		kb.line("  if (count == 0) continue;")
	}
	kb.line("  for (long long l = 0; l < %d; l++) {", bag)
	term := dys + "[b * " + strconv.Itoa(width) + " + d]"
	if v.Reduction == ir.ReduceMean {
		term += " / (real)count"
	}
	kb.line("    if (%s[b * %d + l] == r) s += %s;", is, bag, term)
	kb.line("  }")
	kb.line("}")
	kb.line("%s[t] = s;", dw)
}

// notPaddingC is the C condition that id is not v's padding_idx (1 where
// v has none).
func notPaddingC(v *ir.Value, id string) string {
	if !v.Padded {
		return "1"
	}
	return "(" + id + " != " + strconv.Itoa(v.PaddingIdx) + ")"
}
