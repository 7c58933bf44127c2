package codegen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

func receiver() *jen.Statement { return jen.Id("m").Op("*").Id("Model") }

// chunk is how many values' code one method holds. Go's compiler slows
// down more than linearly with a function's size, so a network of
// thousands of layers compiles in reasonable time only when its phases
// are split into methods of this many values, called in order.
const chunk = 48

// phase emits the code of every value in the given phases, in schedule
// order: inline for a small network, else as calls to numbered methods
// named after the method (backward0, backward1, ...) that f receives. The
// methods take the same parameters as the caller (params, passed as args).
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
		f.Func().Params(receiver()).Id(name).Params(params...).Block(emit(part)...)
		calls = append(calls, jen.Id("m").Dot(name).Call(args...))
	}
	return calls
}

// genForward emits forward (the forward phase into the model's slots, shared
// with Backward) and Forward (forward, then the output copied out).
func (gen *generator) genForward(f *jen.File) {
	x, y := gen.input(ir.Forward), gen.g.Outputs[0]
	xParam := []jen.Code{jen.Id("x").Add(gen.apiType(x))}
	body := gen.phase(f, "forward", xParam, []jen.Code{jen.Id("x")}, ir.Forward)
	f.Comment("forward computes every forward value into the model's memory.")
	f.Func().Params(receiver()).Id("forward").Params(xParam...).Block(body...)

	copyOut := []jen.Code{gen.outputCopy(y)}
	if !vectorized(y) {
		copyOut = gen.copyLoops(y)
	}
	f.Comment("Forward computes the network's output y for the input x.")
	f.Func().Params(receiver()).Id("Forward").Params(
		jen.Id("x").Add(gen.apiType(x)),
		jen.Id("y").Add(gen.apiType(y)),
	).Block(append([]jen.Code{jen.Id("m").Dot("forward").Call(jen.Id("x"))}, copyOut...)...)
}

// copyLoops copies the output value into the caller's y element by element.
func (gen *generator) copyLoops(y *ir.Value) []jen.Code {
	return gen.loops([]string{"n", "i"}, y.Shape, func(idx []index) []jen.Code {
		dst := jen.Id("y")
		if !gen.g.Unbatched {
			dst = dst.Index(idx[0].code())
		}
		return []jen.Code{dst.Index(idx[1].code()).Op("=").Add(gen.at(y, idx...))}
	})
}

// genBackward emits Backward: forward, the loss, and its gradients.
func (gen *generator) genBackward(f *jen.File) {
	x, t := gen.input(ir.Forward), gen.input(ir.Loss)
	body := []jen.Code{jen.Id("m").Dot("forward").Call(jen.Id("x"))}
	body = append(body, gen.phase(f, "backward", []jen.Code{jen.Id("x").Add(gen.apiType(x)), jen.Id("target").Add(gen.apiType(t))},
		[]jen.Code{jen.Id("x"), jen.Id("target")}, ir.Loss, ir.Backward)...)
	body = append(body, jen.Return(gen.at(gen.g.Loss)))
	f.Comment(fmt.Sprintf("Backward runs the network on x, returns the %s loss against target and", gen.g.Loss.Op))
	f.Comment("sets the gradient of that loss for every parameter (the ...Grad fields). It")
	f.Comment("overwrites the previous gradients, as PyTorch's zero_grad followed by backward.")
	f.Func().Params(receiver()).Id("Backward").Params(
		jen.Id("x").Add(gen.apiType(x)),
		jen.Id("target").Add(gen.apiType(t)),
	).Add(gen.elem()).Block(body...)
}

// genStep emits Step, the optimizer's update from the current gradients.
func (gen *generator) genStep(f *jen.File) {
	var body []jen.Code
	if sgd := gen.plainSGD(); sgd != nil {
		body = gen.genSGDAll(f, sgd)
	} else {
		body = gen.phase(f, "step", nil, nil, ir.Update)
	}
	f.Comment(fmt.Sprintf("Step updates every parameter from its gradient with %s.", gen.optimizerString()))
	f.Func().Params(receiver()).Id("Step").Params().Block(body...)
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
// gradient: the parameter fields come one after another in Model with no
// padding between them (arrays of one element type, and no blank field
// of padPairs, which plainSGD checks), as do the gradient fields; constants
// checked when the package compiles make sure of it.
func (gen *generator) genSGDAll(f *jen.File, sgd *ir.Value) []jen.Code {
	params := gen.g.Params()
	first, last := params[0], params[len(params)-1]
	total := 0
	for _, p := range params {
		total += p.Shape.Size()
	}
	size := total * gen.g.DType.Bytes()
	span := func(field func(*ir.Value) string) *jen.Statement {
		end := jen.Qual(unsafePath, "Offsetof").Call(jen.Id("Model").Values().Dot(field(last))).Op("+").
			Qual(unsafePath, "Sizeof").Call(jen.Id("Model").Values().Dot(field(last)))
		return end.Op("-").Qual(unsafePath, "Offsetof").Call(jen.Id("Model").Values().Dot(field(first))).Op("-").Lit(size)
	}
	f.Comment("Step updates the parameters as one array, and their gradients: the index is out of")
	f.Comment("range, and the build fails, unless they lie back to back in Model.")
	f.Var().Id("_").Op("=").Index(jen.Lit(1)).Struct().Values().Index(span(paramField))
	f.Var().Id("_").Op("=").Index(jen.Lit(1)).Struct().Values().Index(span(gradField))
	f.Line()
	all := func(field func(*ir.Value) string) *jen.Statement {
		elem := jen.Op("&").Id("m").Dot(field(first))
		for range first.Shape {
			elem = elem.Index(jen.Lit(0))
		}
		return jen.Qual(unsafePath, "Slice").Call(elem, jen.Lit(total))
	}
	return []jen.Code{
		jen.Comment(fmt.Sprintf("every parameter, %d numbers from %s to %s: sgd update", total, first.Name, last.Name)),
		rt(gen.suffixed("SGD"), all(paramField), all(gradField), gen.at(sgd.Args[2]), gen.at(sgd.Args[3])),
	}
}

// genTrainStep emits TrainStep = Backward + Step.
func (gen *generator) genTrainStep(f *jen.File) {
	x, t := gen.input(ir.Forward), gen.input(ir.Loss)
	f.Comment("TrainStep is Backward followed by Step; it returns the loss before the update.")
	f.Func().Params(receiver()).Id("TrainStep").Params(
		jen.Id("x").Add(gen.apiType(x)),
		jen.Id("target").Add(gen.apiType(t)),
	).Add(gen.elem()).Block(
		jen.Id("loss").Op(":=").Id("m").Dot("Backward").Call(jen.Id("x"), jen.Id("target")),
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
		return fmt.Sprintf("%s = %s%s·%s%s", out, a(0), ta, a(1), tb)
	case v.Op == ir.OpSumRows:
		return fmt.Sprintf("%s = Σ over the batch of %s", out, a(0))
	case ir.UnaryOf(v.Op) != nil || v.Op == ir.OpSoftmax || v.Op == ir.OpLogSoftmax:
		return fmt.Sprintf("%s = %s(%s)", out, v.Op, a(0))
	case ir.Losses[v.Op] != "":
		return fmt.Sprintf("loss = %s(%s, %s), reduction %s", v.Op, a(0), a(1), v.Reduction)
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
