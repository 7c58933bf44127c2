package codegen

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// chunk is how many values' code one method holds. Go's compiler slows
// down more than linearly with a function's size, so a network of
// thousands of layers compiles in reasonable time only when its phases
// are split into methods of this many values, called in order.
const chunk = 48

// phase emits the code of every value in the given phases, in schedule
// order: inline for a small network (for the caller's body), else as
// calls to numbered methods named after the method (backward0, backward1,
// ...) that f receives. The methods take the same parameters as the caller
// (params, passed as args).
func (gen *generator) phase(f *jen.File, method string, params, args []jen.Code, phases ...ir.Phase) []jen.Code {
	var values []*ir.Value
	for _, v := range gen.g.Values {
		if slices.Contains(phases, v.Phase) && !ir.IsLeaf(v.Op) && gen.computedBy[v] == nil {
			values = append(values, v)
		}
	}
	emit := func(vs []*ir.Value) []jen.Code {
		var code []jen.Code
		for _, v := range vs {
			code = append(code, gen.genValue(v)...)
		}
		return code
	}
	if len(values) <= chunk {
		return emit(values)
	}
	var calls []jen.Code
	for i := 0; i*chunk < len(values); i++ {
		name := method + strconv.Itoa(i)
		part := values[i*chunk : min((i+1)*chunk, len(values))]
		f.Func().Params(gen.receiver()).Id(name).Params(params...).Block(gen.body(func() []jen.Code { return emit(part) })...)
		calls = append(calls, gen.self().Dot(name).Call(args...))
	}
	return calls
}

// The generated API. In the classic case, one data input and one output
// of [batch, features] with at most one target (features, or class
// indices), the methods are Forward(x, y), Backward(x, target) and
// TrainStep(x, target), and the constants Inputs and Outputs size the
// arrays. Otherwise each method takes one parameter per tensor, named
// after its .nn name (argName): Forward(inputs..., outputs...),
// Backward(inputs..., targets...) and TrainStep(inputs..., targets...),
// the inputs in declaration order, the outputs in the output line's, and
// the targets (the loss's inputs that are not data inputs) in theirs. A
// parameter is a pointer to the tensor's array, the batch axis first
// ([Batch]) unless the model is unbatched; a single number of an unbatched
// model (a class index) goes by value as an input.

// ClassicAPI reports whether g gets the classic API, for back ends that
// generate the same methods (cudagen).
func ClassicAPI(g *ir.Graph) bool { return classicAPI(g) }

// Arg is a tensor that the generated methods take, as the API above names
// and types it, for back ends that generate the same methods (cudagen).
type Arg struct {
	Name   string    // the Go parameter
	Value  *ir.Value // the input, or the output
	Output bool      // Forward writes it
	// ByValue: a single number, passed by value (an unbatched model's
	// class index, say); else the parameter is a pointer to an array.
	ByValue bool
	// Param declares the parameter, name and type: the batch axis of a
	// general API's array is the package's constant Batch, which the back
	// end's package must declare too.
	Param *jen.Statement
}

// Args returns the tensors that Forward, Backward and TrainStep take, in
// order: the data inputs (first in all three), the targets (Backward and
// TrainStep, after the data inputs) and the outputs (Forward, after the
// data inputs).
func Args(g *ir.Graph) (data, targets, outputs []Arg) {
	gen := newGenerator(g, "")
	export := func(args []argument) []Arg {
		out := make([]Arg, len(args))
		for i, a := range args {
			out[i] = Arg{Name: a.name, Value: a.v, Output: a.output, ByValue: len(gen.apiDims(a.v)) == 0 && !a.output,
				Param: gen.params([]argument{a})[0].(*jen.Statement)}
		}
		return out
	}
	return export(gen.dataArgs()), export(gen.targetArgs()), export(gen.outputArgs())
}

// classicAPI reports whether g gets the classic API.
func classicAPI(g *ir.Graph) bool {
	var data, targets []*ir.Value
	for _, v := range g.Inputs() {
		if v.Phase == ir.Forward {
			data = append(data, v)
		} else {
			targets = append(targets, v)
		}
	}
	if len(data) != 1 || len(g.Outputs) != 1 || len(data[0].Shape) != 2 || len(g.Outputs[0].Shape) != 2 {
		return false
	}
	switch {
	case len(targets) > 1, g.Loss != nil && len(targets) == 0:
		return false
	case len(targets) == 1:
		t := targets[0]
		return len(t.Shape) == 2 || t.DType == ir.Int && len(t.Shape) == 1
	}
	return true
}

