package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// genTests writes the optional test file: a finite-difference check of the
// gradients, a zero-allocation check and benchmarks, so that users' own CI
// keeps checking their model. A fixed harness with a few blanks: the
// samples' types and loops, and the methods' arguments.
func (gen *generator) genTests(cfg Config) (File, error) {
	g := gen.g
	train, step := g.Loss != nil, g.Optimizer != nil
	f := jen.NewFile(cfg.Package)
	f.HeaderComment(fmt.Sprintf("%s %s from %s. DO NOT EDIT.", HeaderPrefix, Version, cfg.Source))
	f.ImportName(nnrtPath, "nnrt")
	var h harness
	if classicAPI(g) {
		h = gen.classicHarness(f)
	} else {
		h = gen.generalHarness(f)
	}
	newModel := jen.Id("New").Call(jen.Lit(1))
	if cfg.Pretrained {
		newModel = jen.Id("NewPretrained").Call()
	}
	if train {
		gen.testGradients(f, h, newModel)
	}
	check := func(method string, args ...jen.Code) jen.Code {
		return jen.Line().Lit(method).Op(":").Func().Params().Block(jen.Id("m").Dot(method).Call(args...))
	}
	predictor := cfg.Infer != nil
	checks := []jen.Code{check("Forward", h.forward...)}
	if predictor {
		checks = append(checks, jen.Line().Lit("Predictor.Forward").Op(":").Func().Params().Block(jen.Id("p").Dot("Forward").Call(h.forward...)))
	}
	if train {
		checks = append(checks, check("Backward", h.backward...))
	}
	if gen.partial() {
		out := "y"
		if !classicAPI(g) {
			out = "args"
		}
		checks = append(checks, check("ForwardBatch", h.forwardBatch(out, jen.Lit(1))...))
		if predictor {
			checks = append(checks, jen.Line().Lit("Predictor.ForwardBatch").Op(":").Func().Params().Block(jen.Id("p").Dot("ForwardBatch").Call(h.forwardBatch(out, jen.Lit(1))...)))
		}
		if train {
			checks = append(checks, check("BackwardBatch", h.backwardBatch(jen.Lit(1))...))
		}
	}
	if step {
		checks = append(checks, check("Step"))
	}
	checks = append(checks, jen.Line())
	f.Comment("TestNoAllocations checks that the generated methods never allocate.")
	f.Func().Id("TestNoAllocations").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
		jen.Do(func(s *jen.Statement) {
			if predictor {
				s.Id("p").Op(":=").Id("m").Dot("NewPredictor").Call()
			}
		}),
		h.sample(sampleAll),
		jen.Id("checks").Op(":=").Map(jen.String()).Func().Params().Values(checks...),
		jen.For(jen.List(jen.Id("name"), jen.Id("f")).Op(":=").Range().Id("checks")).Block(
			jen.If(jen.Id("n").Op(":=").Qual("testing", "AllocsPerRun").Call(jen.Lit(100), jen.Id("f")), jen.Id("n").Op("!=").Lit(0)).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("%s allocates %v times per call"), jen.Id("name"), jen.Id("n")),
			),
		),
	)
	if gen.partial() {
		gen.testBatch(f, h)
	}
	if gen.usesDropout() {
		gen.testDropout(f, h)
	}
	f.Line()
	f.Func().Id("BenchmarkForward").Params(jen.Id("b").Op("*").Qual("testing", "B")).Block(
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
		h.sample(sampleForward),
		jen.Id("b").Dot("ReportAllocs").Call(),
		jen.For(jen.Id("b").Dot("Loop").Call()).Block(jen.Id("m").Dot("Forward").Call(h.forward...)),
	)
	if predictor {
		gen.testPredictor(f, h, newModel)
	}
	if step {
		gen.testCheckpointResume(f, h)
		f.Line()
		f.Func().Id("BenchmarkTrainStep").Params(jen.Id("b").Op("*").Qual("testing", "B")).Block(
			jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
			jen.Id("m").Dot("LR").Op("=").Lit(0).Comment("the same work per step, without drifting the parameters"),
			h.sample(sampleTrain),
			jen.Id("b").Dot("ReportAllocs").Call(),
			jen.For(jen.Id("b").Dot("Loop").Call()).Block(jen.Id("m").Dot("TrainStep").Call(h.backward...)),
		)
	}
	src, err := Render(f)
	if err != nil {
		return File{}, fmt.Errorf("codegen: tests: %w", err)
	}
	return File{Name: cfg.Output + "_test.go", Data: src}, nil
}

// harness is what the test file's functions share: how they get a sample,
// and the arguments of Forward and Backward (or TrainStep).
type harness struct {
	sample            func(sampleUse) jen.Code // declares the sample's variables
	forward, backward []jen.Code
	// output declares a variable name that holds Forward's outputs (after a
	// sampleInput sample), and returns Forward's arguments that write
	// into it; two such variables compare with ==.
	output func(name string) (decl jen.Code, forward []jen.Code)
	// In a partial build: the arguments of ForwardBatch on the first n
	// samples, writing into output variable name (its inputs too, in the
	// general API), and of BackwardBatch; and each output of variable
	// name, with its rank.
	forwardBatch  func(name string, n jen.Code) []jen.Code
	backwardBatch func(n jen.Code) []jen.Code
	outputs       func(name string) []outputOf
}

