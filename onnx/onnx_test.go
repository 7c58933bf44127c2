package onnx

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// Models for the tests are built here with a few constructors, as the
// pass tests build IR: small, and each saying what it is about.

func tensorProto(name string, dims []int64, data ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data}
}

// ones is a FLOAT tensor of the given shape holding 1, 2, 3, ...
func ones(name string, dims ...int64) *onnxpb.TensorProto {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i + 1)
	}
	return tensorProto(name, dims, data...)
}

func nodeProto(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs}
}

func intAttribute(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttribute(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// valueInfo declares a FLOAT tensor; a dimension of -1 is named "batch".
func valueInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

type graphSpec struct {
	input  *onnxpb.ValueInfoProto
	output string
	nodes  []*onnxpb.NodeProto
	inits  []*onnxpb.TensorProto
	extra  []*onnxpb.ValueInfoProto // more inputs
}

// model is the spec as a model of IR version 8 and opset 17, which tests
// change to try other versions.
func (s graphSpec) model() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{opset("", 17)},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("test"), Node: s.nodes, Initializer: s.inits,
			Input: append([]*onnxpb.ValueInfoProto{s.input}, s.extra...), Output: []*onnxpb.ValueInfoProto{{Name: proto.String(s.output)}},
		},
	}
}

func (s graphSpec) bytes(t testing.TB) []byte {
	t.Helper()
	return marshal(t, s.model())
}

func marshal(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func opset(domain string, version int64) *onnxpb.OperatorSetIdProto {
	return &onnxpb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(version)}
}

// versions is the spec's model with the given IR version and opsets.
func (s graphSpec) versions(t testing.TB, irVersion int64, opsets ...*onnxpb.OperatorSetIdProto) []byte {
	m := s.model()
	m.IrVersion, m.OpsetImport = proto.Int64(irVersion), opsets
	return marshal(t, m)
}

// linearSpec is nn.Linear(4, 3) on a batch of 2 as torch.onnx.export
// writes it, then the given nodes, which continue from "y".
func linearSpec(more ...*onnxpb.NodeProto) graphSpec {
	out := "y"
	if len(more) > 0 {
		out = more[len(more)-1].GetOutput()[0]
	}
	return graphSpec{
		input:  valueInfo("x", 2, 4),
		output: out,
		nodes: append([]*onnxpb.NodeProto{nodeProto("Gemm", "/fc/Gemm", []string{"x", "fc.weight", "fc.bias"}, []string{"y"},
			floatAttribute("alpha", 1), floatAttribute("beta", 1), intAttribute("transB", 1))}, more...),
		inits: []*onnxpb.TensorProto{ones("fc.weight", 3, 4), ones("fc.bias", 3)},
	}
}