// inputArg names input v's parameter: x or target in the classic API,
// else after its .nn name.
func inputArg(g *ir.Graph, v *ir.Value) string {
	switch {
	case !classicAPI(g):
		return argName(v.Name)
	case v.Phase == ir.Forward:
		return "x"
	}
	return "target"
}

// dataArgs are the data inputs, as Forward, Backward and TrainStep take
// them first.
func (gen *generator) dataArgs() []argument { return gen.inputArgs(true) }

// targetArgs are the loss's targets that are not data inputs, as Backward
// and TrainStep take them after the data inputs.
func (gen *generator) targetArgs() []argument { return gen.inputArgs(false) }

func (gen *generator) inputArgs(data bool) []argument {
	var out []argument
	for _, v := range gen.g.Inputs() {
		if (v.Phase == ir.Forward) == data {
			what := "the target "
			if data {
				what = "the input "
			}
			out = append(out, argument{name: gen.args[v], v: v, what: what + v.Name})
		}
	}
	return out
}

// outputArgs are the outputs, as Forward takes them after the inputs: y in
// the classic API, else named after their .nn names (y1, y2, ... for
// outputs without one; xOut for an output that is the input x).
func (gen *generator) outputArgs() []argument {
	classic := classicAPI(gen.g)
	var out []argument
	for i, v := range gen.g.Outputs {
		name := v.Name
		switch {
		case classic:
			name = "y"
		case name == "":
			name = "y" + strconv.Itoa(i+1)
		case v.Op == ir.OpInput:
			name += "_out" // the network returns an input as it is: x, then xOut
		}
		out = append(out, argument{name: argName(name), v: v, what: "the output " + name, output: true})
	}
	return out
}

// params declares the arguments as a method's parameters.
func (gen *generator) params(args []argument) []jen.Code {
	classic := classicAPI(gen.g)
	var out []jen.Code
	for _, a := range args {
		if classic {
			out = append(out, jen.Id(a.name).Add(gen.apiType(a.v)))
			continue
		}
		out = append(out, jen.Id(a.name).Add(gen.argType(a)))
	}
	return out
}

// ids are the arguments' names, to pass them on.
func ids(args []argument) []jen.Code {
	out := make([]jen.Code, len(args))
	for i, a := range args {
		out[i] = jen.Id(a.name)
	}
	return out
}

// apiDims are the dimensions of v as the caller's array has them: without
// the batch axis in an unbatched model.
func (gen *generator) apiDims(v *ir.Value) ir.Shape {
	if gen.g.Unbatched && len(v.Shape) > 0 {
		return v.Shape[1:]
	}
	return v.Shape
}

// argType is the Go type of an argument in the general API: a pointer to
// its array, the batch axis written [Batch]; a single number of an
// unbatched model by value as an input, by pointer as an output.
func (gen *generator) argType(a argument) *jen.Statement {
	if gen.argPointer(a) {
		return jen.Op("*").Add(gen.argArray(a))
	}
	return gen.argArray(a)
}

// argPointer reports whether argType is a pointer.
func (gen *generator) argPointer(a argument) bool { return len(gen.apiDims(a.v)) > 0 || a.output }

// argArray is the array (or number) that argType points to.
func (gen *generator) argArray(a argument) *jen.Statement {
	dims := gen.apiDims(a.v)
	if len(dims) == 0 {
		return goType(a.v.DType)
	}
	t := jen.Null()
	for i, d := range dims {
		// The sample axis, first; an output whose first axis is not the
		// batch's (an ONNX export's final states [layers, batch,
		// hidden], with the steps first) keeps its number.
		if i == 0 && !gen.g.Unbatched && d == gen.g.Batch {
			t = t.Index(jen.Id("Batch"))
			continue
		}
		t = t.Index(jen.Lit(d))
	}
	return t.Add(goType(a.v.DType))
}

// argumentsComment explains the general API's parameters.
func (gen *generator) argumentsComment() string {
	if gen.g.Unbatched {
		return "Each argument is one sample's tensor, an array of its shape."
	}
	return "Each argument holds a tensor of Batch samples, an array of its shape with the sample first."
}

