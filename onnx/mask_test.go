package onnx

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/onnx/onnxpb"
)

// causalSpec is scores x [2, 3, 3] plus the square subsequent mask as a
// transformer's export makes it inside forward: Trilu(full of −∞, k) of
// the given upper, folded to a constant.
func causalSpec(k float32, upper int64) graphSpec {
	inf := float32(math.Inf(-1))
	return graphSpec{
		input:  valueInfo("x", 2, 3, 3),
		output: "y",
		nodes: []*onnxpb.NodeProto{
			nodeProto("Trilu", "/Trilu", []string{"full", "k"}, []string{"mask"}, intAttribute("upper", upper)),
			nodeProto("Add", "/a/Add", []string{"x", "mask"}, []string{"y"}),
		},
		inits: []*onnxpb.TensorProto{tensorProto("full", []int64{3, 3}, inf, inf, inf, inf, inf, inf, inf, inf, inf), tensorProto("k", nil, k)},
	}
}

// TestCausalMask: the scores plus Trilu(−∞, 1), the causal mask, is
// causal_mask of the scores, with no parameter; another triangle is a
// constant added as any other (a parameter).
func TestCausalMask(t *testing.T) {
	m, err := Import("model.onnx", causalSpec(1, 1).bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `network model f32 batch=2
# forward
v0 = input <f32[2,3,3]> "x"
v1 = causal_mask <f32[2,3,3]> v0 "/a/Add"
output v1
`
	if got := m.Graph.String(); got != want {
		t.Errorf("graph:\n%s\nwant:\n%s", got, want)
	}
	m, err = Import("model.onnx", causalSpec(0, 0).bytes(t), Options{}) // −∞ on and below the diagonal
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.String(); strings.Contains(got, "causal_mask") || !strings.Contains(got, `param <f32[3,3]> "mask"`) {
		t.Errorf("the lower triangle is not a causal mask:\n%s", got)
	}
	w := m.Weights["mask"]
	for i, v := range w {
		r, c := i/3, i%3
		if want := c <= r; math.IsInf(v, -1) != want || !want && v != 0 {
			t.Errorf("tril(−∞, 0)[%d][%d] = %g", r, c, v)
		}
	}
}

// TestTriluErrors: Trilu of a computed tensor is refused, naming the node.
func TestTriluErrors(t *testing.T) {
	spec := causalSpec(1, 1)
	spec.nodes = append(spec.nodes, nodeProto("Trilu", "/b/Trilu", []string{"y"}, []string{"z"}))
	spec.output = "z"
	_, err := Import("model.onnx", spec.bytes(t), Options{})
	want := `model.onnx: node "/b/Trilu": Trilu of a computed tensor is not supported; nngen folds it when its input is a constant`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestBoolMask: a bool mask computed from the model's input, as the export
// of a bool key_padding_mask computes it, is refused at its first
// comparison, saying what nngen takes instead; comparisons and logic of
// constants fold.
func TestBoolMask(t *testing.T) {
	spec := causalSpec(1, 1)
	spec.extra = []*onnxpb.ValueInfoProto{valueInfo("m", 2, 3)}
	spec.nodes = append(spec.nodes,
		nodeProto("Less", "/Less_1", []string{"mask", "zero"}, []string{"causal"}), // the causal mask as bools
		nodeProto("Less", "/Less", []string{"m", "zero"}, []string{"ignored"}),
		nodeProto("Or", "/a/Or", []string{"causal", "ignored"}, []string{"z"}))
	spec.inits = append(spec.inits, tensorProto("zero", nil, 0))
	spec.output = "z"
	_, err := Import("model.onnx", spec.bytes(t), Options{})
	want := `model.onnx: node "/Less": Less of computed tensors is not supported: nngen computes no booleans, and folds it when its inputs are constants (an attention mask computed in forward, or a bool key_padding_mask, must be a float one, 0 or -inf, added to the scores)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	for op, want := range map[string][]float64{"Less": {1, 0, 0, 1}, "LessOrEqual": {1, 1, 0, 1}, "Greater": {0, 0, 1, 0},
		"GreaterOrEqual": {0, 1, 1, 0}, "And": {1, 1, 1, 0}, "Or": {1, 1, 1, 1}, "Equal": {0, 1, 0, 0}} {
		a, b := []float64{-1, 2, 3, 0}, []float64{2, 2, 2, 1}
		got := make([]float64, len(a))
		for i := range a {
			got[i] = foldOps[op](a[i], b[i])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s(%v, %v) = %v, want %v", op, a, b, got, want)
		}
	}
}

// TestAttentionDropout: a Dropout in training mode of a Softmax's output,
// in the scope of an nn.MultiheadAttention (which drops its attention
// weights with F.dropout, no module of its own), is that layer's
// attn_dropout, as .nn's multihead_attention names it.
func TestAttentionDropout(t *testing.T) {
	spec := linearSpec(
		nodeProto("Softmax", "/t/self_attn/Softmax", []string{"y"}, []string{"w"}, intAttribute("axis", -1)),
		nodeProto("Dropout", "/t/self_attn/Dropout", []string{"w"}, []string{"d"}, intAttribute("is_test", 0), floatAttribute("ratio", 0.25)))
	m, err := Import("model.onnx", spec.versions(t, 3, opset("", 6)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Graph.String(), `dropout_mask[p=0.25] <f32[2,3]> v4 "t.self_attn.attn_dropout.mask"`; !strings.Contains(got, want) {
		t.Errorf("graph\n%s\nwant %s", got, want)
	}
}
