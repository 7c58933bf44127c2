package onnx

import (
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// TestLossNodes imports torch.onnx.export's files of networks with their
// loss inside (golden/testdata/graphs/export_losses.py): the loss node
// becomes the graph's loss with PyTorch's options, the labels its integer
// target, and the scores the network's output.
func TestLossNodes(t *testing.T) {
	for file, want := range map[string]string{
		// nll_loss(log_softmax(out), ...), folded by the exporter.
		"loss_nll": `v7 = linear <f32[6,4]> v4 v5 v6 "/out/Gemm"
# loss
v8 = input <int[6]> "label"
v9 = cross_entropy[reduction=mean,weight=[0.5,1,2,1.5],ignore_index=-1] <f32[]> v7 v8 "loss"
output v7
loss v9`,
		"loss_ce_sum": `v7 = linear <f32[6,4]> v4 v5 v6 "/out/Gemm"
# loss
v8 = input <int[6]> "label"
v9 = cross_entropy[reduction=sum,ignore_index=2] <f32[]> v7 v8 "loss"
output v7
loss v9`,
		"loss_nll_tanh": `v8 = tanh <f32[6,4]> v7 "/Tanh_1"
# loss
v9 = input <int[6]> "label"
v10 = nll_loss[reduction=sum,weight=[1,2,0.5,1],ignore_index=3] <f32[]> v8 v9 "loss"
output v8
loss v10`,
	} {
		data, err := os.ReadFile("../golden/testdata/graphs/onnx/" + file + ".withloss.onnx")
		if err != nil {
			t.Fatal(err)
		}
		g, err := Compile(file+".onnx", data, Options{Optimizer: "sgd(lr=0.1)"})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		text := g.String()
		if !strings.Contains(text, want) {
			t.Errorf("%s: want\n%s\nin\n%s", file, want, text)
		}
		if len(g.Outputs) != 1 || g.Outputs[0] != g.Loss.Args[0] || g.Optimizer == nil || g.Loss.Args[1].Phase != ir.Loss {
			t.Errorf("%s: the output is not the loss's scores, or no optimizer:\n%s", file, text)
		}
	}
	data, err := os.ReadFile("../golden/testdata/graphs/onnx/loss_ce_sum.withloss.onnx")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile("m.onnx", data, Options{Loss: "mse"})
	if want := "m.onnx: the model computes its loss (cross_entropy); give no loss option, or export the network without its loss"; err == nil || err.Error() != want {
		t.Errorf("a loss option beside the model's loss: %v, want %s", err, want)
	}
	// The loss's scores named "": an error, not a panic.
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "SoftmaxCrossEntropyLoss" {
			n.Input[0] = ""
		}
	}
	broken, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile("m.onnx", broken, Options{}); err == nil || !strings.Contains(err.Error(), "input 0 is missing") {
		t.Errorf("a loss without scores: %v", err)
	}
}

// TestLossOutput: a model of several outputs (nn.GRU's output and final
// state) trains with the loss on the output LossOutput names, the others
// staying outputs; without the option, or with a name that is not an
// output, the error lists the outputs.
func TestLossOutput(t *testing.T) {
	m := linearSpec(nodeProto("Relu", "/r", []string{"y"}, []string{"r"})).model()
	m.Graph.Output = append(m.Graph.Output, &onnxpb.ValueInfoProto{Name: proto.String("y")})
	data := marshal(t, m)
	for _, test := range []struct {
		output, want string
	}{
		{"", `model.onnx: the model has 2 outputs ("r" [2,3], "y" [2,3]): name the one the loss takes with the loss output option (nngen build -loss-output r)`},
		{"h", `model.onnx: loss output "h": the model has no output of that name; its outputs are "r" [2,3], "y" [2,3]`},
	} {
		_, err := Import("model.onnx", data, Options{Loss: "mse", LossOutput: test.output, Optimizer: "sgd(lr=0.1)"})
		if err == nil || err.Error() != test.want {
			t.Errorf("loss output %q: got\n%v\nwant\n%s", test.output, err, test.want)
		}
	}
	model, err := Import("model.onnx", data, Options{Loss: "mse", LossOutput: "y", Optimizer: "sgd(lr=0.1)"})
	if err != nil {
		t.Fatal(err)
	}
	g := model.Graph
	if len(g.Outputs) != 2 || g.Loss == nil || g.Loss.Args[0] != g.Outputs[1] || g.Outputs[0].Op != ir.OpReLU || g.Optimizer == nil {
		t.Errorf("the loss takes %v, want the second output of %v:\n%s", g.Loss, g.Outputs, g)
	}
}
