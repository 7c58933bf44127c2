package codegen

import (
	"fmt"
	"math"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// genSizes emits the sizes users need to declare inputs and outputs: in the
// classic API (see classicAPI) the features of x and y and the batch, else
// the batch alone, which the methods' array types name.
func (gen *generator) genSizes(f *jen.File) {
	if !classicAPI(gen.g) {
		if !gen.g.Unbatched {
			f.Const().Id("Batch").Op("=").Lit(gen.g.Batch).Comment("samples per call")
		}
		return
	}
	x, y := gen.dataArgs()[0].v, gen.g.Outputs[0]
	defs := []jen.Code{
		jen.Id("Inputs").Op("=").Lit(x.Shape[1]).Comment("features per sample of x"),
		jen.Id("Outputs").Op("=").Lit(y.Shape[1]).Comment("features per sample of y"),
	}
	if !gen.g.Unbatched {
		defs = append(defs, jen.Id("Batch").Op("=").Lit(gen.g.Batch).Comment("samples per call"))
	}
	f.Const().Defs(defs...)
}

// genModel emits the Model struct: the optimizer's settings, the parameters
// in PyTorch's layout, their gradients, the optimizer's state and the
// scratch slots, in the order of modelFields.
func (gen *generator) genModel(f *jen.File) {
	var fields []jen.Code
	for i, mf := range gen.modelFields() {
		if mf.opens && i > 0 {
			fields = append(fields, jen.Line())
		}
		if mf.heading != "" {
			fields = append(fields, jen.Comment(mf.heading))
		}
		fields = append(fields, jen.Id(mf.name).Add(mf.typ).Comment(mf.comment))
	}
	f.Comment(fmt.Sprintf("Model is the network %s: its parameters and everything its methods need,", gen.g.Name))
	f.Comment("so that no method allocates. A Model is not safe for concurrent use; its predictors")
	f.Comment("(NewPredictor) run Forward on its parameters from many goroutines at once.")
	f.Type().Id("Model").Struct(fields...)
}

// genNew emits New, which initialises parameters as PyTorch's nn.Linear
// does by default.
func (gen *generator) genNew(f *jen.File) {
	body := []jen.Code{jen.Id("m").Op(":=").Op("&").Id("Model").Values(gen.hyperDefaults()...)}
	switch {
	case gen.usesPool():
		// The GEMMs run on this goroutine use the workspace of the pool's
		// share 0, which this goroutine computes: one workspace, not two.
		body = append(body,
			jen.Id("m").Dot("pool").Op("=").Qual(kernelsPath, gen.suffixed("NewPool")).Call(jen.Lit(0), gen.gemmWork()),
			jen.Id("m").Dot("gemmWork").Op("=").Id("m").Dot("pool").Dot(gen.suffixed("Work")).Call(),
			jen.Qual("runtime", "AddCleanup").Call(jen.Id("m"), jen.Func().Params(jen.Id("p").Op("*").Qual(kernelsPath, "Pool")).Block(jen.Id("p").Dot("Close").Call()), jen.Id("m").Dot("pool")),
		)
	case gen.usesGemm():
		body = append(body, jen.Id("m").Dot("gemmWork").Op("=").Make(jen.Index().Add(gen.elem()), gen.gemmWork()))
	}
	if size := gen.swapSize(); size > 0 {
		body = append(body, jen.Id("m").Dot("gemmSwap").Op("=").Make(jen.Index().Add(gen.elem()), jen.Lit(size)))
	}
	if gen.usesDropout() {
		body = append(body, jen.Id("m").Dot("dropout").Op("=").Qual(nnrtPath, "DropoutRNG").Call(jen.Id("seed")))
	}
	// A parameter of a linear layer is drawn as PyTorch's nn.Linear does; one
	// outside (declared with param) as its layer would, from its FanIn, or
	// set to ones; the rest (zeros, an ONNX model's constants) start at zero.
	fanIn := gen.fanIns()
	var fills, ones []jen.Code
	others, normal := false, false
	for _, p := range gen.g.Params() {
		switch {
		case p.Init == ir.InitXavierUniform:
			others = true
			bound := math.Sqrt(6 / float64(p.Shape[0]+p.Shape[1]))
			fills = append(fills, jen.Qual(nnrtPath, "FillUniform").Call(jen.Id("r"), gen.flat(paramField(p), p.Shape), jen.Lit(bound)))
		case p.Init == ir.InitZeros && fanIn[p] > 0: // a bias that starts at zero (nn.MultiheadAttention's)
			others = true
		case fanIn[p] > 0:
			fills = append(fills, jen.Qual(nnrtPath, "FillUniform").Call(jen.Id("r"), gen.flat(paramField(p), p.Shape), jen.Qual(nnrtPath, "LinearBound").Call(jen.Lit(fanIn[p]))))
		case p.FanIn > 0:
			others = true
			fills = append(fills, jen.Qual(nnrtPath, "FillUniform").Call(jen.Id("r"), gen.flat(paramField(p), p.Shape), jen.Qual(nnrtPath, "LinearBound").Call(jen.Lit(p.FanIn))))
		case p.Init == ir.InitNormal:
			normal = true
			fills = append(fills, jen.Qual(nnrtPath, "FillNormal").Call(jen.Id("r"), gen.flat(paramField(p), p.Shape)))
			if p.Padded { // nn.Embedding's padding row starts at zero
				fills = append(fills, jen.Id("m").Dot(paramField(p)).Index(jen.Lit(p.PaddingIdx)).Op("=").Add(arrayType(&ir.Value{Shape: p.Shape[1:], DType: p.DType})).Values())
			}
		case p.Init == ir.InitOnes:
			others = true
			ones = append(ones, gen.fillOnes(p)...)
		case p.Init == ir.InitZeros:
			others = true
		}
	}
	if len(fills) > 0 {
		body = append(body, jen.Id("r").Op(":=").Qual(nnrtPath, "NewRNG").Call(jen.Id("seed")))
		body = append(body, fills...)
	} else if !gen.usesDropout() {
		body = append(body, jen.Id("_").Op("=").Id("seed").Comment("nothing to initialise"))
	}
	for _, b := range gen.g.Buffers() {
		others = true
		if b.Init == ir.InitOnes {
			ones = append(ones, gen.fillOnes(b)...)
		}
	}
	body = append(body, ones...)
	body = append(body, jen.Return(jen.Id("m")))
	f.Comment("New returns a model with PyTorch's default nn.Linear initialisation: every weight and")
	f.Comment("bias uniform in ±1/√fan_in, drawn from a generator seeded with seed.")
	if others {
		f.Comment("A parameter declared on its own starts as declared: ones, zeros, or uniform")
		f.Comment("in ±1/√fan_in of the layer it belongs to; a buffer as declared, ones or zeros.")
	}
	if normal {
		f.Comment("An embedding's table is drawn from N(0, 1), as nn.Embedding's (from another generator")
		f.Comment("than PyTorch's, so not the same numbers), its padding row zero.")
	}
	if gen.usesDropout() {
		f.Comment("In training mode its dropout layers draw their masks from a generator of their own,")
		f.Comment("also seeded with seed (nnrt.DropoutRNG), unless DropoutMasks is set.")
	}
	f.Func().Id("New").Params(jen.Id("seed").Uint64()).Op("*").Id("Model").Block(body...)
}

// fillOnes sets every element of parameter (or buffer) p to 1, in loops
// over its array.
func (gen *generator) fillOnes(p *ir.Value) []jen.Code {
	field := jen.Id("m").Dot(paramField(p))
	if len(p.Shape) == 0 {
		return []jen.Code{field.Op("=").Lit(1)}
	}
	names := axisNames("", len(p.Shape))
	var nest func(d int) jen.Code
	nest = func(d int) jen.Code {
		at := jen.Id("m").Dot(paramField(p))
		for _, name := range names[:d] {
			at = at.Index(jen.Id(name))
		}
		if d == len(names) {
			return at.Op("=").Lit(1)
		}
		return jen.For(jen.Id(names[d]).Op(":=").Range().Add(at)).Block(nest(d + 1))
	}
	return []jen.Code{jen.Comment(p.Name + " starts at ones"), nest(0)}
}

func (gen *generator) hyperDefaults() []jen.Code {
	var kv []jen.Code
	for _, h := range gen.g.Hypers() {
		kv = append(kv, jen.Id(GoName(h.Name)).Op(":").Add(jen.Lit(h.Value)))
	}
	return kv
}

// fanIns gives each parameter the number of inputs of the layer it
// belongs to, which PyTorch's default initialisation scales by.
func (gen *generator) fanIns() map[*ir.Value]int {
	fanIn := map[*ir.Value]int{}
	for _, v := range gen.g.Values {
		if v.Op == ir.OpLinear {
			for _, p := range v.Args[1:] {
				fanIn[p] = v.Args[1].Shape[1]
			}
		}
	}
	return fanIn
}

// flat is a row-major slice over the model's array field of the given shape.
func (gen *generator) flat(field string, shape ir.Shape) *jen.Statement {
	if len(shape) == 1 {
		return gen.model().Dot(field).Index(jen.Op(":"))
	}
	first := jen.Op("&").Add(gen.model()).Dot(field)
	for range shape {
		first = first.Index(jen.Lit(0))
	}
	return jen.Qual(unsafePath, "Slice").Call(first, jen.Lit(shape.Size()))
}

// genResetOptimizer emits ResetOptimizer, which forgets the optimizer's
// state as a new torch.optim optimizer would start.
func (gen *generator) genResetOptimizer(f *jen.File) {
	var body []jen.Code
	for _, s := range gen.g.States() {
		zero := jen.Lit(0)
		if len(s.Shape) > 0 {
			zero = arrayType(s).Values()
		}
		body = append(body, jen.Id("m").Dot(stateField(s)).Op("=").Add(zero))
	}
	f.Comment("ResetOptimizer clears the optimizer's state (step count, momentum, moments),")
	f.Comment("as creating a new optimizer does in PyTorch. Parameters are kept.")
	f.Func().Params(gen.receiver()).Id("ResetOptimizer").Params().Block(body...)
}

// genParams emits Params, the state_dict view of the model.
func (gen *generator) genParams(f *jen.File) {
	var items []jen.Code
	for _, p := range gen.g.Params() {
		dims := make([]jen.Code, len(p.Shape))
		for i, d := range p.Shape {
			dims[i] = jen.Lit(d)
		}
		kv := []jen.Code{
			jen.Id("Name").Op(":").Lit(p.Name),
			jen.Id("Shape").Op(":").Index().Int().Values(dims...),
			jen.Id("Value").Op(":").Add(gen.flat(paramField(p), p.Shape)),
		}
		if gen.g.Loss != nil {
			kv = append(kv, jen.Id("Grad").Op(":").Add(gen.flat(gradField(p), p.Shape)))
		}
		items = append(items, jen.Line().Values(kv...))
	}
	paramType := jen.Qual(nnrtPath, "Param").Types(gen.elem())
	f.Comment("Params lists the parameters in PyTorch's state_dict order and naming. Each Value")
	f.Comment("(and Grad) aliases the model's array in row-major order: reading it reads the")
	f.Comment("parameter, writing it sets the parameter.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("Params").Params().Index().Add(paramType).Block(
		jen.Return(jen.Index().Add(paramType).Values(append(items, jen.Line())...)),
	)
	f.Comment("Param returns the parameter named name (\"layer1.weight\"), as in Params.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("Param").Params(jen.Id("name").String()).Params(paramType, jen.Bool()).Block(
		jen.Return(jen.Qual(nnrtPath, "Lookup").Call(jen.Id("m").Dot("Params").Call(), jen.Id("name"))),
	)
	var copies []jen.Code
	for _, p := range gen.g.Params() {
		copies = append(copies, jen.Id("m").Dot(paramField(p)).Op("=").Id("src").Dot(paramField(p)))
	}
	for _, b := range gen.g.Buffers() {
		copies = append(copies, jen.Id("m").Dot(bufferField(b)).Op("=").Id("src").Dot(bufferField(b)))
	}
	what := "parameters"
	if len(gen.g.Buffers()) > 0 {
		what = "parameters and buffers"
	}
	f.Comment("LoadParams sets m's " + what + " to src's, as PyTorch's m.load_state_dict(src.state_dict()):")
	f.Comment("gradients, optimizer state and settings stay m's. With it a server publishes the weights")
	f.Comment("that another model trains: copy them into a model no one trains, between two steps,")
	f.Comment("and predict with that one (see Predictor).")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("LoadParams").Params(jen.Id("src").Op("*").Id("Model")).Block(copies...)
}

// genModes emits PyTorch's modes: Train and Eval set them, Training
// reports it. New returns a model in training mode, as torch.nn.Module
// starts; an inference-only package is always in evaluation mode. The
// ops that behave differently in the two (dropout, batch norm) read it.
func (gen *generator) genModes(f *jen.File) {
	if gen.g.Loss == nil {
		f.Comment("Eval does nothing: an inference-only model is always in evaluation mode, as PyTorch's")
		f.Comment("module.eval() puts it. It is here so that code written for a trainable package compiles.")
		f.Func().Params(gen.receiver()).Id("Eval").Params().Block()
		f.Comment("Training reports false: an inference-only model is always in evaluation mode.")
		f.Func().Params(gen.receiver()).Id("Training").Params().Bool().Block(jen.Return(jen.False()))
		return
	}
	f.Comment("Train puts the model in training mode, as PyTorch's module.train(): New returns a")
	f.Comment("model in it. Forward, Backward and TrainStep behave as PyTorch does in that mode.")
	f.Func().Params(gen.receiver()).Id("Train").Params().Block(jen.Id("m").Dot("eval").Op("=").False())
	f.Comment("Eval puts the model in evaluation mode, as PyTorch's module.eval(); Train leaves it.")
	f.Comment("A Predictor always runs in evaluation mode.")
	f.Func().Params(gen.receiver()).Id("Eval").Params().Block(jen.Id("m").Dot("eval").Op("=").True())
	f.Comment("Training reports whether the model is in training mode, as PyTorch's module.training.")
	f.Func().Params(gen.receiver()).Id("Training").Params().Bool().Block(jen.Return(jen.Op("!").Id("m").Dot("eval")))
}