// outputOf is an output of a harness variable: where it is, and its rank.
type outputOf struct {
	ref  *jen.Statement
	rank int
}

// upTo slices an argument to its first n samples: x[:n].
func upTo(ref *jen.Statement, n jen.Code) *jen.Statement { return ref.Index(jen.Op(":").Add(n)) }

// sampleUse says which variables of a sample a function declares.
type sampleUse int

const (
	sampleTrain   sampleUse = iota // the input and target, for Backward
	sampleForward                  // the input and the output, for Forward
	sampleAll                      // all three
	sampleInput                    // the input alone
)

// classicHarness writes nngenSample for the classic API (see classicAPI):
// an input x and a target, as arrays.
func (gen *generator) classicHarness(f *jen.File) harness {
	g := gen.g
	train := g.Loss != nil
	x, y := gen.dataArgs()[0].v, g.Outputs[0]
	float := goType(g.DType)
	results := []jen.Code{jen.Id("x").Add(gen.apiArray(x))}
	fill := []jen.Code{jen.Id("r").Op(":=").Qual(nnrtPath, "NewRNG").Call(jen.Lit(7))}
	input := float.Clone().Call(jen.Id("r").Dot("Uniform").Call(jen.Lit(-1), jen.Lit(1)))
	if x.DType == ir.Int { // ids: rows of the tables
		input = jen.Int().Call(jen.Id("r").Dot("Uint64").Call().Op("%").Lit(gen.classes(x)))
	}
	fill = append(fill, sampleLoops("x", len(gen.apiDims(x)), !g.Unbatched, input)...)
	what := "a reproducible input"
	var targetRef jen.Code
	if train {
		t := gen.targetArgs()[0].v
		results = append(results, jen.Id("target").Add(gen.apiArray(t)))
		value := float.Clone().Call(jen.Id("r").Dot("Uniform").Call(jen.Lit(0), jen.Lit(1)))
		if t.DType == ir.Int {
			value = jen.Int().Call(jen.Id("r").Dot("Uint64").Call().Op("%").Lit(g.Loss.Args[0].Shape[1]))
		}
		fill = append(fill, sampleLoops("target", len(gen.apiDims(t)), !g.Unbatched, value)...)
		what += " and target"
		targetRef = jen.Id("target")
		if gen.apiPointer(t) {
			targetRef = jen.Op("&").Id("target")
		}
	}
	fill = append(fill, jen.Return())
	f.Comment(fmt.Sprintf("nngenSample returns %s.", what))
	f.Func().Id("nngenSample").Params().Params(results...).Block(fill...)
	h := harness{forward: []jen.Code{jen.Op("&").Id("x"), jen.Op("&").Id("y")}}
	if train {
		h.backward = []jen.Code{jen.Op("&").Id("x"), targetRef}
	}
	h.sample = func(use sampleUse) jen.Code {
		code := jen.Id("x").Op(":=").Id("nngenSample").Call()
		switch {
		case train && (use == sampleForward || use == sampleInput):
			code = jen.List(jen.Id("x"), jen.Id("_")).Op(":=").Id("nngenSample").Call()
		case train:
			code = jen.List(jen.Id("x"), jen.Id("target")).Op(":=").Id("nngenSample").Call()
		}
		if use == sampleTrain || use == sampleInput {
			return code
		}
		return code.Line().Var().Id("y").Add(gen.apiArray(y))
	}
	h.output = func(name string) (jen.Code, []jen.Code) {
		return jen.Var().Id(name).Add(gen.apiArray(y)), []jen.Code{jen.Op("&").Id("x"), jen.Op("&").Id(name)}
	}
	h.forwardBatch = func(name string, n jen.Code) []jen.Code {
		return []jen.Code{upTo(jen.Id("x"), n), upTo(jen.Id(name), n)}
	}
	h.backwardBatch = func(n jen.Code) []jen.Code {
		return []jen.Code{upTo(jen.Id("x"), n), upTo(jen.Id("target"), n)}
	}
	h.outputs = func(name string) []outputOf { return []outputOf{{jen.Id(name), len(y.Shape)}} }
	return h
}

