package onnx

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestReorderGates: ONNX's gate blocks (GRU z, r, h; LSTM i, o, f, c)
// come back in PyTorch's order (r, z, n; i, f, g, o).
func TestReorderGates(t *testing.T) {
	gru := []float64{10, 11, 20, 21, 30, 31} // z z r r h h, hidden 2
	if got, want := reorderGates(gru, ir.GRU), []float64{20, 21, 10, 11, 30, 31}; !slices.Equal(got, want) {
		t.Errorf("GRU: got %v, want %v", got, want)
	}
	lstm := []float64{1, 2, 3, 4} // i o f c, hidden 1
	if got, want := reorderGates(lstm, ir.LSTM), []float64{1, 3, 4, 2}; !slices.Equal(got, want) {
		t.Errorf("LSTM: got %v, want %v", got, want)
	}
}

// TestRecurrentErrors: what PyTorch never exports is refused, every node
// at once.
func TestRecurrentErrors(t *testing.T) {
	strs := func(name string, vs ...string) *onnxpb.AttributeProto {
		a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRINGS.Enum()}
		for _, v := range vs {
			a.Strings = append(a.Strings, []byte(v))
		}
		return a
	}
	str := func(name, v string) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
	}
	in := []string{"y", "y", "y"}
	spec := linearSpec(
		nodeProto("GRU", "/a/GRU", in, []string{"a"}, intAttribute("hidden_size", 2)),
		nodeProto("GRU", "/b/GRU", in, []string{"b"}, intAttribute("hidden_size", 2), intAttribute("linear_before_reset", 1), str("direction", "reverse")),
		nodeProto("LSTM", "/c/LSTM", in, []string{"c"}, intAttribute("hidden_size", 2), intAttribute("layout", 1)),
		nodeProto("LSTM", "/d/LSTM", in, []string{"d"}, intAttribute("hidden_size", 2), strs("activations", "Relu", "Tanh", "Tanh")),
		nodeProto("GRU", "/e/GRU", in, []string{"e"}, intAttribute("hidden_size", 2), intAttribute("linear_before_reset", 1)),
		nodeProto("LSTM", "/f/LSTM", in, []string{"f"}, intAttribute("hidden_size", 2), floatAttribute("clip", 3)),
	)
	want := `model.onnx: node "/a/GRU": linear_before_reset 0 is not supported; PyTorch's GRU (linear_before_reset 1) applies the reset gate after the hidden state's linear map
model.onnx: node "/b/GRU": direction "reverse" is not supported; nngen runs forward and bidirectional layers, as PyTorch exports them
model.onnx: node "/c/LSTM": layout 1 is not supported; torch.onnx.export writes layout 0 ([seq, batch, ...]) with Transposes around
model.onnx: node "/d/LSTM": activations [Relu Tanh Tanh] are not supported; nngen computes the default [Sigmoid Tanh Tanh]
model.onnx: node "/e/GRU": X is [2 3]; nngen reads [seq, batch, in] with a batch axis
model.onnx: node "/f/LSTM": clip, activation_alpha and activation_beta are not supported; PyTorch exports none`
	_, err := Import("model.onnx", spec.bytes(t), Options{})
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
