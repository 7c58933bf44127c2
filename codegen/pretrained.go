package codegen

import (
	"bytes"
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/runtime/nnrt"
	"github.com/nngen/nngen/runtime/safetensors"
)

// Pretrained emits the file that gives a generated package the weights of
// the model it was compiled from (an ONNX model's initializers):
// NewPretrained, which returns a model holding them, and the weights
// themselves, a safetensors file kept in a string constant. A constant
// rather than a //go:embed'ed .safetensors file beside the code: a Go
// file starts with nngen's header, so that nngen build overwrites it when
// the model changes and build -check compares it, as every file nngen
// writes; the bytes are those of the safetensors file all the same.
//
// weights holds every parameter's values by name, row-major in its shape
// in g. The file is named after cfg.Output, with ".weights.go".
func Pretrained(g *ir.Graph, cfg Config, weights map[string][]float64) (File, error) {
	blob, err := safetensorsOf(g, weights)
	if err != nil {
		return File{}, err
	}
	f := jen.NewFile(cfg.Package)
	f.HeaderComment(fmt.Sprintf("%s %s from %s. DO NOT EDIT.", HeaderPrefix, Version, cfg.Source))
	f.ImportName(safetensorsPath, "safetensors")
	f.Comment(fmt.Sprintf("NewPretrained returns a model holding the weights of %s, the starting point that", cfg.Source))
	f.Comment("the model was exported with; New(seed) starts from PyTorch's default initialisation instead.")
	f.Func().Id("NewPretrained").Params().Op("*").Id("Model").Block(
		jen.Id("m").Op(":=").Id("New").Call(jen.Lit(0)),
		jen.If(
			jen.Err().Op(":=").Qual(safetensorsPath, "ReadTensors").Call(jen.Index().Byte().Call(jen.Id("pretrained")), jen.Id("m").Dot("StateDict").Call()),
			jen.Err().Op("!=").Nil(),
		).Block(
			jen.Comment("Generated together with the model, they always fit it."),
			jen.Panic(jen.Lit("nngen: the weights do not fit the model; regenerate: ").Op("+").Err().Dot("Error").Call()),
		),
		jen.Return(jen.Id("m")),
	)
	f.Comment(fmt.Sprintf("pretrained holds the weights of %s as a safetensors file, named as in StateDict.", cfg.Source))
	f.Const().Id("pretrained").Op("=").Lit(string(blob))
	src, err := Render(f)
	if err != nil {
		return File{}, fmt.Errorf("codegen: %w", err)
	}
	return File{Name: cfg.Output + ".weights.go", Data: src}, nil
}

// safetensorsOf writes the parameters' and buffers' weights in the
// graph's precision, in state_dict order, as safetensors.SaveTensors would.
// A count the weights lack (num_batches_tracked, which an ONNX export
// drops) starts at 0.
func safetensorsOf(g *ir.Graph, weights map[string][]float64) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if g.DType == ir.F64 {
		var tensors []nnrt.Tensor[float64]
		tensors, err = tensorsOf(g, weights, func(x float64) float64 { return x })
		if err == nil {
			err = safetensors.WriteTensors(&buf, tensors, nil)
		}
	} else {
		var tensors []nnrt.Tensor[float32]
		tensors, err = tensorsOf(g, weights, func(x float64) float32 { return float32(x) })
		if err == nil {
			err = safetensors.WriteTensors(&buf, tensors, nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("codegen: weights: %w", err)
	}
	return buf.Bytes(), nil
}

func tensorsOf[T nnrt.Float](g *ir.Graph, weights map[string][]float64, conv func(float64) T) ([]nnrt.Tensor[T], error) {
	var tensors []nnrt.Tensor[T]
	for _, v := range g.Values {
		if v.Op != ir.OpParam && v.Op != ir.OpBuffer {
			continue
		}
		w, ok := weights[v.Name]
		if v.DType == ir.I64 {
			count := make([]int64, v.Shape.Size())
			for i := range min(len(w), len(count)) {
				count[i] = int64(w[i])
			}
			tensors = append(tensors, nnrt.Tensor[T]{Name: v.Name, Shape: v.Shape, Int: count})
			continue
		}
		if !ok || len(w) != v.Shape.Size() {
			return nil, fmt.Errorf("%s: %d weights for shape %v", v.Name, len(w), v.Shape)
		}
		value := make([]T, len(w))
		for i, x := range w {
			value[i] = conv(x)
		}
		tensors = append(tensors, nnrt.Tensor[T]{Name: v.Name, Shape: v.Shape, Float: value})
	}
	return tensors, nil
}