// generalHarness writes the general API's (see classicAPI) nngenArgs, a
// struct with an array per argument, and nngenSample, which fills in the
// inputs and targets.
func (gen *generator) generalHarness(f *jen.File) harness {
	in, targets, outs := gen.dataArgs(), gen.targetArgs(), gen.outputArgs()
	refs := func(base string, args []argument) []jen.Code {
		var refs []jen.Code
		for _, a := range args {
			ref := jen.Id(base).Dot(a.name)
			if gen.argPointer(a) {
				ref = jen.Op("&").Add(ref)
			}
			refs = append(refs, ref)
		}
		return refs
	}
	var fields []jen.Code
	for _, a := range slices.Concat(in, targets, outs) {
		fields = append(fields, jen.Id(a.name).Add(gen.argArray(a)).Comment(a.what))
	}
	f.Comment("nngenArgs holds an array for each argument of the methods.")
	f.Type().Id("nngenArgs").Struct(fields...)
	float := goType(gen.g.DType)
	fill := []jen.Code{jen.Id("r").Op(":=").Qual(nnrtPath, "NewRNG").Call(jen.Lit(7))}
	for _, a := range slices.Concat(in, targets) {
		var value *jen.Statement
		switch {
		case a.v.DType == ir.Int && gen.classes(a.v) > 0:
			value = jen.Int().Call(jen.Id("r").Dot("Uint64").Call().Op("%").Lit(gen.classes(a.v)))
		case a.v.DType != gen.g.DType:
			fill = append(fill, jen.Comment(a.name+" stays zero"))
			continue
		case a.v.Phase == ir.Forward:
			value = float.Clone().Call(jen.Id("r").Dot("Uniform").Call(jen.Lit(-1), jen.Lit(1)))
		default:
			value = float.Clone().Call(jen.Id("r").Dot("Uniform").Call(jen.Lit(0), jen.Lit(1)))
		}
		fill = append(fill, sampleLoops("args."+a.name, len(gen.apiDims(a.v)), !gen.g.Unbatched, value)...)
	}
	fill = append(fill, jen.Return())
	what := "inputs"
	if len(targets) > 0 {
		what = "inputs and targets"
	}
	f.Comment(fmt.Sprintf("nngenSample returns reproducible %s; the outputs are zero.", what))
	f.Func().Id("nngenSample").Params().Params(jen.Id("args").Id("nngenArgs")).Block(fill...)
	return harness{
		sample:   func(sampleUse) jen.Code { return jen.Id("args").Op(":=").Id("nngenSample").Call() },
		forward:  refs("args", slices.Concat(in, outs)),
		backward: refs("args", slices.Concat(in, targets)),
		output: func(name string) (jen.Code, []jen.Code) {
			return jen.Id(name).Op(":=").Id("args"), refs(name, slices.Concat(in, outs))
		},
		forwardBatch: func(name string, n jen.Code) []jen.Code {
			var refs []jen.Code
			for _, a := range slices.Concat(in, outs) {
				refs = append(refs, upTo(jen.Id(name).Dot(a.name), n))
			}
			return refs
		},
		backwardBatch: func(n jen.Code) []jen.Code {
			var refs []jen.Code
			for _, a := range slices.Concat(in, targets) {
				refs = append(refs, upTo(jen.Id("args").Dot(a.name), n))
			}
			return refs
		},
		outputs: func(name string) []outputOf {
			var out []outputOf
			for _, o := range outs {
				out = append(out, outputOf{jen.Id(name).Dot(o.name), len(o.v.Shape)})
			}
			return out
		},
	}
}

