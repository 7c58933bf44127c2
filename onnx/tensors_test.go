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

// Opset 18's Split with num_outputs cuts pieces of ⌈n/num_outputs⌉, the
// last one smaller (7 into 3, 3, 1); before opset 18 a Split without sizes
// cuts equal pieces only, and num_outputs must match the outputs.
func TestSplitNumOutputs(t *testing.T) {
	split := func(opset int64, attrs ...*onnxpb.AttributeProto) ([]string, error) {
		s := graphSpec{
			input: valueInfo("x", -1, 7),
			nodes: []*onnxpb.NodeProto{nodeProto("Split", "/Split", []string{"x"}, []string{"a", "b", "c"}, append(attrs, intAttribute("axis", 1))...)},
		}
		m := s.model()
		m.OpsetImport[0].Version = proto.Int64(opset)
		m.Graph.Output = []*onnxpb.ValueInfoProto{{Name: proto.String("a")}, {Name: proto.String("b")}, {Name: proto.String("c")}}
		g, err := Compile("model.onnx", marshal(t, m), Options{Batch: 2})
		if err != nil {
			return nil, err
		}
		var shapes []string
		for _, v := range g.Outputs {
			shapes = append(shapes, v.Shape.String())
		}
		return shapes, nil
	}
	shapes, err := split(18, intAttribute("num_outputs", 3))
	if err != nil || strings.Join(shapes, " ") != "[2,3] [2,3] [2,1]" {
		t.Errorf("opset 18, num_outputs 3 of 7: %v, %v; want [2,3] [2,3] [2,1]", shapes, err)
	}
	if _, err := split(18, intAttribute("num_outputs", 2)); err == nil || !strings.Contains(err.Error(), "num_outputs is 2, but the node has 3 outputs") {
		t.Errorf("num_outputs 2 for 3 outputs: %v", err)
	}
	if _, err := split(17); err == nil || !strings.Contains(err.Error(), "splits 7 elements into 3 equal pieces") {
		t.Errorf("opset 17, 7 into 3: %v", err)
	}
}

// An If whose condition folds to a constant lowers its branch in place, as
// torch.onnx.export writes x.squeeze(d) of a dynamic dimension; a
// condition from the data is refused.
func TestIfConstantCondition(t *testing.T) {
	branch := func(name string, nodes ...*onnxpb.NodeProto) *onnxpb.AttributeProto {
		g := &onnxpb.GraphProto{Name: proto.String(name), Node: nodes, Output: []*onnxpb.ValueInfoProto{{Name: proto.String(nodes[len(nodes)-1].Output[0])}}}
		if name == "then" {
			g.Initializer = []*onnxpb.TensorProto{int64s("axes2", 2)}
		}
		return &onnxpb.AttributeProto{Name: proto.String(name + "_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}
	}
	build := func(size int64, cond string) (string, error) {
		s := graphSpec{
			input:  valueInfo("x", -1, 3, size),
			output: "y",
			nodes: []*onnxpb.NodeProto{
				nodeProto("Shape", "/Shape", []string{"x"}, []string{"shape"}),
				nodeProto("Gather", "/Gather", []string{"shape", "two"}, []string{"size"}, intAttribute("axis", 0)),
				nodeProto("Equal", "/Equal", []string{"size", "one"}, []string{"eq"}),
				nodeProto("If", "/If", []string{cond}, []string{"y"},
					branch("then", nodeProto("Squeeze", "/Squeeze", []string{"x", "axes2"}, []string{"squeezed"})),
					branch("else", nodeProto("Identity", "/Identity", []string{"x"}, []string{"same"}))),
			},
			inits: []*onnxpb.TensorProto{
				{Name: proto.String("two"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{2}},
				{Name: proto.String("one"), DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Int64Data: []int64{1}},
			},
		}
		g, err := Compile("model.onnx", s.bytes(t), Options{Batch: 4})
		if err != nil {
			return "", err
		}
		return g.Outputs[0].Shape.String(), nil
	}
	if shape, err := build(1, "eq"); err != nil || shape != "[4,3]" {
		t.Errorf("size 1: the output is %s, %v; want the squeezed [4,3]", shape, err)
	}
	if shape, err := build(2, "eq"); err != nil || shape != "[4,3,2]" {
		t.Errorf("size 2: the output is %s, %v; want x's [4,3,2]", shape, err)
	}
	if _, err := build(1, "x"); err == nil || !strings.Contains(err.Error(), "the condition is computed from the data") {
		t.Errorf("a condition from the data: %v", err)
	}
}
