package codegen

import (
	"slices"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// embeddingID declares id, the id at idx, and panics with the model's
// name where it is not a row of the table (as Go's index check would, but
// saying which tensor).
func (gen *generator) embeddingID(ids *ir.Value, idx []index, rows int) []jen.Code {
	return []jen.Code{
		jen.Id("id").Op(":=").Add(gen.at(ids, idx...)),
		jen.If(jen.Id("id").Op("<").Lit(0).Op("||").Id("id").Op(">=").Lit(rows)).Block(
			jen.Panic(jen.Lit(gen.pkg + ": embedding id out of range in " + ids.Name)),
		),
	}
}

// notPadding wraps code in if id != padding_idx for a bag that leaves the
// padding out; code otherwise.
func notPadding(v *ir.Value, code []jen.Code) []jen.Code {
	if !v.Padded {
		return code
	}
	return []jen.Code{jen.If(jen.Id("id").Op("!=").Lit(v.PaddingIdx)).Block(code...)}
}

// genEmbedding: y[p, :] = w[ids[p], :] for each place p of ids; a bag
// y[b, :] = Σ_l w[ids[b,l], :] over the ids other than padding_idx,
// divided by their count for a mean (0 for a bag of padding only, as
// nn.EmbeddingBag).
func (gen *generator) genEmbedding(v *ir.Value) []jen.Code {
	w, ids := v.Args[0], v.Args[1]
	rows, width := w.Shape[0], w.Shape[1]
	row := func(idx []index) []index { return append(slices.Clone(idx), index{name: "d"}) }
	if v.Reduction == 0 {
		return gen.loops(axisNames("", len(ids.Shape)), gen.dims(ids), func(idx []index) []jen.Code {
			return append(gen.embeddingID(ids, idx, rows), jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(
				gen.at(v, row(idx)...).Op("=").Add(gen.at(w, index{name: "id"}, index{name: "d"})),
			))
		})
	}
	lead := len(ids.Shape) - 1
	return gen.loops(axisNames("", lead), gen.axes(ids, allAxes(lead)), func(idx []index) []jen.Code {
		code := []jen.Code{jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(gen.at(v, row(idx)...).Op("=").Add(gen.lit(0)))}
		if v.Reduction == ir.ReduceMean {
			code = append(code, jen.Id("count").Op(":=").Lit(0))
		}
		add := []jen.Code{jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(
			gen.at(v, row(idx)...).Op("+=").Add(gen.at(w, index{name: "id"}, index{name: "d"})),
		)}
		if v.Reduction == ir.ReduceMean {
			add = append(add, jen.Id("count").Op("++"))
		}
		code = append(code, jen.For(jen.Id("l").Op(":=").Range().Lit(ids.Shape[lead])).Block(
			append(gen.embeddingID(ids, append(slices.Clone(idx), index{name: "l"}), rows), notPadding(v, add)...)...,
		))
		if v.Reduction == ir.ReduceMean {
			code = append(code, jen.If(jen.Id("count").Op(">").Lit(0)).Block(
				jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(gen.at(v, row(idx)...).Op("/=").Add(gen.elem()).Call(jen.Id("count"))),
			))
		}
		return code
	})
}

// genEmbeddingGrad: dw[r, :] = Σ dy[p, :] over the places p whose id is
// r, in the order of the places (no row but the padding row's takes
// gradient); 0 for a row no id picks. A bag's places share its dy[b, :],
// divided by its count of ids for a mean. The forward pass has checked
// the ids.
func (gen *generator) genEmbeddingGrad(v *ir.Value) []jen.Code {
	dy, ids := v.Args[0], v.Args[1]
	width := v.To[1]
	code := []jen.Code{jen.Clear(gen.flatValue(v))}
	at := func(idx []index) []index { return append(slices.Clone(idx), index{name: "d"}) }
	if v.Reduction == 0 {
		return append(code, gen.loops(axisNames("", len(ids.Shape)), gen.dims(ids), func(idx []index) []jen.Code {
			return append([]jen.Code{jen.Id("id").Op(":=").Add(gen.at(ids, idx...))}, notPadding(v, []jen.Code{
				jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(
					gen.at(v, index{name: "id"}, index{name: "d"}).Op("+=").Add(gen.at(dy, at(idx)...)),
				),
			})...)
		})...)
	}
	lead := len(ids.Shape) - 1
	bag := func(idx []index, body []jen.Code) jen.Code {
		return jen.For(jen.Id("l").Op(":=").Range().Lit(ids.Shape[lead])).Block(
			append([]jen.Code{jen.Id("id").Op(":=").Add(gen.at(ids, append(slices.Clone(idx), index{name: "l"})...))}, notPadding(v, body)...)...)
	}
	return append(code, gen.loops(axisNames("", lead), gen.axes(ids, allAxes(lead)), func(idx []index) []jen.Code {
		term := gen.at(dy, at(idx)...)
		switch {
		case v.Reduction == ir.ReduceMean && v.Padded:
			term = term.Op("/").Add(gen.elem()).Call(jen.Id("count"))
		case v.Reduction == ir.ReduceMean: // without padding every bag holds all its places
			term = term.Op("/").Add(gen.elem()).Call(jen.Lit(ids.Shape[lead]))
		}
		spread := bag(idx, []jen.Code{jen.For(jen.Id("d").Op(":=").Range().Lit(width)).Block(
			gen.at(v, index{name: "id"}, index{name: "d"}).Op("+=").Add(term),
		)})
		if v.Reduction != ir.ReduceMean || !v.Padded {
			return []jen.Code{spread}
		}
		return []jen.Code{
			jen.Id("count").Op(":=").Lit(0),
			bag(idx, []jen.Code{jen.Id("count").Op("++")}),
			jen.If(jen.Id("count").Op(">").Lit(0)).Block(spread),
		}
	})...)
}
