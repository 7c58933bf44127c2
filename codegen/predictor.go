package codegen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// genPredictor emits Predictor: Forward on a Model's parameters with
// scratch memory of its own, so that goroutines predict at once, each
// with its predictor, without copying the weights. Its code is that of
// infer, the network planned for inference (no saved activations, slots
// shared as soon as a value dies), with the parameters read from p.m.
func genPredictor(f *jen.File, infer *ir.Graph, pkg string) error {
	if err := infer.CheckPlanned(); err != nil {
		return fmt.Errorf("codegen: the predictor's graph: %w", err)
	}
	if infer.Loss != nil {
		return fmt.Errorf("codegen: the predictor's graph has a loss; plan it with the infer-only pass")
	}
	gen := newGenerator(infer, pkg)
	gen.predictor = true
	fields := []jen.Code{jen.Id("m").Op("*").Id("Model").Comment("the parameters, read only")}
	if gen.usesGemm() {
		fields = append(fields, jen.Id("gemmWork").Index().Add(gen.elem()).Comment("packed panels for the GEMM kernels"))
	}
	for i, s := range infer.Slots {
		names := make([]string, len(s.Values))
		for j, v := range s.Values {
			names[j] = gen.label(v)
		}
		fields = append(fields, jen.Id(slotField(i)).Index(jen.Lit(s.Size)).Add(gen.elem()).Comment(strings.Join(names, ", ")))
	}
	comment(f, "Predictor runs the network's Forward on the parameters of a Model with scratch memory of its own, in evaluation mode. Goroutines may each run a Predictor of the same Model at once: they read its weights, none copies them. A Predictor itself is for one goroutine at a time (keep one per goroutine, or a sync.Pool of them). Nothing may change the Model's parameters while its predictors run: Step, TrainStep, NewPretrained's loading and writes through Params do. To serve while training, train another Model and make predictors of a copy of it, made between steps; the README's \"Serving\" shows how.")
	f.Type().Id("Predictor").Struct(fields...)

	fill := jen.Dict{jen.Id("m"): jen.Id("m")}
	if gen.usesGemm() {
		fill[jen.Id("gemmWork")] = jen.Make(jen.Index().Add(gen.elem()), gen.gemmWork())
	}
	body := []jen.Code{jen.Return(jen.Op("&").Id("Predictor").Values(fill))}
	comment(f, "NewPredictor returns a Predictor of m: its own scratch memory, m's parameters. It allocates; Forward does not.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("NewPredictor").Params().Op("*").Id("Predictor").Block(body...)
	gen.genForward(f)
	return gen.err
}
