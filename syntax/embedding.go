package syntax

import (
	"github.com/nngen/nngen/ir"
)

// lowerEmbedding lowers embedding(ids, N, D) and embedding(ids, N, D,
// padding_idx=P), PyTorch's nn.Embedding(N, D, padding_idx=P), and
// embedding_bag(ids, N, D, mode=mean|sum, padding_idx=P), nn.EmbeddingBag
// over the last axis of ids (the bag, as a 2-D input gives it). The table
// is NAME.weight [N, D], drawn from N(0, 1) with its padding row zero.
func lowerEmbedding(bag bool) layerRule {
	return func(l *lowerer, name token, c call) *ir.Value {
		fn := c.fn.text
		usage := fn + "(ids, num_embeddings, embedding_dim)"
		args, ok := l.positional(c, 3, 3, usage)
		allowed := []string{"padding_idx"}
		if bag {
			allowed = append(allowed, "mode")
		}
		keywords, keywordsOK := l.keywords(c, allowed...)
		if !ok || !keywordsOK {
			return nil
		}
		if name.text == "" {
			l.errorf(c.fn.pos, "%s must be the whole right-hand side of an assignment, which names its table: e = %s", fn, usage)
			return nil
		}
		ids, idsOK := l.idsArg(args[0], fn)
		rows, rowsOK := l.sizeArg(args[1], fn+"'s num_embeddings")
		width, widthOK := l.sizeArg(args[2], fn+"'s embedding_dim")
		attrs := ir.Attrs{}
		padOK := true
		if a, ok := keywords["padding_idx"]; ok {
			attrs.Padded = true
			attrs.PaddingIdx, padOK = l.paddingIdx(a, rows, rowsOK)
		}
		modeOK := true
		if bag {
			attrs.Reduction = ir.ReduceMean // nn.EmbeddingBag's default
			if a, ok := keywords["mode"]; ok {
				var mode string
				mode, modeOK = l.choice(a, "mean", "sum")
				attrs.Reduction, _ = ir.ParseReduce(mode)
			}
		}
		if !idsOK || !rowsOK || !widthOK || !padOK || !modeOK {
			return nil
		}
		if bag && len(ids.Shape) < 2 {
			l.errorf(args[0].value.pos, "%s's ids %s must have a bag axis: declare them as input %s[LENGTH] int", fn, args[0].value.text, args[0].value.text)
			return nil
		}
		if !l.fits(name, name.text+".weight", ir.Shape{rows, width}) {
			return nil
		}
		w := l.param(name, ".weight", ir.Shape{rows, width})
		w.Init, w.Padded, w.PaddingIdx = ir.InitNormal, attrs.Padded, attrs.PaddingIdx
		return l.add(name, ir.OpEmbedding, attrs, w, ids)
	}
}

// idsArg resolves the ids an embedding reads: an input declared int.
func (l *lowerer) idsArg(a arg, fn string) (*ir.Value, bool) {
	if a.expr != nil || a.value.kind != identifier || a.declares() {
		l.errorf(a.value.pos, "%s's ids must be the name of an input declared int, found %s", fn, a)
		return nil, false
	}
	v, ok := l.lookup(a.value)
	if !ok {
		return nil, false
	}
	if v.DType != ir.Int || v.Op != ir.OpInput || v.Phase != ir.Forward {
		l.errorf(a.value.pos, "%s's ids must be an input declared int (input %s[LENGTH] int), but %s holds numbers", fn, a.value.text, a.value.text)
		return nil, false
	}
	return v, true
}

// paddingIdx reads padding_idx, a row of the table: 0 to rows-1, or
// negative from the end as PyTorch allows.
func (l *lowerer) paddingIdx(a arg, rows int, rowsOK bool) (int, bool) {
	f, ok := l.number(a, "padding_idx")
	if !ok {
		return 0, false
	}
	p := int(f)
	if float64(p) != f {
		l.errorf(a.value.pos, "padding_idx must be an integer, found %s", a.value.text)
		return 0, false
	}
	if !rowsOK {
		return 0, false
	}
	if p < 0 {
		p += rows
	}
	if p < 0 || p >= rows {
		l.errorf(a.value.pos, "padding_idx %s is not a row of a table of %d (0 to %d, or -1 to -%d)", a.value.text, rows, rows-1, rows)
		return 0, false
	}
	return p, true
}
