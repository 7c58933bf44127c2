package codegen

import (
	"fmt"

	"github.com/dave/jennifer/jen"
)

// genBlocks emits ParamBlock and GradBlock: every parameter, and every
// gradient, as one slice over Model's fields, for code that treats them as
// one vector (Step's plain SGD; runtime/dist, which broadcasts the
// parameters and all-reduces the gradients in one call each). The fields
// of a group lie back to back: arrays of the model's number type, and the
// blank fields of padPairs (one number each, zero, never read) between
// them, which the blocks include. Constants checked when the package
// compiles make sure of it. A model with parameters of another type than
// its own (none today) gets no blocks.
func (gen *generator) genBlocks(f *jen.File) {
	params := gen.g.Params()
	if gen.g.Loss == nil || len(params) == 0 {
		return
	}
	for _, p := range params {
		if p.DType != gen.g.DType {
			return
		}
	}
	type block struct {
		first, last string
		size        int64 // bytes, blank fields included
	}
	span := func(k fieldKind) block {
		var b block
		for _, field := range gen.modelFields() {
			if field.kind != k {
				continue
			}
			if b.first == "" {
				b.first = field.name
			}
			if field.name != "_" {
				b.last = field.name
			}
			b.size += field.size
		}
		return b
	}
	paramBlock, gradBlock := span(paramKind), span(gradKind)
	check := func(b block) jen.Code {
		end := jen.Qual(unsafePath, "Offsetof").Call(jen.Id("Model").Values().Dot(b.last)).Op("+").
			Qual(unsafePath, "Sizeof").Call(jen.Id("Model").Values().Dot(b.last))
		return jen.Var().Id("_").Op("=").Index(jen.Lit(1)).Struct().Values().
			Index(end.Op("-").Qual(unsafePath, "Offsetof").Call(jen.Id("Model").Values().Dot(b.first)).Op("-").Lit(int(b.size)))
	}
	f.Comment("ParamBlock and GradBlock view the parameters, and their gradients, as one array each:")
	f.Comment("the index is out of range, and the build fails, unless they lie back to back in Model.")
	f.Add(check(paramBlock))
	f.Add(check(gradBlock))
	f.Line()
	elems := func(b block) int { return int(b.size) / gen.g.DType.Bytes() }
	slice := func(b block) jen.Code {
		first := jen.Op("&").Id("m").Dot(b.first)
		for range params[0].Shape {
			first = first.Index(jen.Lit(0))
		}
		return jen.Return(jen.Qual(unsafePath, "Slice").Call(first, jen.Lit(elems(b))))
	}
	blanks := func(b block) string {
		if n := elems(b) - gen.paramCount(); n > 0 {
			return fmt.Sprintf(", and the %d blank fields between them (zero)", n)
		}
		return ""
	}
	comment(f, fmt.Sprintf("ParamBlock is every parameter, %d numbers from %s to %s in Model's order%s, as one slice aliasing the model: for code that treats them as one vector, such as runtime/dist's broadcast.",
		elems(paramBlock), params[0].Name, params[len(params)-1].Name, blanks(paramBlock)))
	f.Func().Params(gen.receiver()).Id("ParamBlock").Params().Index().Add(gen.elem()).Block(slice(paramBlock))
	order := "in ParamBlock's order"
	if paramBlock.size != gradBlock.size {
		order = fmt.Sprintf("%d numbers%s: blank fields lie elsewhere than in ParamBlock", elems(gradBlock), blanks(gradBlock))
	}
	comment(f, fmt.Sprintf("GradBlock is every parameter's gradient, %s, as one slice aliasing the model: for code that treats them as one vector, such as runtime/dist's all-reduce between Backward and Step.", order))
	f.Func().Params(gen.receiver()).Id("GradBlock").Params().Index().Add(gen.elem()).Block(slice(gradBlock))
}

// paramCount is the number of numbers in the parameters.
func (gen *generator) paramCount() int {
	n := 0
	for _, p := range gen.g.Params() {
		n += p.Shape.Size()
	}
	return n
}
