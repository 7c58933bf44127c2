package codegen

import (
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The model's state as PyTorch names it: StateDict (parameters and
// buffers), OptimizerState (optimizer.state_dict(), flattened) and the
// checkpoint methods over both.

// torchGroupKey names each optimizer setting as a key of PyTorch's
// param_groups[0], flattened: Adam's betas pair becomes betas.0, betas.1.
var torchGroupKey = map[string]string{
	"lr": "lr", "momentum": "momentum", "dampening": "dampening", "weight_decay": "weight_decay",
	"beta1": "betas.0", "beta2": "betas.1", "eps": "eps",
}

// torchStateKeys are the per-parameter entries of torch.optim's state, in
// the order PyTorch 1.13 creates them, each the suffix of the optimizer
// state value that holds it (momentum_buffer: "fc.weight.momentum_buffer").
var torchStateKeys = []string{"momentum_buffer", "exp_avg", "exp_avg_sq"}

// tensorLit is one nnrt.Tensor literal: float numbers, or int64 ones.
func (gen *generator) tensorLit(name string, shape ir.Shape, numbers jen.Code, integer bool) jen.Code {
	dims := make([]jen.Code, len(shape))
	for i, d := range shape {
		dims[i] = jen.Lit(d)
	}
	field := "Float"
	if integer {
		field = "Int"
	}
	return jen.Line().Values(
		jen.Id("Name").Op(":").Lit(name),
		jen.Id("Shape").Op(":").Index().Int().Values(dims...),
		jen.Id(field).Op(":").Add(numbers),
	)
}

// scalar is a one-number slice aliasing a field of the model.
func scalar(field string) *jen.Statement {
	return jen.Qual(unsafePath, "Slice").Call(jen.Op("&").Id("m").Dot(field), jen.Lit(1))
}

// stateDictOrder lists the parameters and buffers in the order of the
// graph, which is the front ends' declaration order: a .nn file's, an ONNX
// file's initializers'.
func (gen *generator) stateDictOrder() []*ir.Value {
	var out []*ir.Value
	for _, v := range gen.g.Values {
		if v.Op == ir.OpParam || v.Op == ir.OpBuffer {
			out = append(out, v)
		}
	}
	return out
}

// genStateDict emits StateDict.
func (gen *generator) genStateDict(f *jen.File) {
	var items []jen.Code
	for _, v := range gen.stateDictOrder() {
		field := paramField(v)
		if v.Op == ir.OpBuffer {
			field = bufferField(v)
		}
		items = append(items, gen.tensorLit(v.Name, v.Shape, gen.flat(field, v.Shape), v.DType == ir.I64))
	}
	typ := jen.Qual(nnrtPath, "Tensor").Types(gen.elem())
	f.Comment("StateDict lists the parameters and buffers as PyTorch's model.state_dict() does: same")
	f.Comment("names, same order (the declaration order, module by module, parameters then buffers). Each")
	f.Comment("tensor's numbers alias the model's field in row-major order: Float for a float tensor, Int")
	f.Comment("for an integer one.")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("StateDict").Params().Index().Add(typ).Block(
		jen.Return(jen.Index().Add(typ).Values(append(items, jen.Line())...)),
	)
}

// genOptimizerState emits OptimizerState: PyTorch's
// optimizer.state_dict() flattened to tensor names. The per-parameter
// state is state.I.KEY, I the parameter's index in Params (PyTorch's
// param_groups[0]["params"]); the settings param_groups.0.KEY. The model
// keeps one step count for all parameters, which every state.I.step
// names; torch.optim.SGD keeps none, but momentum needs to know whether
// its buffer exists yet, so SGD with momentum has state.I.step too (a key
// that torch's SGD ignores).
func (gen *generator) genOptimizerState(f *jen.File) {
	states := map[string]*ir.Value{}
	for _, s := range gen.g.States() {
		states[s.Name] = s
	}
	var items []jen.Code
	for i, p := range gen.g.Params() {
		prefix := "state." + strconv.Itoa(i) + "."
		if steps := states["steps"]; steps != nil {
			items = append(items, gen.tensorLit(prefix+"step", ir.Shape{}, scalar(stateField(steps)), true))
		}
		for _, key := range torchStateKeys {
			if s := states[p.Name+"."+key]; s != nil {
				items = append(items, gen.tensorLit(prefix+key, s.Shape, gen.flat(stateField(s), s.Shape), false))
			}
		}
	}
	for _, h := range gen.g.Hypers() {
		key, ok := torchGroupKey[h.Name]
		if !ok {
			key = h.Name
		}
		items = append(items, gen.tensorLit("param_groups.0."+key, ir.Shape{}, scalar(GoName(h.Name)), false))
	}
	typ := jen.Qual(nnrtPath, "Tensor").Types(gen.elem())
	f.Comment("OptimizerState lists the " + gen.g.Optimizer.Kind + " optimizer's state and settings under the names of PyTorch's")
	f.Comment("optimizer.state_dict(), flattened: state.I.KEY for parameter I of Params (param_groups[0]'s")
	f.Comment("\"params\" index), param_groups.0.KEY for a setting (betas as betas.0 and betas.1). Every")
	f.Comment("state.I.step aliases the model's one step count, Steps. The numbers alias the model's fields.")
	if !strings.Contains(gen.g.Optimizer.Kind, "adam") && states["steps"] != nil {
		f.Comment("torch.optim.SGD keeps no step; state.I.step says whether the momentum buffers exist yet (0:")
		f.Comment("not, as before the first step), and torch's SGD ignores it.")
	}
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("OptimizerState").Params().Index().Add(typ).Block(
		jen.Return(jen.Index().Add(typ).Values(append(items, jen.Line())...)),
	)
}

// genCheckpoint emits SaveCheckpoint and LoadCheckpoint, and checkpoint,
// the list they write and read: what a run needs to resume exactly.
func (gen *generator) genCheckpoint(f *jen.File) {
	typ := jen.Qual(nnrtPath, "Tensor").Types(gen.elem())
	body := []jen.Code{jen.Id("tensors").Op(":=").Id("m").Dot("StateDict").Call()}
	what := "the state_dict"
	if gen.g.Optimizer != nil && gen.g.Loss != nil {
		what = "the state_dict, then the optimizer's state (OptimizerState) with names prefixed \"optimizer.\""
		body = append(body, jen.For(jen.List(jen.Id("_"), jen.Id("t")).Op(":=").Range().Id("m").Dot("OptimizerState").Call()).Block(
			jen.Id("t").Dot("Name").Op("=").Lit("optimizer.").Op("+").Id("t").Dot("Name"),
			jen.Id("tensors").Op("=").Append(jen.Id("tensors"), jen.Id("t")),
		))
	}
	if gen.usesDropout() && gen.g.Loss != nil {
		what += ", then the dropout generator's state (generator.dropout), so that the masks drawn after a resume are those an uninterrupted run draws"
		body = append(body, jen.Id("tensors").Op("=").Append(jen.Id("tensors"),
			jen.Qual(nnrtPath, "Tensor").Types(gen.elem()).Values(jen.Id("Name").Op(":").Lit("generator.dropout"), jen.Id("Shape").Op(":").Index().Int().Values(), jen.Id("Int").Op(":").Id("m").Dot("dropout").Dot("State").Call())))
	}
	body = append(body, jen.Return(jen.Id("tensors")))
	comment(f, "checkpoint lists what SaveCheckpoint writes and LoadCheckpoint reads: "+what+".")
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("checkpoint").Params().Index().Add(typ).Block(body...)

	training := gen.g.Optimizer != nil && gen.g.Loss != nil
	if training {
		comment(f, "SaveCheckpoint writes the model's parameters, buffers and optimizer state to path as safetensors, with metadata (may be nil): state_dict names as they are, the optimizer's prefixed \"optimizer.\" (optimizer.state.0.exp_avg, optimizer.param_groups.0.lr). The file is written to a temporary file and renamed over path. A model loaded from it with LoadCheckpoint trains on exactly as this one would.")
	} else {
		comment(f, "SaveCheckpoint writes the model's parameters and buffers to path as safetensors, named as in the state_dict, with metadata (may be nil). The file is written to a temporary file and renamed over path.")
	}
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("SaveCheckpoint").Params(jen.Id("path").String(), jen.Id("metadata").Map(jen.String()).String()).Error().Block(
		jen.Return(jen.Qual(safetensorsPath, "SaveTensors").Call(jen.Id("path"), jen.Id("m").Dot("checkpoint").Call(), jen.Id("metadata"))),
	)
	if training {
		comment(f, "LoadCheckpoint sets the model's parameters, buffers and optimizer state from a file that SaveCheckpoint wrote. Names, shapes and dtypes must match this model's; every mismatch is reported at once, and on any error the model is unchanged. Gradients are not in a checkpoint: the next Backward computes them.")
	} else {
		comment(f, "LoadCheckpoint sets the model's parameters and buffers from a file that SaveCheckpoint wrote, which holds exactly these tensors (a training package's checkpoint holds its optimizer's state too). Names, shapes and dtypes must match; every mismatch is reported at once, and on any error the model is unchanged.")
	}
	f.Func().Params(jen.Id("m").Op("*").Id("Model")).Id("LoadCheckpoint").Params(jen.Id("path").String()).Error().Block(
		jen.Return(jen.Qual(safetensorsPath, "LoadTensors").Call(jen.Id("path"), jen.Id("m").Dot("checkpoint").Call())),
	)
}