// testGradients writes TestGradients: Backward's gradients against central
// finite differences of the loss.
func (gen *generator) testGradients(f *jen.File, h harness, newModel jen.Code) {
	float := goType(gen.g.DType)
	settings := jen.List(jen.Index().Float64().Values(jen.Op("1e-2"), jen.Op("1e-3"), jen.Op("1e-4")), jen.Op("1e-2"), jen.Op("0x1p-23"))
	if gen.g.DType == ir.F64 {
		settings = jen.List(jen.Index().Float64().Values(jen.Op("1e-6")), jen.Op("1e-6"), jen.Op("0x1p-52"))
	}
	at := func(field string) *jen.Statement {
		return jen.Id("params").Index(jen.Id("e").Dot("param")).Dot(field).Index(jen.Id("e").Dot("index"))
	}
	abs := func(x jen.Code) *jen.Statement { return jen.Qual("math", "Abs").Call(x) }
	for _, line := range []string{
		"TestGradients compares Backward's gradients with central finite",
		"differences of the loss along random directions d, each moving 16",
		"random parameter elements by ±1: (L(p+hd) - L(p-hd)) / 2h must equal",
		"Σ grad·d. A sparse direction keeps the step from crossing many ReLU",
		"kinks at once; a float32 model tries a few step sizes, since rounding",
		"wants h large and kinks want it small, and passes if one agrees.",
	} {
		f.Comment(line)
	}
	f.Func().Id("TestGradients").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Id("m").Op(":=").Add(newModel),
		gen.fixedMasks(),
		h.sample(sampleTrain),
		jen.Comment("The loss itself is only accurate to some rounding (eps relative,"),
		jen.Comment("times a margin for the sums inside it), which the difference divides"),
		jen.Comment("by 2h: that is the absolute slack; tolerance is the relative one."),
		jen.List(jen.Id("steps"), jen.Id("tolerance"), jen.Id("eps")).Op(":=").Add(settings),
		jen.Id("r").Op(":=").Qual(nnrtPath, "NewRNG").Call(jen.Lit(11)),
		jen.For(jen.Id("trial").Op(":=").Range().Lit(4)).Block(
			jen.Id("backward").Op(":=").Func().Params().Float64().Block(jen.Return(jen.Float64().Call(jen.Id("m").Dot("Backward").Call(h.backward...)))),
			jen.Do(func(s *jen.Statement) {
				if gen.partial() {
					half := jen.Parens(jen.Id("Batch").Op("+").Lit(1)).Op("/").Lit(2)
					s.If(jen.Id("trial").Op("%").Lit(2).Op("==").Lit(1)).Block(
						jen.Comment("BackwardBatch, on the first half of the samples"),
						jen.Id("backward").Op("=").Func().Params().Float64().Block(jen.Return(jen.Float64().Call(jen.Id("m").Dot("BackwardBatch").Call(h.backwardBatch(half)...)))),
					)
				}
			}),
			jen.Id("backward").Call(),
			jen.Id("params").Op(":=").Id("m").Dot("Params").Call(),
			jen.Type().Id("element").Struct(jen.List(jen.Id("param"), jen.Id("index")).Int()),
			jen.Var().Id("picked").Index().Id("element"),
			jen.Var().Id("signs").Index().Float64(),
			jen.Id("analytic").Op(":=").Lit(0.0),
			jen.For(jen.Range().Lit(16)).Block(
				jen.Id("k").Op(":=").Int().Call(jen.Id("r").Dot("Uint64").Call().Op("%").Uint64().Call(jen.Len(jen.Id("params")))),
				jen.Id("e").Op(":=").Id("element").Values(jen.Id("k"), jen.Int().Call(jen.Id("r").Dot("Uint64").Call().Op("%").Uint64().Call(jen.Len(jen.Id("params").Index(jen.Id("k")).Dot("Value"))))),
				gen.skipPaddingRows(),
				jen.Id("sign").Op(":=").Lit(1.0),
				jen.If(jen.Id("r").Dot("Uint64").Call().Op("%").Lit(2).Op("==").Lit(0)).Block(jen.Id("sign").Op("=").Lit(-1)),
				jen.List(jen.Id("picked"), jen.Id("signs")).Op("=").List(jen.Append(jen.Id("picked"), jen.Id("e")), jen.Append(jen.Id("signs"), jen.Id("sign"))),
				jen.Id("analytic").Op("+=").Id("sign").Op("*").Float64().Call(jen.Id("params").Index(jen.Id("k")).Dot("Grad").Index(jen.Id("e").Dot("index"))),
			),
			jen.Id("originals").Op(":=").Make(jen.Index().Add(float.Clone()), jen.Len(jen.Id("picked"))),
			jen.For(jen.List(jen.Id("i"), jen.Id("e")).Op(":=").Range().Id("picked")).Block(
				jen.Id("originals").Index(jen.Id("i")).Op("=").Add(at("Value")),
			),
			jen.Id("loss").Op(":=").Func().Params(jen.Id("step").Float64()).Float64().Block(
				jen.For(jen.List(jen.Id("i"), jen.Id("e")).Op(":=").Range().Id("picked")).Block(
					at("Value").Op("=").Id("originals").Index(jen.Id("i")),
				),
				jen.Comment("An element picked twice moves twice, as in Σ grad·d."),
				jen.For(jen.List(jen.Id("i"), jen.Id("e")).Op(":=").Range().Id("picked")).Block(
					at("Value").Op("+=").Add(float.Clone()).Call(jen.Id("step").Op("*").Id("signs").Index(jen.Id("i"))),
				),
				jen.Return(jen.Id("backward").Call()),
			),
			jen.Id("best").Op(":=").Qual("math", "Inf").Call(jen.Lit(1)),
			jen.Id("ok").Op(":=").False(),
			jen.For(jen.List(jen.Id("_"), jen.Id("h")).Op(":=").Range().Id("steps")).Block(
				jen.List(jen.Id("up"), jen.Id("down")).Op(":=").List(jen.Id("loss").Call(jen.Id("h")), jen.Id("loss").Call(jen.Op("-").Id("h"))),
				jen.Id("numeric").Op(":=").Parens(jen.Id("up").Op("-").Id("down")).Op("/").Parens(jen.Lit(2).Op("*").Id("h")),
				jen.Id("slack").Op(":=").Lit(64).Op("*").Id("eps").Op("*").Max(abs(jen.Id("up")), abs(jen.Id("down"))).Op("/").Parens(jen.Lit(2).Op("*").Id("h")),
				jen.Id("diff").Op(":=").Add(abs(jen.Id("numeric").Op("-").Id("analytic"))),
				jen.If(jen.Id("diff").Op("<=").Id("tolerance").Op("*").Max(abs(jen.Id("numeric")), abs(jen.Id("analytic"))).Op("+").Id("slack")).Block(
					jen.Id("ok").Op("=").True(),
					jen.Break(),
				),
				jen.If(jen.Id("diff").Op("<").Add(abs(jen.Id("best").Op("-").Id("analytic")))).Block(
					jen.Id("best").Op("=").Id("numeric"),
				),
			),
			jen.Id("loss").Call(jen.Lit(0)),
			jen.If(jen.Op("!").Id("ok")).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("direction %d: finite difference %.8g, gradient %.8g"), jen.Id("trial"), jen.Id("best"), jen.Id("analytic")),
			),
		),
	)
}

