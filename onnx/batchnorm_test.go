package onnx

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/onnx/onnxpb"
)

// constantNode is a Constant node of a FLOAT tensor.
func constantNode(out string, data ...float32) *onnxpb.NodeProto {
	return nodeProto("Constant", "/"+out, nil, []string{out}, &onnxpb.AttributeProto{Name: proto.String("value"),
		Type: onnxpb.AttributeProto_TENSOR.Enum(), T: tensorProto("", []int64{int64(len(data))}, data...)})
}

// BatchNormalization as torch.onnx.export writes nn.BatchNorm1d(3) after a
// linear layer: in training mode with its statistics' initializers; in
// evaluation mode with constant folding, which renames them; with
// affine=False, whose scale and B are Constant nodes of ones and zeros;
// and without running statistics, whose mean and variance it computes.
func TestBatchNormalization(t *testing.T) {
	bn := func(in []string, training int64, outs ...string) *onnxpb.NodeProto {
		return nodeProto("BatchNormalization", "/bn/BatchNormalization", in, append([]string{"z"}, outs...),
			floatAttribute("epsilon", 1e-5), floatAttribute("momentum", 0.8), intAttribute("training_mode", training))
	}
	for _, tt := range []struct {
		name   string
		nodes  []*onnxpb.NodeProto
		inits  []string
		want   []string
		output string // a used statistics output
	}{{
		name:  "training",
		nodes: []*onnxpb.NodeProto{bn([]string{"y", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, 1, "m", "v")},
		inits: []string{"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
		want: []string{`= buffer <f32[3]> "bn.running_mean"`, `= buffer <f32[3]> "bn.running_var"`, `= buffer <i64[]> "bn.num_batches_tracked"`,
			`batch_norm[eps=1e-05,momentum=0.2] <f32[2,3]> v3 v6 v7 v8 v4 v5`},
	}, {
		name:  "evaluation, folded",
		nodes: []*onnxpb.NodeProto{bn([]string{"y", "bn.weight", "bn.bias", "onnx::BatchNormalization_7", "onnx::BatchNormalization_8"}, 0)},
		inits: []string{"bn.weight", "bn.bias", "onnx::BatchNormalization_7", "onnx::BatchNormalization_8"},
		want:  []string{`"bn.running_mean"`, `"bn.running_var"`, `"bn.num_batches_tracked"`, `batch_norm[eps=1e-05,momentum=0.2]`},
	}, {
		name: "no affine",
		nodes: []*onnxpb.NodeProto{constantNode("s", 1, 1, 1), constantNode("b", 0, 0, 0),
			bn([]string{"y", "s", "b", "bn.running_mean", "bn.running_var"}, 1, "m", "v")},
		inits: []string{"bn.running_mean", "bn.running_var"},
		want:  []string{`batch_norm[eps=1e-05,momentum=0.2] <f32[2,3]> v3 v4 v5 v6 "/bn/BatchNormalization"`},
	}, {
		name: "no running statistics",
		nodes: []*onnxpb.NodeProto{
			nodeProto("ReduceMean", "/bn/ReduceMean", []string{"y"}, []string{"mean"}, &onnxpb.AttributeProto{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{0}}),
			nodeProto("ReduceMean", "/bn/ReduceMean_1", []string{"y"}, []string{"var"}, &onnxpb.AttributeProto{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{0}}),
			bn([]string{"y", "bn.weight", "bn.bias", "mean", "var"}, 1, "m", "v")},
		inits: []string{"bn.weight", "bn.bias"},
		want:  []string{`batch_norm[eps=1e-05] <f32[2,3]> v3 v6 v7 "/bn/BatchNormalization"`},
	}, {
		name:   "running mean read",
		nodes:  []*onnxpb.NodeProto{bn([]string{"y", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, 1, "m", "v"), nodeProto("Add", "/add", []string{"z", "m"}, []string{"w"})},
		inits:  []string{"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
		output: "its running mean or variance output is used",
	}} {
		spec := linearSpec(tt.nodes...)
		spec.output = "z"
		if tt.output != "" {
			spec.output = "w"
		}
		for _, name := range tt.inits {
			spec.inits = append(spec.inits, tensorProto(name, []int64{3}, 0.5, 1, 1.5))
		}
		m, err := Import("model.onnx", spec.bytes(t), Options{})
		if tt.output != "" {
			if err == nil || !strings.Contains(err.Error(), tt.output) {
				t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.output)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := m.Graph.String()
		for _, want := range tt.want {
			if !strings.Contains(got, want) {
				t.Errorf("%s: graph\n%s\nwant %s", tt.name, got, want)
			}
		}
	}
}
