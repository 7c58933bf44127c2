package onnx

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// bagLoop describes a Loop as torch.onnx.export writes nn.EmbeddingBag of
// ids [3, 2] at opset 17, with what each test changes.
type bagLoop struct {
	reduce       string  // ReduceMean, ReduceSum, ReduceMax
	starts, ends []int64 // the bags' bounds in the flattened ids
	carried      bool    // a loop-carried value besides
	trips        int64
}

func (b bagLoop) model(t *testing.T) []byte {
	scalar := func(name string, typ onnxpb.TensorProto_DataType, v int64) *onnxpb.TensorProto {
		if typ == onnxpb.TensorProto_BOOL {
			return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(typ)), Int32Data: []int32{int32(v)}}
		}
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(typ)), Int64Data: []int64{v}}
	}
	info := func(name string, typ onnxpb.TensorProto_DataType) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(typ)), Shape: &onnxpb.TensorShapeProto{}}}}}
	}
	ids := valueInfo("ids", 3, 2)
	ids.Type.GetTensorType().ElemType = proto.Int32(int32(onnxpb.TensorProto_INT64))
	reduce := nodeProto(b.reduce, "/emb/Reduce", []string{"rows"}, []string{"bagged"}, intAttribute("keepdims", 0))
	if b.reduce == "ReduceSum" {
		reduce.Input = append(reduce.Input, "axis0")
	} else {
		reduce.Attribute = append(reduce.Attribute, &onnxpb.AttributeProto{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{0}})
	}
	body := &onnxpb.GraphProto{
		Name:  proto.String("body"),
		Input: []*onnxpb.ValueInfoProto{info("i", onnxpb.TensorProto_INT64), info("c", onnxpb.TensorProto_BOOL)},
		Node: []*onnxpb.NodeProto{
			nodeProto("Gather", "/emb/Gather_s", []string{"offsets", "i"}, []string{"s"}, intAttribute("axis", 0)),
			nodeProto("Gather", "/emb/Gather_e", []string{"ends", "i"}, []string{"e"}, intAttribute("axis", 0)),
			nodeProto("Constant", "/emb/Constant", nil, []string{"axis0"}, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: int64s("", 0)}),
			nodeProto("Unsqueeze", "/emb/Unsqueeze_s", []string{"s", "axis0"}, []string{"s1"}),
			nodeProto("Unsqueeze", "/emb/Unsqueeze_e", []string{"e", "axis0"}, []string{"e1"}),
			nodeProto("Slice", "/emb/Slice", []string{"flat", "s1", "e1", "axis0"}, []string{"bag"}),
			nodeProto("Gather", "/emb/Gather_rows", []string{"emb.weight", "bag"}, []string{"rows"}, intAttribute("axis", 0)),
			reduce,
			nodeProto("Cast", "/emb/Cast", []string{"cond"}, []string{"c_out"}, intAttribute("to", int64(onnxpb.TensorProto_BOOL))),
		},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("c_out")}, {Name: proto.String("bagged")}},
	}
	loop := nodeProto("Loop", "/emb/Loop", []string{"trips", "cond"}, []string{"y"},
		&onnxpb.AttributeProto{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body})
	if b.carried {
		loop.Input = append(loop.Input, "cond")
		loop.Output = []string{"carried", "y"}
		body.Input = append(body.Input, info("v", onnxpb.TensorProto_BOOL))
		body.Output = []*onnxpb.ValueInfoProto{{Name: proto.String("c_out")}, {Name: proto.String("v")}, {Name: proto.String("bagged")}}
	}
	s := graphSpec{
		input:  ids,
		output: "y",
		nodes:  []*onnxpb.NodeProto{nodeProto("Reshape", "/emb/Reshape", []string{"ids", "minus1"}, []string{"flat"}), loop},
		inits: []*onnxpb.TensorProto{
			ones("emb.weight", 5, 4), int64s("minus1", -1), int64s("offsets", b.starts...), int64s("ends", b.ends...),
			scalar("trips", onnxpb.TensorProto_INT64, b.trips), scalar("cond", onnxpb.TensorProto_BOOL, 1),
		},
	}
	return s.bytes(t)
}

var equalBags = bagLoop{reduce: "ReduceMean", starts: []int64{0, 2, 4}, ends: []int64{2, 4, 6}, trips: 3}

// nn.EmbeddingBag's Loop is one embedding bag over the ids [3, 2], the
// table the parameter emb.weight, in modes mean and sum.
func TestEmbeddingBagLoop(t *testing.T) {
	for _, mode := range []struct {
		op     string
		reduce ir.Reduce
	}{{"ReduceMean", ir.ReduceMean}, {"ReduceSum", ir.ReduceSum}} {
		b := equalBags
		b.reduce = mode.op
		g, err := Compile("model.onnx", b.model(t), Options{})
		if err != nil {
			t.Fatalf("%s: %v", mode.op, err)
		}
		y := g.Outputs[0]
		if y.Op != ir.OpEmbedding || y.Reduction != mode.reduce || y.Shape.String() != "[3,4]" {
			t.Fatalf("%s: the output is %s %s %v, want an embedding bag (%s) [3,4]", mode.op, y.Op, y.Reduction, y.Shape, mode.reduce)
		}
		if w, ids := y.Args[0], y.Args[1]; w.Op != ir.OpParam || w.Name != "emb.weight" || ids.Op != ir.OpInput || ids.Shape.String() != "[3,2]" {
			t.Errorf("%s: the bag reads %s %q and %s %v, want the parameter emb.weight and the ids [3,2]", mode.op, w.Op, w.Name, ids.Op, ids.Shape)
		}
		if len(g.Values) != 3 {
			t.Errorf("%s: %d values, want the ids, the table and the bag: %v", mode.op, len(g.Values), g)
		}
	}
}

// Any other Loop is refused, saying what it found.
func TestLoopRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		loop bagLoop
		want string
	}{
		{"max", bagLoop{reduce: "ReduceMax", starts: equalBags.starts, ends: equalBags.ends, trips: 3}, `ReduceMax: nn.EmbeddingBag(mode="max")`},
		{"carried", bagLoop{reduce: "ReduceMean", starts: equalBags.starts, ends: equalBags.ends, trips: 3, carried: true}, "carries 1 value(s) from one iteration to the next"},
		{"unequal bags", bagLoop{reduce: "ReduceMean", starts: []int64{0, 1, 4}, ends: []int64{1, 4, 6}, trips: 3}, "bag 0 is [0, 1) of the 6 flattened ids; nngen takes bags of equal length, the ids' last axis (2)"},
		{"trips", bagLoop{reduce: "ReduceSum", starts: equalBags.starts, ends: equalBags.ends, trips: 2}, "the Loop runs 2 times over ids [3 2]"},
		{"offsets", bagLoop{reduce: "ReduceSum", starts: []int64{0, 2}, ends: []int64{2, 4}, trips: 3}, "gathers element i of 2 offsets, for 3 iterations"},
	} {
		_, err := Compile("model.onnx", c.loop.model(t), Options{})
		t.Logf("%s: %v", c.name, err)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `node "/emb/Loop"`) || !strings.Contains(err.Error(), loopSupported) {
			t.Errorf("%s: got %v\nwant an error about the Loop saying %q and what nngen takes", c.name, err, c.want)
		}
	}
}