// sampleLoops sets every element of the array dst (a variable, or
// args.FIELD) of the given rank to value, in nested loops: n over the
// batch, then i, j, k...
func sampleLoops(dst string, rank int, batched bool, value jen.Code) []jen.Code {
	names := axisNames("", rank)
	if batched && rank > 0 {
		names = append([]string{"n"}, axisNames("", rank-1)...)
	}
	target := func(depth int) *jen.Statement {
		base, field, _ := strings.Cut(dst, ".")
		s := jen.Id(base)
		if field != "" {
			s = s.Dot(field)
		}
		for _, name := range names[:depth] {
			s = s.Index(jen.Id(name))
		}
		return s
	}
	var code jen.Code = target(rank).Op("=").Add(value)
	for depth := rank - 1; depth >= 0; depth-- {
		code = jen.For(jen.Id(names[depth]).Op(":=").Range().Add(target(depth))).Block(code)
	}
	return []jen.Code{code}
}

// classes is the number of classes of a class-index target: the last axis
// of the logits its cross-entropy reads; 0 if no cross-entropy reads it.
func (gen *generator) classes(t *ir.Value) int {
	n := 0
	for _, v := range gen.g.Values {
		switch {
		case v.Op == ir.OpCrossEntropy && v.Args[1] == t:
			z := v.Args[0].Shape
			return z[len(z)-1]
		case v.Op == ir.OpEmbedding && v.Args[1] == t && (n == 0 || v.Args[0].Shape[0] < n):
			n = v.Args[0].Shape[0] // ids: rows of every table that reads them
		}
	}
	return n
}

// skipPaddingRows leaves out of TestGradients' directions the padding rows
// of embeddings, which take no gradient by definition (PyTorch's
// padding_idx) though the loss depends on them.
func (gen *generator) skipPaddingRows() jen.Code {
	var cond *jen.Statement
	for k, p := range gen.g.Params() {
		if !p.Padded {
			continue
		}
		c := jen.Id("k").Op("==").Lit(k).Op("&&").Id("e").Dot("index").Op("/").Lit(p.Shape[1]).Op("==").Lit(p.PaddingIdx)
		if cond == nil {
			cond = c
		} else {
			cond = cond.Op("||").Add(c)
		}
	}
	if cond == nil {
		return jen.Null()
	}
	return jen.If(cond).Block(jen.Continue().Comment("a padding row"))
}

func goTypeName(d ir.DType) string { return goType(d).GoString() }

// testPredictor writes TestPredictor, eight goroutines predicting at once
// with predictors of one model, and BenchmarkPredict, predictions from
// parallel goroutines.
func (gen *generator) testPredictor(f *jen.File, h harness, newModel jen.Code) {
	wantDecl, wantArgs := h.output("want")
	gotDecl, gotArgs := h.output("got")
	f.Line()
	f.Comment("TestPredictor runs eight predictors of one model at once, from goroutines of")
	f.Comment("their own: each must give what a predictor gives alone (go test -race checks that")
	f.Comment("they share nothing but the weights, which they only read).")
	f.Func().Id("TestPredictor").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Id("m").Op(":=").Add(newModel),
		h.sample(sampleInput),
		wantDecl,
		jen.Id("m").Dot("NewPredictor").Call().Dot("Forward").Call(wantArgs...),
		jen.Var().Id("wg").Qual("sync", "WaitGroup"),
		jen.For(jen.Id("g").Op(":=").Range().Lit(8)).Block(
			jen.Id("wg").Dot("Go").Call(jen.Func().Params().Block(
				jen.Id("p").Op(":=").Id("m").Dot("NewPredictor").Call(),
				jen.For(jen.Range().Lit(10)).Block(
					gotDecl,
					jen.Id("p").Dot("Forward").Call(gotArgs...),
					jen.If(jen.Id("got").Op("!=").Id("want")).Block(
						jen.Id("t").Dot("Errorf").Call(jen.Lit("goroutine %d: a predictor's output differs from a predictor's alone"), jen.Id("g")),
						jen.Return(),
					),
				),
			)),
		),
		jen.Id("wg").Dot("Wait").Call(),
	)
	benchDecl, benchArgs := h.output("out")
	f.Line()
	f.Comment("BenchmarkPredict runs Forward on predictors of one model from parallel")
	f.Comment("goroutines, one predictor each: with -cpu 1,2,4, ns/op is the time per")
	f.Comment("prediction of the whole machine.")
	f.Func().Id("BenchmarkPredict").Params(jen.Id("b").Op("*").Qual("testing", "B")).Block(
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
		h.sample(sampleInput),
		jen.Id("b").Dot("ReportAllocs").Call(),
		jen.Id("b").Dot("RunParallel").Call(jen.Func().Params(jen.Id("pb").Op("*").Qual("testing", "PB")).Block(
			jen.Id("p").Op(":=").Id("m").Dot("NewPredictor").Call(),
			benchDecl,
			jen.For(jen.Id("pb").Dot("Next").Call()).Block(jen.Id("p").Dot("Forward").Call(benchArgs...)),
		)),
	)
}

