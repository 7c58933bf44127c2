package onnx

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/onnx/onnxpb"
)

func int64s(name string, data ...int64) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: []int64{int64(len(data))}, DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: data}
}

// Split and the shape arithmetic of a dynamic batch (Shape, Gather,
// Unsqueeze, Concat, Reshape) lower to slices and a reshape, the
// constants folded; the two pieces are the model's two outputs.
func TestSplitAndShapeArithmetic(t *testing.T) {
	s := graphSpec{
		input: valueInfo("x", -1, 6),
		nodes: []*onnxpb.NodeProto{
			nodeProto("Shape", "/Shape", []string{"x"}, []string{"shape"}),
			nodeProto("Gather", "/Gather", []string{"shape", "zero"}, []string{"batch"}, intAttribute("axis", 0)),
			nodeProto("Unsqueeze", "/Unsqueeze", []string{"batch", "axes0"}, []string{"b1"}),
			nodeProto("Concat", "/Concat", []string{"b1", "rest"}, []string{"target"}, intAttribute("axis", 0)),
			nodeProto("Reshape", "/Reshape", []string{"x", "target"}, []string{"r"}),
			nodeProto("Split", "/Split", []string{"r", "sizes"}, []string{"a", "b"}, intAttribute("axis", 2)),
		},
		inits: []*onnxpb.TensorProto{
			{Name: proto.String("zero"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{0}},
			int64s("axes0", 0), int64s("rest", 2, 3), int64s("sizes", 1, 2),
		},
	}
	m := s.model()
	m.Graph.Output = []*onnxpb.ValueInfoProto{{Name: proto.String("a")}, {Name: proto.String("b")}}
	g, err := Compile("model.onnx", marshal(t, m), Options{Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	text := g.String()
	for _, want := range []string{
		"reshape[to=[4,2,3]] <f32[4,2,3]>",
		"slice[axis=2,start=0,end=1] <f32[4,2,1]>",
		"slice[axis=2,start=1,end=3] <f32[4,2,2]>",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	if len(g.Outputs) != 2 || g.Outputs[0].Shape.String() != "[4,2,1]" || g.Outputs[1].Shape.String() != "[4,2,2]" {
		t.Errorf("outputs %v, want [4,2,1] and [4,2,2]:\n%s", g.Outputs, text)
	}
}