func TestLinear(t *testing.T) {
	m, err := Import("model.onnx", linearSpec().bytes(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `network model f32 batch=2
# forward
v0 = input <f32[2,4]> "x"
v1 = param <f32[3,4]> "fc.weight"
v2 = param <f32[3]> "fc.bias"
v3 = linear <f32[2,3]> v0 v1 v2 "/fc/Gemm"
output v3
`
	if got := m.Graph.String(); got != want {
		t.Errorf("graph:\n%s\nwant:\n%s", got, want)
	}
	if w := m.Weights["fc.weight"]; !slices.Equal(w, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Errorf("fc.weight = %v", w)
	}
}

// TestTutorialExport checks the tutorial network as torch.onnx.export
// writes it for one sample: MatMul with the weights transposed and renamed
// ("onnx::MatMul_18"), then Add(bias, ·). The weights must come back under
// their state_dict names, [out, in], equal to the trace's.
func TestTutorialExport(t *testing.T) {
	data, err := os.ReadFile("../golden/testdata/onnx/models/seed.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Import("seed.onnx", data, Options{Loss: "mse", Optimizer: "sgd(lr=0.3)"})
	if err != nil {
		t.Fatal(err)
	}
	want := `network seed f32 batch=1 unbatched
# forward
v0 = input <f32[1,4]> "onnx::MatMul_0"
v1 = param <f32[5,4]> "layer1.weight"
v2 = param <f32[5]> "layer1.bias"
v3 = linear <f32[1,5]> v0 v1 v2 "/layer1"
v4 = sigmoid <f32[1,5]> v3 "/Sigmoid"
v5 = param <f32[7,5]> "layer2.weight"
v6 = param <f32[7]> "layer2.bias"
v7 = linear <f32[1,7]> v4 v5 v6 "/layer2"
v8 = sigmoid <f32[1,7]> v7 "/Sigmoid_1"
v9 = param <f32[3,7]> "layer3.weight"
v10 = param <f32[3]> "layer3.bias"
v11 = linear <f32[1,3]> v8 v9 v10 "/layer3"
# loss
v12 = input <f32[1,3]> "target"
v13 = mse[reduction=mean] <f32[]> v11 v12 "loss"
output v11
loss v13
optimizer sgd dampening=0 lr=0.3 momentum=0 nesterov=0 weight_decay=0
`
	if got := m.Graph.String(); got != want {
		t.Errorf("graph:\n%s\nwant:\n%s", got, want)
	}
	raw, err := os.ReadFile("../golden/testdata/reference/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	var trace struct{ Params map[string]any }
	if err := json.Unmarshal(raw, &trace); err != nil {
		t.Fatal(err)
	}
	for name, v := range trace.Params {
		if got, want := m.Weights[name], flatten(v); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func flatten(v any) []float64 {
	if a, ok := v.([]any); ok {
		var out []float64
		for _, e := range a {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []float64{v.(float64)}
}

// TestGELU checks that both of the formulas torch.onnx.export writes for
// nn.GELU become one gelu.
func TestGELU(t *testing.T) {
	for file, want := range map[string]string{
		"gelu_bce_adamw.onnx": `v4 = gelu <f32[4,10]> v3 "/Mul_1"`, // F.gelu: no module, no scope
		"sequential.onnx":     `gelu[approx=tanh] <f32[5,8]> v6 "/net/net.5"`,
	} {
		data, err := os.ReadFile("../golden/testdata/onnx/models/" + file)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Compile(file, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(g.String(), want) {
			t.Errorf("%s: no %q in\n%s", file, want, g)
		}
		for _, v := range g.Values {
			if v.Op == ir.OpMSE || v.Op == ir.OpAdd {
				t.Errorf("%s: %s left over from the formula", file, v.LongString())
			}
		}
	}
}

// TestEqualParameters checks PyTorch's exports of a network whose
// parameters start equal (three zero biases; fc3.weight a copy of
// fc2.weight): torch.onnx.export keeps one initializer of each set of
// equal values and writes an Identity of it for each other parameter,
// named as the state_dict names it (or "onnx::MatMul_26" for a weight it
// folded). Each must be a parameter of its own, under its state_dict
// name, starting from the trace's values.
func TestEqualParameters(t *testing.T) {
	raw, err := os.ReadFile("../golden/testdata/onnx/models/zero_biases.json")
	if err != nil {
		t.Fatal(err)
	}
	var trace struct{ Params map[string]any }
	if err := json.Unmarshal(raw, &trace); err != nil {
		t.Fatal(err)
	}
	want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias", "out.weight", "out.bias"}
	for _, file := range []string{"zero_biases.onnx", "zero_biases.f64.onnx", "zero_biases_sample.onnx", "zero_biases_unfolded.onnx"} {
		data, err := os.ReadFile("../golden/testdata/onnx/models/" + file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Import(file, data, Options{Loss: "mse", Optimizer: "adam"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range m.Graph.Params() {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: parameters %q, want %q", file, names, want)
		}
		if file != "zero_biases.onnx" {
			continue // the other traces start from other values
		}
		for name, v := range trace.Params {
			if got, want := m.Weights[name], flatten(v); !slices.Equal(got, want) {
				t.Errorf("%s: %s = %v, want %v", file, name, got, want)
			}
		}
	}
}

// TestTiedWeights checks that a parameter PyTorch shares (fc2.weight =
// fc1.weight), which the export passes to both layers as one initializer,
// stays one parameter, while an Identity of an initializer, what the
// export writes for parameters that are only equal, is one of its own.
func TestTiedWeights(t *testing.T) {
	spec := func(second string, more ...*onnxpb.NodeProto) graphSpec {
		return graphSpec{
			input: valueInfo("x", 2, 3), output: "z",
			nodes: append(more,
				nodeProto("Gemm", "/fc1/Gemm", []string{"x", "fc1.weight", "fc1.bias"}, []string{"y"}, intAttribute("transB", 1)),
				nodeProto("Relu", "/Relu", []string{"y"}, []string{"r"}),
				nodeProto("Gemm", "/fc2/Gemm", []string{"r", second, "fc2.bias"}, []string{"z"}, intAttribute("transB", 1))),
			inits: []*onnxpb.TensorProto{ones("fc1.weight", 3, 3), ones("fc1.bias", 3), ones("fc2.bias", 3)},
		}
	}
	for _, test := range []struct {
		name string
		spec graphSpec
		want []string
	}{
		{"tied", spec("fc1.weight"), []string{"fc1.weight", "fc1.bias", "fc2.bias"}},
		{"equal", spec("fc2.weight", nodeProto("Identity", "Identity_0", []string{"fc1.weight"}, []string{"fc2.weight"})),
			[]string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}},
	} {
		m, err := Import("model.onnx", test.spec.bytes(t), Options{Loss: "mse", Optimizer: "sgd(lr=0.1)"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range m.Graph.Params() {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, test.want) {
			t.Errorf("%s: parameters %q, want %q", test.name, names, test.want)
		}
		for _, name := range names {
			if w := m.Weights[name]; len(w) == 9 && !slices.Equal(w, m.Weights["fc1.weight"]) {
				t.Errorf("%s: %s = %v, want fc1.weight's values", test.name, name, w)
			}
		}
	}
}

// TestVersions checks the IR versions and opsets that nngen reads: from
// opset 6 (ONNX's oldest node tests, whose Dropout needs is_test=1) to 21,
// the default domain named "" or "ai.onnx", beside other domains.
func TestVersions(t *testing.T) {
	dropout := linearSpec(nodeProto("Dropout", "/drop", []string{"y"}, []string{"d"}, intAttribute("is_test", 1)))
	gelu := linearSpec(nodeProto("Gelu", "/gelu", []string{"y"}, []string{"g"}))
	for _, test := range []struct {
		name string
		data []byte
	}{
		{"opset 6", dropout.versions(t, 3, opset("", 6))},
		{"opset 13 as ai.onnx", linearSpec().versions(t, 7, opset("ai.onnx", 13))},
		{"opset 20's Gelu", gelu.versions(t, 9, opset("", 20))},
		{"opset 21 and another domain", linearSpec().versions(t, 10, opset("com.microsoft", 1), opset("", 21))},
		{"the default domain twice, as one opset", linearSpec().versions(t, 8, opset("", 17), opset("ai.onnx", 17))},
	} {
		if _, err := Import("model.onnx", test.data, Options{}); err != nil {
			t.Errorf("%s: %v", test.name, err)
		}
	}
}

func TestBatch(t *testing.T) {
	spec := linearSpec()
	spec.input = valueInfo("x", -1, 4) // dynamic_axes={"x": {0: "batch"}}
	g, err := Compile("model.onnx", spec.bytes(t), Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if x := g.Inputs()[0]; !slices.Equal(x.Shape, ir.Shape{16, 4}) || g.Batch != 16 || g.Unbatched {
		t.Errorf("input %s in %s", x.LongString(), g)
	}

	// A model exported for one sample gets a batch dimension.
	spec = graphSpec{
		input: valueInfo("x", 4), output: "y",
		nodes: []*onnxpb.NodeProto{nodeProto("MatMul", "/fc/MatMul", []string{"x", "onnx::MatMul_3"}, []string{"y"})},
		inits: []*onnxpb.TensorProto{ones("onnx::MatMul_3", 4, 3)},
	}
	g, err = Compile("model.onnx", spec.bytes(t), Options{Batch: 8, Loss: "cross_entropy"})
	if err != nil {
		t.Fatal(err)
	}
	if y := g.Outputs[0]; !slices.Equal(y.Shape, ir.Shape{8, 3}) || g.Unbatched || g.Params()[0].Name != "fc.weight" {
		t.Errorf("output %s in %s", y.LongString(), g)
	}
	if target := g.Inputs()[1]; target.DType != ir.Int || !slices.Equal(target.Shape, ir.Shape{8}) {
		t.Errorf("cross_entropy's target is %s", target.LongString())
	}
}

func TestErrors(t *testing.T) {
	conv := linearSpec(
		nodeProto("RNN", "/rnn/RNN", []string{"y"}, []string{"c"}),
		nodeProto("Relu", "/act/Relu", []string{"c"}, []string{"r"}),
		nodeProto("TopK", "/top/TopK", []string{"r"}, []string{"p"}),
		nodeProto("FusedGemm", "", []string{"p"}, []string{"q"}),
	)
	conv.nodes[4].Domain = proto.String("com.microsoft")
	twoInputs := linearSpec()
	twoInputs.nodes[0].Input[1] = "w"
	twoInputs.inits = twoInputs.inits[1:]
	w := valueInfo("w", 3, 4)
	dynamic := linearSpec()
	dynamic.input = valueInfo("x", -1, 4)
	gemm := func(alpha, beta float32) graphSpec {
		s := linearSpec()
		s.nodes[0].Attribute[0], s.nodes[0].Attribute[1] = floatAttribute("alpha", alpha), floatAttribute("beta", beta)
		return s
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	axis := linearSpec(nodeProto("Add", "/add", []string{"y", "c"}, []string{"s"}, intAttribute("broadcast", 1), intAttribute("axis", 0)))
	axis.inits = append(axis.inits, ones("c", 2))
	const opsets = "nngen reads opsets 6 to 21"
	for _, test := range []struct {
		name string
		data []byte
		opts Options
		want string
	}{
		{"garbage", []byte("\xff\xff\xff"), Options{}, "model.onnx: not an ONNX model: "},
		{"unsupported ops, all of them", conv.bytes(t), Options{}, `model.onnx: node "/rnn/RNN": unsupported op RNN
model.onnx: node "/top/TopK": unsupported op TopK
model.onnx: node 4 (output "q"): unsupported op com.microsoft.FusedGemm`},
		{"convolution and pooling of a matrix", linearSpec(
			nodeProto("Conv", "/c/Conv", []string{"y", "fc.weight"}, []string{"c"}),
			nodeProto("MaxPool", "/MaxPool", []string{"y"}, []string{"p"}),
			nodeProto("Pad", "/Pad", []string{"y"}, []string{"q"})).bytes(t), Options{},
			`model.onnx: node "/c/Conv": X is [2 3]; nngen convolves and pools [batch, channels, length] or [batch, channels, height, width]
model.onnx: node "/MaxPool": X is [2 3]; nngen convolves and pools [batch, channels, length] or [batch, channels, height, width]
model.onnx: node "/Pad": data is [2 3]; nngen convolves and pools [batch, channels, length] or [batch, channels, height, width]`},
		{"two inputs", withInput(twoInputs, w).bytes(t), Options{}, `model.onnx: input "w" is f32 [3 4], but the model's first input is f32 with a batch of 2; nngen takes inputs of one element type and batch`},
		{"dynamic batch", dynamic.bytes(t), Options{}, `model.onnx: input "x" has no fixed batch size (its first dimension is "batch"); give one (-batch N)`},
		{"softmax axis", linearSpec(nodeProto("Softmax", "/sm", []string{"y"}, []string{"s"}, intAttribute("axis", 2))).bytes(t), Options{},
			`model.onnx: node "/sm": axis 2 of a [2 3] tensor`},
		{"negative slope", linearSpec(nodeProto("LeakyRelu", "/lr", []string{"y"}, []string{"s"}, floatAttribute("alpha", -0.5))).bytes(t), Options{},
			`model.onnx: node "/lr": alpha is -0.5; nngen computes LeakyRelu's gradient from its output, which needs alpha finite and at least 0`},
		{"leaky relu alpha infinite", linearSpec(nodeProto("LeakyRelu", "/lr", []string{"y"}, []string{"s"}, floatAttribute("alpha", -inf))).bytes(t), Options{},
			`model.onnx: node "/lr": alpha is -Inf; nngen takes a finite number`},
		{"gemm alpha and beta not finite", gemm(nan, inf).bytes(t), Options{}, `model.onnx: node "/fc/Gemm": alpha is NaN; nngen takes a finite number
model.onnx: node "/fc/Gemm": beta is +Inf; nngen takes a finite number`},
		{"gemm alpha overflows", gemm(1e38, 1).bytes(t), Options{}, `model.onnx: node "/fc/Gemm": alpha·B[3] is 4e+38, more than float32 holds`},
		{"gemm beta overflows", gemm(1, -2e38).bytes(t), Options{}, `model.onnx: node "/fc/Gemm": beta·C[1] is -4e+38, more than float32 holds`},
		{"no opset", linearSpec().versions(t, 8), Options{},
			`model.onnx: the model imports no opset of the default domain (opset_import with domain "" or "ai.onnx"); ` + opsets},
		{"only other domains", linearSpec().versions(t, 8, opset("com.microsoft", 1)), Options{},
			`model.onnx: the model imports no opset of the default domain (opset_import with domain "" or "ai.onnx"); ` + opsets},
		{"opset too old", linearSpec().versions(t, 3, opset("", 5)), Options{}, `model.onnx: the model imports opset 5 of the default domain; ` + opsets},
		{"opset too new", linearSpec().versions(t, 10, opset("ai.onnx", 22)), Options{}, `model.onnx: the model imports opset 22 of the default domain; ` + opsets},
		{"two opsets", linearSpec().versions(t, 8, opset("", 13), opset("ai.onnx", 17)), Options{},
			`model.onnx: the model imports the default domain twice, as opsets 13 and 17`},
		{"ir_version 0", linearSpec().versions(t, 0, opset("", 17)), Options{},
			`model.onnx: ir_version is 0; an ONNX model states the version of the format it is written in, from 1 up`},
		{"versions and ops, all of them", conv.versions(t, 0), Options{}, `model.onnx: ir_version is 0; an ONNX model states the version of the format it is written in, from 1 up
model.onnx: the model imports no opset of the default domain (opset_import with domain "" or "ai.onnx"); ` + opsets + `
model.onnx: node "/rnn/RNN": unsupported op RNN
model.onnx: node "/top/TopK": unsupported op TopK
model.onnx: node 4 (output "q"): unsupported op com.microsoft.FusedGemm`},
		{"dropout in training mode with a ratio above 1", linearSpec(nodeProto("Dropout", "/drop", []string{"y"}, []string{"d"}, floatAttribute("ratio", 1.5))).versions(t, 3, opset("", 6)), Options{},
			`model.onnx: node "/drop": ratio 1.5 is not a probability from 0 to 1`},
		{"add with an axis", axis.bytes(t), Options{},
			`model.onnx: node "/add": it has an axis (opset 6's broadcast to chosen dimensions); nngen adds as opset 7 and later do, matching the last dimensions`},
		{"undefined input", linearSpec(nodeProto("Relu", "/r", []string{"nowhere"}, []string{"s"})).bytes(t), Options{},
			`model.onnx: node "/r": input "nowhere" is not defined before the node; nngen reads nodes in the file's order`},
		{"unknown loss", linearSpec().bytes(t), Options{Loss: "msee"}, `model.onnx: loss "msee": unknown loss "msee"; did you mean "mse"?`},
		{"bad reduction", linearSpec().bytes(t), Options{Loss: "mse(reduction=max)"}, `model.onnx: loss "mse(reduction=max)": reduction must be mean or sum, found "max"`},
		{"optimizer alone", linearSpec().bytes(t), Options{Optimizer: "sgd(lr=0.1)"}, `model.onnx: optimizer "sgd(lr=0.1)" without a loss to minimize; give a loss too`},
		{"optimizer settings", linearSpec().bytes(t), Options{Loss: "mse", Optimizer: "sgd(momentum=0.9, nesterov=maybe)"},
			`model.onnx: optimizer "sgd(momentum=0.9, nesterov=maybe)": nesterov must be true or false, found "maybe"`},
		{"optimizer needs lr", linearSpec().bytes(t), Options{Loss: "mse", Optimizer: "sgd"}, `model.onnx: optimizer "sgd": sgd needs lr=...`},
		{"optimizer syntax", linearSpec().bytes(t), Options{Loss: "mse", Optimizer: "adam(lr=0.1"}, `model.onnx: optimizer "adam(lr=0.1": expected ')' after arguments, found end of line`},
	} {
		_, err := Import("model.onnx", test.data, test.opts)
		if err == nil || !strings.HasPrefix(err.Error(), test.want) {
			t.Errorf("%s: got\n%v\nwant\n%s", test.name, err, test.want)
		}
		if err != nil && test.name != "garbage" && err.Error() != test.want {
			t.Errorf("%s: got\n%v\nwant exactly\n%s", test.name, err, test.want)
		}
	}
}

func withInput(s graphSpec, in *onnxpb.ValueInfoProto) graphSpec {
	s.extra = append(s.extra, in)
	return s
}

// TestDropoutTraining: a Dropout in training mode (here opset 6's is_test
// 0, with its ratio attribute) is the dropout op, its mask named after the
// node's module path; in inference mode (is_test 1) it is nothing.
func TestDropoutTraining(t *testing.T) {
	for _, tt := range []struct{ node, isTest, want string }{
		{"/block/drop/Dropout", "0", `v4 = dropout_mask[p=0.25] <f32[2,3]> v3 "block.drop.mask"`},
		{"/Dropout", "0", `v4 = dropout_mask[p=0.25] <f32[2,3]> v3 "d.mask"`},
		{"/block/drop/Dropout", "1", `output v3`},
	} {
		isTest := int64(0)
		if tt.isTest == "1" {
			isTest = 1
		}
		spec := linearSpec(nodeProto("Dropout", tt.node, []string{"y"}, []string{"d"}, intAttribute("is_test", isTest), floatAttribute("ratio", 0.25)))
		m, err := Import("model.onnx", spec.versions(t, 3, opset("", 6)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := m.Graph.String()
		if !strings.Contains(got, tt.want+"\n") || isTest == 0 && !strings.Contains(got, "v5 = mul <f32[2,3]> v3 v4") {
			t.Errorf("%s, is_test %s: graph\n%s\nwant %s and the mul of it", tt.node, tt.isTest, got, tt.want)
		}
	}
}