// comment emits text as comment lines of at most about 90 columns, broken
// only at spaces outside parentheses.
func comment(f *jen.File, text string) {
	var words []string
	depth, start := 0, 0
	for i, r := range text + " " {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ' ' && depth == 0:
			if i > start {
				words = append(words, text[start:i])
			}
			start = i + 1
		}
	}
	line := ""
	for _, word := range words {
		if line != "" && len(line)+1+len(word) > 86 {
			f.Comment(line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	f.Comment(line)
}

// plural is word for n things.
func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// list joins the arguments' names as a sentence does: "x, c and t".
func list(args []argument) string {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.name
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// lossOptions lists a loss's options for its comment, PyTorch's names
// and values: ", weight (1, 2, 0.5), ignore_index -100".
func lossOptions(v *ir.Value) string {
	var b strings.Builder
	if v.Weight != nil {
		ws := make([]string, len(v.Weight))
		for i, w := range v.Weight {
			ws[i] = strconv.FormatFloat(w, 'g', -1, 64)
		}
		fmt.Fprintf(&b, ", weight (%s)", strings.Join(ws, ", "))
	}
	if v.Ignores {
		fmt.Fprintf(&b, ", ignore_index %d", v.IgnoreIndex)
	}
	if v.LabelSmoothing != 0 {
		fmt.Fprintf(&b, ", label_smoothing %g", v.LabelSmoothing)
	}
	switch v.Op {
	case ir.OpSmoothL1:
		fmt.Fprintf(&b, ", beta %g", v.Delta)
	case ir.OpHuber:
		fmt.Fprintf(&b, ", delta %g", v.Delta)
	}
	return b.String()
}

// lossString writes the loss as an expression of the losses it sums, for
// comments: "mse(recon, x) + 0.5·mse(code, codeTarget)"; the network's
// values in it by name.
func (gen *generator) lossString(v *ir.Value) string {
	outputs := map[*ir.Value]string{}
	for _, o := range gen.outputArgs() {
		outputs[o.v] = o.name
	}
	var str func(v *ir.Value, inner bool) string
	str = func(v *ir.Value, inner bool) string {
		arithmetic := v.Op == ir.OpAdd || v.Op == ir.OpSub || v.Op == ir.OpMul || v.Op == ir.OpDiv
		if len(v.Args) == 2 && (ir.Losses[v.Op] != "" || arithmetic && v.Phase != ir.Forward) {
			a, b := str(v.Args[0], true), str(v.Args[1], true)
			s := ""
			switch v.Op {
			case ir.OpAdd:
				s = str(v.Args[0], false) + " + " + b
			case ir.OpSub:
				s = a + " - " + b
			case ir.OpMul:
				return a + "·" + b
			case ir.OpDiv:
				return a + "/" + b
			default:
				return fmt.Sprintf("%s(%s, %s)", v.Op, str(v.Args[0], false), str(v.Args[1], false))
			}
			if inner {
				return "(" + s + ")"
			}
			return s
		}
		if name, ok := outputs[v]; ok {
			return name
		}
		return gen.label(v)
	}
	return str(v, false)
}

// genForward emits forward (the forward phase into the model's slots, shared
// with Backward) and Forward (forward, then the outputs copied out); in a
// partial build also ForwardBatch, on any number of samples up to Batch,
// which Forward calls.
func (gen *generator) genForward(f *jen.File) {
	in, outs := gen.dataArgs(), gen.outputArgs()
	inParams := gen.innerParams(in)
	body := gen.body(func() []jen.Code { return gen.phase(f, "forward", inParams, ids(in), ir.Forward) })
	if gen.predictor {
		f.Comment("forward computes every forward value into the predictor's memory.")
	} else {
		f.Comment("forward computes every forward value into the model's memory.")
	}
	f.Func().Params(gen.receiver()).Id("forward").Params(inParams...).Block(body...)

	all := slices.Concat(in, outs)
	code := gen.body(func() []jen.Code {
		var code []jen.Code
		if gen.partial() {
			code = append(code, gen.checkBatch("ForwardBatch", all))
		}
		code = append(code, gen.self().Dot("forward").Call(ids(in)...))
		if classicAPI(gen.g) {
			y := outs[0].v
			if vectorized(y) {
				return append(code, gen.outputCopy(y))
			}
			return append(code, gen.copyLoops("y", y)...)
		}
		for _, o := range outs {
			code = append(code, gen.copyOut(o)...)
		}
		return code
	})
	var doc string
	if classicAPI(gen.g) {
		doc = "Forward computes the network's output y for the input x."
	} else {
		doc = fmt.Sprintf("Forward runs the network on the %s %s and writes its %s into %s. %s",
			plural("input", len(in)), list(in), plural("output", len(outs)), list(outs), gen.argumentsComment())
	}
	if !gen.partial() {
		comment(f, doc+gen.fullBatchComment())
		f.Func().Params(gen.receiver()).Id("Forward").Params(gen.params(all)...).Block(code...)
		return
	}
	comment(f, doc)
	f.Func().Params(gen.receiver()).Id("Forward").Params(gen.params(all)...).Block(
		gen.self().Dot("ForwardBatch").Call(sliced(all)...))
	comment(f, fmt.Sprintf("ForwardBatch is Forward on any number of samples from 1 to Batch, the length of %s: each sample's output is the one a full batch gives it.", list(all)))
	f.Func().Params(gen.receiver()).Id("ForwardBatch").Params(gen.innerParams(all)...).Block(code...)
}

// fullBatchComment says, in the doc of a batched model's Forward without
// ForwardBatch, why it takes Batch samples only.
func (gen *generator) fullBatchComment() string {
	if gen.g.Unbatched || gen.g.Batch < 2 {
		return ""
	}
	reason := gen.fullBatch.Error()
	var e *ir.SamplesError
	if errors.As(gen.fullBatch, &e) && e.Pos.IsValid() {
		// The source's name without its directory, as in the header: the
		// generated code is the same wherever it is generated.
		pos := e.Pos
		pos.File = path.Base(filepath.ToSlash(pos.File))
		reason = pos.String() + ": " + e.Msg
	}
	return fmt.Sprintf(" It takes exactly Batch samples, and there is no ForwardBatch for fewer: %s.", reason)
}

// checkBatch checks the number of samples of a Batch method's arguments,
// which its code reads as batch: from 1 to Batch, the same in each.
func (gen *generator) checkBatch(method string, args []argument) jen.Code {
	cond := gen.batch().Op("<").Lit(1).Op("||").Add(gen.batch()).Op(">").Id("Batch")
	for _, a := range args[1:] {
		cond = cond.Op("||").Len(jen.Id(a.name)).Op("!=").Add(gen.batch())
	}
	msg := fmt.Sprintf("%s: %s takes 1 to %d samples", gen.pkg, method, gen.g.Batch)
	if len(args) > 1 {
		msg += ", as many in " + list(args)
	}
	return jen.If(cond).Block(jen.Panic(jen.Lit(msg)))
}

// sliced passes a full-batch method's arrays to its Batch method: x[:].
func sliced(args []argument) []jen.Code {
	out := make([]jen.Code, len(args))
	for i, a := range args {
		out[i] = jen.Id(a.name).Index(jen.Op(":"))
	}
	return out
}

// innerParams declares the arguments as the parameters of the methods
// that the public ones call (forward, its numbered parts) and of the Batch
// methods: in a partial build, a slice of samples where the public methods
// take an array of Batch.
func (gen *generator) innerParams(args []argument) []jen.Code {
	if !gen.partial() {
		return gen.params(args)
	}
	out := make([]jen.Code, len(args))
	for i, a := range args {
		out[i] = jen.Id(a.name).Index().Add(arrayType(&ir.Value{Shape: a.v.Shape[1:], DType: a.v.DType}))
	}
	return out
}

// copyLoops copies output value y into the caller's array name element by
// element.
func (gen *generator) copyLoops(name string, y *ir.Value) []jen.Code {
	names := []string{"n"}
	if len(y.Shape) > 0 {
		names = append(names, axisNames("", len(y.Shape)-1)...)
	}
	return gen.loops(names[:len(y.Shape)], gen.dims(y), func(idx []index) []jen.Code {
		at := idx
		if len(at) > 0 && gen.g.Unbatched {
			at = at[1:]
		}
		dst := jen.Id(name)
		if len(at) == 0 {
			dst = jen.Op("*").Id(name) // one number, through its pointer
		}
		return []jen.Code{indexed(dst, at).Op("=").Add(gen.at(y, idx...))}
	})
}

// copyOut copies an output into the caller's array: its numbers at once
// when it lies in one array (a slot, a parameter or an input) and is big
// enough for the vector kernels or of a rank above 2, else element by
// element.
func (gen *generator) copyOut(o argument) []jen.Code {
	switch o.v.Storage.Kind {
	case ir.InSlot, ir.InParam, ir.InGrad, ir.InBuffer, ir.InArg:
		if len(gen.apiDims(o.v)) > 0 && (vectorized(o.v) || len(o.v.Shape) > 2) {
			return []jen.Code{jen.Copy(gen.flatArg(o.name, o.v), gen.flatValue(o.v))}
		}
	}
	return gen.copyLoops(o.name, o.v)
}

// flatArg is a row-major slice over the numbers of the caller's array
// name, which holds v (those of the call's samples, in a partial build).
func (gen *generator) flatArg(name string, v *ir.Value) *jen.Statement {
	dims := gen.apiDims(v)
	switch {
	case len(dims) == 1 && gen.partial():
		return jen.Id(name) // a slice already
	case len(dims) == 1:
		return jen.Id(name).Index(jen.Op(":"))
	}
	first := jen.Op("&").Id(name)
	for range dims {
		first = first.Index(jen.Lit(0))
	}
	return jen.Qual(unsafePath, "Slice").Call(first, gen.count(gen.dims(v)))
}

// genBackward emits Backward: forward, the loss, and its gradients; in a
// partial build, BackwardBatch does, on any number of samples up to Batch,
// and Backward calls it.
func (gen *generator) genBackward(f *jen.File) {
	in, targets := gen.dataArgs(), gen.targetArgs()
	all := slices.Concat(in, targets)
	body := gen.body(func() []jen.Code {
		var body []jen.Code
		if gen.partial() {
			body = append(body, gen.checkBatch("BackwardBatch", all))
		}
		body = append(body, jen.Id("m").Dot("forward").Call(ids(in)...))
		body = append(body, gen.phase(f, "backward", gen.innerParams(all), ids(all), ir.Loss, ir.Backward)...)
		return append(body, jen.Return(gen.at(gen.g.Loss)))
	})
	if classicAPI(gen.g) {
		f.Comment(fmt.Sprintf("Backward runs the network on x, returns the %s loss against target and", gen.g.Loss.Op))
		f.Comment("sets the gradient of that loss for every parameter (the ...Grad fields). It")
		f.Comment("overwrites the previous gradients, as PyTorch's zero_grad followed by backward.")
	} else {
		comment(f, fmt.Sprintf("Backward runs the network on %s, returns the loss %s and sets the gradient of that loss for every parameter (the ...Grad fields). It overwrites the previous gradients, as PyTorch's zero_grad followed by backward.",
			list(in), gen.lossString(gen.g.Loss)))
	}
	if !gen.partial() {
		f.Func().Params(gen.receiver()).Id("Backward").Params(gen.params(all)...).Add(gen.elem()).Block(body...)
		return
	}
	f.Func().Params(gen.receiver()).Id("Backward").Params(gen.params(all)...).Add(gen.elem()).Block(
		jen.Return(jen.Id("m").Dot("BackwardBatch").Call(sliced(all)...)))
	comment(f, fmt.Sprintf("BackwardBatch is Backward on any number of samples from 1 to Batch, the length of %s: the loss and gradients of those samples alone, as PyTorch gives them for a batch of that size (a mean divides by it).", list(all)))
	f.Func().Params(gen.receiver()).Id("BackwardBatch").Params(gen.innerParams(all)...).Add(gen.elem()).Block(body...)
}

// genStep emits Step, the optimizer's update from the current gradients.
func (gen *generator) genStep(f *jen.File) {
	var body []jen.Code
	if sgd := gen.plainSGD(); sgd != nil {
		gen.genParamMatrices(f)
		body = gen.genSGDAll(sgd)
	} else {
		body = gen.body(func() []jen.Code { return gen.phase(f, "step", nil, nil, ir.Update) })
	}
	f.Comment(fmt.Sprintf("Step updates every parameter from its gradient with %s.", gen.optimizerString()))
	f.Func().Params(gen.receiver()).Id("Step").Params().Block(body...)
}

// plainSGD returns one of the updates when every update is SGD without
// momentum, so one pass over all the parameters at once can replace them
// (they share lr and weight_decay); else nil.
func (gen *generator) plainSGD() *ir.Value {
	var first *ir.Value
	updated := map[*ir.Value]bool{}
	for _, v := range gen.g.Values {
		if v.Phase != ir.Update || v.Op == ir.OpStepCount || ir.IsLeaf(v.Op) {
			continue
		}
		if v.Op != ir.OpSGD {
			return nil
		}
		if first == nil {
			first = v
		}
		updated[v.Args[0]] = true
	}
	params := gen.g.Params()
	if len(params) < 2 {
		return nil // the per-parameter code is as good
	}
	if fields := gen.modelFields(); padded(fields, paramKind) || padded(fields, gradKind) {
		return nil // blank fields for arm64 (see layout.go) split the parameters or gradients
	}
	for _, p := range params {
		if !updated[p] {
			return nil // one pass would update a parameter that Step leaves alone
		}
	}
	return first
}

// genSGDAll emits Step's body as one SGD pass over every parameter and
// gradient, ParamBlock and GradBlock (see genBlocks): plainSGD has checked
// that no blank field lies among them.
func (gen *generator) genSGDAll(sgd *ir.Value) []jen.Code {
	params := gen.g.Params()
	what := fmt.Sprintf("every parameter, %d numbers from %s to %s: sgd update", gen.paramCount(), params[0].Name, params[len(params)-1].Name)
	args := []jen.Code{jen.Id("m").Dot("ParamBlock").Call(), jen.Id("m").Dot("GradBlock").Call(), gen.at(sgd.Args[2]), gen.at(sgd.Args[3])}
	if gen.usesPool() {
		return []jen.Code{
			jen.Comment(what + ", split across the pool's workers by rows of each parameter"),
			jen.Id("m").Dot("pool").Dot(gen.suffixed("SGD")).Call(append(args, jen.Id("paramMatrices"))...),
		}
	}
	return []jen.Code{jen.Comment(what), kernel(gen.suffixed("SGD"), args...)}
}

// genParamMatrices emits paramMatrices, the shapes of ParamBlock's
// parameters as the pool's update splits them (kernels.Matrix: the first
// axis by the others), for a plain SGD Step on the pool.
func (gen *generator) genParamMatrices(f *jen.File) {
	if !gen.usesPool() {
		return
	}
	var rows []jen.Code
	for _, field := range gen.modelFields() {
		if field.kind != paramKind {
			continue
		}
		shape := field.source.Shape
		cols := 1
		for _, d := range shape[1:] {
			cols *= d
		}
		rows = append(rows, jen.Values(jen.Id("Rows").Op(":").Lit(shape[0]), jen.Id("Cols").Op(":").Lit(cols)).Op(",").Comment(field.source.Name))
	}
	f.Comment("paramMatrices is ParamBlock as matrices, each parameter's first axis by its others: Step")
	f.Comment("splits the update across the pool's workers by bands of their rows, as the products split them.")
	f.Var().Id("paramMatrices").Op("=").Index().Qual(kernelsPath, "Matrix").Custom(jen.Options{Open: "{", Close: "}", Multi: true}, rows...)
}

// genTrainStep emits TrainStep = Backward + Step, and TrainStepBatch =
// BackwardBatch + Step in a partial build.
func (gen *generator) genTrainStep(f *jen.File) {
	all := slices.Concat(gen.dataArgs(), gen.targetArgs())
	f.Comment("TrainStep is Backward followed by Step; it returns the loss before the update.")
	f.Func().Params(gen.receiver()).Id("TrainStep").Params(gen.params(all)...).Add(gen.elem()).Block(
		jen.Id("loss").Op(":=").Id("m").Dot("Backward").Call(ids(all)...),
		jen.Id("m").Dot("Step").Call(),
		jen.Return(jen.Id("loss")),
	)
	if !gen.partial() {
		return
	}
	f.Comment("TrainStepBatch is BackwardBatch followed by Step: a step on 1 to Batch samples, as")
	f.Comment("the last and smaller batch of an epoch takes.")
	f.Func().Params(gen.receiver()).Id("TrainStepBatch").Params(gen.innerParams(all)...).Add(gen.elem()).Block(
		jen.Id("loss").Op(":=").Id("m").Dot("BackwardBatch").Call(ids(all)...),
		jen.Id("m").Dot("Step").Call(),
		jen.Return(jen.Id("loss")),
	)
}

func (gen *generator) optimizerString() string {
	o := gen.g.Optimizer
	var kv []string
	for _, h := range gen.g.Hypers() {
		kv = append(kv, fmt.Sprintf("%s=m.%s", h.Name, GoName(h.Name)))
	}
	return fmt.Sprintf("%s(%s)", o.Kind, strings.Join(kv, ", "))
}

// label names a value for comments: its source name, or its op and id.
func (gen *generator) label(v *ir.Value) string {
	switch {
	case v.Op == ir.OpConst:
		return fmt.Sprint(v.Value)
	case v.Op == ir.OpInput:
		return gen.args[v]
	case v.Name != "":
		return v.Name
	}
	return v.String()
}

// describe is the comment above a value's code: what it computes.
func (gen *generator) describe(v *ir.Value) string {
	a := func(i int) string { return gen.label(v.Args[i]) }
	out := gen.label(v)
	switch {
	case gen.assembled[v] != nil:
		var srcs []string
		for _, p := range gen.assembled[v].pieces {
			srcs = append(srcs, gen.label(p.src))
		}
		var args []string
		for i := range v.Args {
			args = append(args, a(i))
		}
		return fmt.Sprintf("%s = %s(%s), copied from %s where they lie (no code computes the values between)", out, v.Op, strings.Join(args, ", "), strings.Join(srcs, ", "))
	case v.Op == ir.OpLinear:
		s := fmt.Sprintf("%s·%sᵀ", a(0), a(1))
		if len(v.Args) == 3 {
			s += " + " + a(2)
		}
		if v.Act != "" {
			s = fmt.Sprintf("%s(%s)", v.Act, s)
		}
		if v.Also != nil {
			return fmt.Sprintf("%s = %s, and %s = %s(%s) in the same loop", out, s, gen.label(v.Also), v.Also.Op, out)
		}
		return fmt.Sprintf("%s = %s", out, s)
	case v.Op == ir.OpMatMul:
		ta, tb := "", ""
		if v.TransA {
			ta = "ᵀ"
		}
		if v.TransB {
			tb = "ᵀ"
		}
		if chain := gen.epilogues[v]; chain != nil {
			s, in := fmt.Sprintf("%s%s·%s%s + %s", a(0), ta, a(1), tb, gen.label(chain[0].Args[1])), "the bias"
			if len(chain) == 2 {
				s, in = "relu("+s+")", "the bias and relu"
			}
			return fmt.Sprintf("%s = %s, %s in the GEMM's epilogue", gen.label(chain[len(chain)-1]), s, in)
		}
		if sum := gen.summedBy[v]; sum != nil {
			return fmt.Sprintf("%s = Σ %s%s·%s%s over the leading axes, as one product", gen.label(sum), a(0), ta, a(1), tb)
		}
		return fmt.Sprintf("%s = %s%s·%s%s", out, a(0), ta, a(1), tb)
	case gen.normWeightGrads[v] != nil:
		return fmt.Sprintf("%s = %s(%s, %s), and %s in the same loop", out, v.Op, a(0), a(1), gen.label(gen.normWeightGrads[v]))
	case v.Op == ir.OpSumRows:
		return fmt.Sprintf("%s = Σ over the batch of %s", out, a(0))
	case ir.UnaryOf(v.Op) != nil || v.Op == ir.OpSoftmax || v.Op == ir.OpLogSoftmax:
		return fmt.Sprintf("%s = %s(%s)", out, v.Op, a(0))
	case ir.Losses[v.Op] != "":
		return fmt.Sprintf("loss = %s(%s, %s), reduction %s%s", v.Op, a(0), a(1), v.Reduction, lossOptions(v))
	case v.Op == ir.OpStepCount:
		return "steps++"
	case v.Phase == ir.Update:
		return fmt.Sprintf("%s: %s update", v.Name, v.Op)
	case v.Phase == ir.Backward && len(v.Args) >= 2 && v.Op != ir.OpAdd:
		return fmt.Sprintf("%s = %s(%s, %s)", out, v.Op, a(0), a(1))
	}
	args := make([]string, len(v.Args))
	for i := range v.Args {
		args[i] = a(i)
	}
	return fmt.Sprintf("%s = %s(%s)", out, v.Op, strings.Join(args, ", "))
}