// testBatch writes TestBatch: ForwardBatch on fewer samples than Batch
// gives each sample the outputs that a full batch gives it.
func (gen *generator) testBatch(f *jen.File, h harness) {
	wantDecl, wantArgs := h.output("want")
	gotDecl, _ := h.output("got")
	tolerance := jen.Op("1e-5")
	if gen.g.DType == ir.F64 {
		tolerance = jen.Op("1e-12")
	}
	var compare []jen.Code
	for i, o := range h.outputs("got") {
		want := h.outputs("want")[i]
		names := append([]string{"s"}, axisNames("", o.rank-1)...)
		elem := func(ref *jen.Statement) *jen.Statement {
			ref = ref.Clone()
			for _, name := range names {
				ref = ref.Index(jen.Id(name))
			}
			return ref
		}
		var code jen.Code = jen.If(jen.Op("!").Id("close").Call(jen.Float64().Call(elem(o.ref)), jen.Float64().Call(elem(want.ref)))).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("ForwardBatch on %d samples: output %d of sample %d is %v, a full batch gives %v"),
				jen.Id("n"), jen.Lit(i), jen.Id("s"), elem(o.ref), elem(want.ref)),
		)
		for d := o.rank - 1; d >= 1; d-- {
			prefix := o.ref.Clone()
			for _, name := range names[:d] {
				prefix = prefix.Index(jen.Id(name))
			}
			code = jen.For(jen.Id(names[d]).Op(":=").Range().Add(prefix)).Block(code)
		}
		compare = append(compare, jen.For(jen.Id("s").Op(":=").Range().Id("n")).Block(code))
	}
	f.Line()
	f.Comment("TestBatch runs ForwardBatch on fewer samples than Batch: each sample's outputs")
	f.Comment("must be those a full batch gives it, up to the rounding of sums split otherwise.")
	loop := append([]jen.Code{gotDecl, jen.Id("m").Dot("ForwardBatch").Call(h.forwardBatch("got", jen.Id("n"))...)}, compare...)
	f.Func().Id("TestBatch").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
		jen.Do(func(s *jen.Statement) {
			if gen.usesDropout() {
				s.Id("m").Dot("Eval").Call().Comment("each call draws other dropout masks in training mode")
			}
		}),
		h.sample(sampleInput),
		wantDecl,
		jen.Id("m").Dot("Forward").Call(wantArgs...),
		jen.Comment("NaN where a full batch has NaN too: a random model's log of a negative number."),
		jen.Id("close").Op(":=").Func().Params(jen.List(jen.Id("got"), jen.Id("want")).Float64()).Bool().Block(
			jen.Return(jen.Id("got").Op("==").Id("want").Op("||").Qual("math", "IsNaN").Call(jen.Id("got")).Op("&&").Qual("math", "IsNaN").Call(jen.Id("want")).Op("||").
				Qual("math", "Abs").Call(jen.Id("got").Op("-").Id("want")).Op("<=").Add(tolerance).Op("*").Max(jen.Lit(1), jen.Qual("math", "Abs").Call(jen.Id("want")))),
		),
		jen.For(jen.List(jen.Id("_"), jen.Id("n")).Op(":=").Range().Index().Int().Values(jen.Lit(1), jen.Id("Batch").Op("-").Lit(1))).Block(loop...),
	)
}

// testCheckpointResume writes TestCheckpointResume: a model trained 5
// steps equals, bit for bit, one trained 3 steps, saved with
// SaveCheckpoint, loaded into a model of another seed with
// LoadCheckpoint and trained 2 more: parameters, buffers, gradients,
// optimizer state and settings (the learning rate was scheduled).
func (gen *generator) testCheckpointResume(f *jen.File, h harness) {
	train := func(model string, steps int) jen.Code {
		return jen.For(jen.Range().Lit(steps)).Block(jen.Id(model).Dot("TrainStep").Call(h.backward...))
	}
	check := func(err jen.Code) jen.Code {
		return jen.If(jen.Err().Op(":=").Add(err), jen.Err().Op("!=").Nil()).Block(jen.Id("t").Dot("Fatal").Call(jen.Err()))
	}
	same := func(got, want jen.Code) jen.Code {
		return jen.Qual("slices", "EqualFunc").Call(got, want, jen.Func().Params(jen.List(jen.Id("x"), jen.Id("y")).Add(gen.elem())).Bool().Block(
			jen.Return(jen.Qual("math", "Float64bits").Call(jen.Float64().Call(jen.Id("x"))).Op("==").Qual("math", "Float64bits").Call(jen.Float64().Call(jen.Id("y"))))))
	}
	f.Line()
	for _, line := range []string{
		"TestCheckpointResume checks that a checkpoint resumes training exactly: a model",
		"trained 5 steps equals, bit for bit, one trained 3 steps, saved, loaded into New(2)",
		"and trained 2 more (parameters, buffers, gradients, optimizer state and settings).",
	} {
		f.Comment(line)
	}
	f.Func().Id("TestCheckpointResume").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		h.sample(sampleTrain),
		jen.Id("a").Op(":=").Id("New").Call(jen.Lit(1)),
		jen.Id("a").Dot("LR").Op("*=").Lit(0.5).Comment("a schedule: the checkpoint must carry it"),
		train("a", 3),
		jen.Id("path").Op(":=").Qual("path/filepath", "Join").Call(jen.Id("t").Dot("TempDir").Call(), jen.Lit("checkpoint.safetensors")),
		check(jen.Id("a").Dot("SaveCheckpoint").Call(jen.Id("path"), jen.Map(jen.String()).String().Values(jen.Lit("steps").Op(":").Lit("3")))),
		train("a", 2),
		jen.Id("b").Op(":=").Id("New").Call(jen.Lit(2)),
		check(jen.Id("b").Dot("LoadCheckpoint").Call(jen.Id("path"))),
		train("b", 2),
		jen.List(jen.Id("want"), jen.Id("got")).Op(":=").List(jen.Id("a").Dot("checkpoint").Call(), jen.Id("b").Dot("checkpoint").Call()),
		jen.For(jen.Id("i").Op(":=").Range().Id("want")).Block(
			jen.If(jen.Op("!").Add(same(jen.Id("got").Index(jen.Id("i")).Dot("Float"), jen.Id("want").Index(jen.Id("i")).Dot("Float"))).Op("||").
				Op("!").Qual("slices", "Equal").Call(jen.Id("got").Index(jen.Id("i")).Dot("Int"), jen.Id("want").Index(jen.Id("i")).Dot("Int"))).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("%s: resumed %v, want %v %v"), jen.Id("want").Index(jen.Id("i")).Dot("Name"),
					jen.Id("got").Index(jen.Id("i")), jen.Id("want").Index(jen.Id("i")).Dot("Float"), jen.Id("want").Index(jen.Id("i")).Dot("Int")),
			),
		),
		jen.For(jen.List(jen.Id("i"), jen.Id("p")).Op(":=").Range().Id("a").Dot("Params").Call()).Block(
			jen.If(jen.Op("!").Add(same(jen.Id("b").Dot("Params").Call().Index(jen.Id("i")).Dot("Grad"), jen.Id("p").Dot("Grad")))).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("%s: resumed gradient differs"), jen.Id("p").Dot("Name")),
			),
		),
	)
}

// fixedMasks sets, in a model with dropout, a DropoutMasks hook that keeps
// two elements in three, the same at every call, so that the loss is a
// function of the parameters that finite differences can check in
// training mode.
func (gen *generator) fixedMasks() jen.Code {
	if !gen.usesDropout() {
		return jen.Null()
	}
	return jen.Id("m").Dot("DropoutMasks").Op("=").Func().Params(jen.Id("layer").String(), jen.Id("keep").Index().Add(goType(gen.g.DType))).Block(
		jen.For(jen.Id("i").Op(":=").Range().Id("keep")).Block(
			jen.Id("keep").Index(jen.Id("i")).Op("=").Lit(0),
			jen.If(jen.Parens(jen.Id("i").Op("+").Len(jen.Id("layer"))).Op("%").Lit(3).Op("!=").Lit(0)).Block(
				jen.Id("keep").Index(jen.Id("i")).Op("=").Lit(1),
			),
		),
	)
}

// testDropout writes TestDropout, which checks the masks the model's own
// generator draws in training mode, read from their slots after Forward:
// each element 0 or 1/(1-p); over many calls the kept fraction within 5
// standard deviations of 1-p; two calls, and two layers of one size,
// different masks; the same seed the same masks; all ones in evaluation
// mode.
func (gen *generator) testDropout(f *jen.File, h harness) {
	var masks []*ir.Value
	for _, v := range gen.g.Values {
		if v.Op == ir.OpDropoutMask {
			masks = append(masks, v)
		}
	}
	float := goType(gen.g.DType)
	var reads, ps []jen.Code
	for _, v := range masks {
		reads = append(reads, jen.Qual("slices", "Clone").Call(jen.Id("m").Dot(slotField(v.Storage.Slot)).Index(jen.Op(":").Lit(v.Shape.Size()))))
		ps = append(ps, jen.Lit(v.P))
	}
	_, forward := h.output("y")
	decl, _ := h.output("y")
	f.Line()
	f.Comment("TestDropout checks the dropout masks New's generator draws in training mode:")
	f.Comment("each element 0 or 1/(1-p), the kept fraction over many calls within 5 standard")
	f.Comment("deviations of 1-p, another mask at every call and in every layer, the same")
	f.Comment("masks from the same seed, and none (all ones) in evaluation mode.")
	f.Func().Id("TestDropout").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		h.sample(sampleInput),
		decl,
		jen.Id("ps").Op(":=").Index().Float64().Values(ps...),
		jen.Id("masks").Op(":=").Func().Params(jen.Id("m").Op("*").Id("Model")).Index().Index().Add(float.Clone()).Block(
			jen.Id("m").Dot("Forward").Call(forward...),
			jen.Return(jen.Index().Index().Add(float.Clone()).Values(reads...)),
		),
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(1)),
		jen.Id("first").Op(":=").Id("masks").Call(jen.Id("m")),
		jen.Id("kept").Op(",").Id("total").Op(":=").Make(jen.Index().Float64(), jen.Len(jen.Id("ps"))).Op(",").Make(jen.Index().Float64(), jen.Len(jen.Id("ps"))),
		jen.Id("previous").Op(":=").Id("first"),
		jen.For(jen.Id("call").Op(":=").Range().Lit(100)).Block(
			jen.Id("now").Op(":=").Id("masks").Call(jen.Id("m")),
			jen.For(jen.List(jen.Id("l"), jen.Id("mask")).Op(":=").Range().Id("now")).Block(
				jen.Id("p").Op(":=").Id("ps").Index(jen.Id("l")),
				jen.If(jen.Id("p").Op(">").Lit(0).Op("&&").Id("p").Op("<").Lit(1).Op("&&").Len(jen.Id("mask")).Op(">=").Lit(16).Op("&&").Qual("slices", "Equal").Call(jen.Id("mask"), jen.Id("previous").Index(jen.Id("l")))).Block(
					jen.Id("t").Dot("Errorf").Call(jen.Lit("call %d: dropout layer %d drew the mask of the call before"), jen.Id("call"), jen.Id("l")),
				),
				jen.For(jen.List(jen.Id("_"), jen.Id("x")).Op(":=").Range().Id("mask")).Block(
					jen.Switch(jen.Id("x")).Block(
						jen.Case(jen.Lit(0)),
						jen.Case(jen.Add(float.Clone()).Call(jen.Lit(1).Op("/").Parens(jen.Lit(1).Op("-").Id("p")))).Block(jen.Id("kept").Index(jen.Id("l")).Op("++")),
						jen.Default().Block(jen.Id("t").Dot("Fatalf").Call(jen.Lit("dropout layer %d (p %g): mask element %v"), jen.Id("l"), jen.Id("p"), jen.Id("x"))),
					),
				),
				jen.Id("total").Index(jen.Id("l")).Op("+=").Float64().Call(jen.Len(jen.Id("mask"))),
			),
			jen.For(jen.Id("l").Op(":=").Lit(1)).Op(";").Id("l").Op("<").Len(jen.Id("now")).Op(";").Id("l").Op("++").Block(
				jen.If(jen.Id("ps").Index(jen.Id("l")).Op("==").Id("ps").Index(jen.Lit(0)).Op("&&").Id("ps").Index(jen.Lit(0)).Op(">").Lit(0).Op("&&").Id("ps").Index(jen.Lit(0)).Op("<").Lit(1).Op("&&").Len(jen.Id("now").Index(jen.Lit(0))).Op(">=").Lit(16).Op("&&").Qual("slices", "Equal").Call(jen.Id("now").Index(jen.Id("l")), jen.Id("now").Index(jen.Lit(0)))).Block(
					jen.Id("t").Dot("Errorf").Call(jen.Lit("call %d: dropout layers 0 and %d drew one mask"), jen.Id("call"), jen.Id("l")),
				),
			),
			jen.Id("previous").Op("=").Id("now"),
		),
		jen.For(jen.List(jen.Id("l"), jen.Id("p")).Op(":=").Range().Id("ps")).Block(
			jen.Id("sigma").Op(":=").Qual("math", "Sqrt").Call(jen.Id("total").Index(jen.Id("l")).Op("*").Id("p").Op("*").Parens(jen.Lit(1).Op("-").Id("p"))),
			jen.If(jen.Qual("math", "Abs").Call(jen.Id("kept").Index(jen.Id("l")).Op("-").Id("total").Index(jen.Id("l")).Op("*").Parens(jen.Lit(1).Op("-").Id("p"))).Op(">").Lit(5).Op("*").Id("sigma")).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("dropout layer %d (p %g): kept %v of %v elements"), jen.Id("l"), jen.Id("p"), jen.Id("kept").Index(jen.Id("l")), jen.Id("total").Index(jen.Id("l"))),
			),
		),
		jen.For(jen.List(jen.Id("l"), jen.Id("mask")).Op(":=").Range().Id("masks").Call(jen.Id("New").Call(jen.Lit(1)))).Block(
			jen.If(jen.Op("!").Qual("slices", "Equal").Call(jen.Id("mask"), jen.Id("first").Index(jen.Id("l")))).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("dropout layer %d: New(1) drew another first mask"), jen.Id("l")),
			),
		),
		jen.Id("m").Dot("Eval").Call(),
		jen.For(jen.List(jen.Id("l"), jen.Id("mask")).Op(":=").Range().Id("masks").Call(jen.Id("m"))).Block(
			jen.For(jen.List(jen.Id("_"), jen.Id("x")).Op(":=").Range().Id("mask")).Block(
				jen.If(jen.Id("x").Op("!=").Lit(1)).Block(
					jen.Id("t").Dot("Fatalf").Call(jen.Lit("evaluation mode: dropout layer %d's mask holds %v"), jen.Id("l"), jen.Id("x")),
				),
			),
		),
	)
}
