package syntax

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// TestLosses compiles every loss, its target bare or with its size, after
// a batched network and after one without a batch dimension.
func TestLosses(t *testing.T) {
	const batched = "network L\nbatch 3\ninput x[4]\ny = linear(x, 2, bias=false)\noutput y\n"
	const batchedGraph = `network L f32 batch=3
# forward
v0 = input <f32[3,4]> "x"
v1 = param[fan_in=4] <f32[2,4]> "y.weight"
v2 = matmul[tb] <f32[3,2]> v0 v1 "y"
# loss
`
	const unbatched = "network L\ndtype float64\ninput x[4]\ny = linear(x, 2, bias=false)\noutput y\n"
	const unbatchedGraph = `network L f64 batch=1 unbatched
# forward
v0 = input <f64[1,4]> "x"
v1 = param[fan_in=4] <f64[2,4]> "y.weight"
v2 = matmul[tb] <f64[1,2]> v0 v1 "y"
# loss
`
	tests := []struct {
		header, graph string
		loss, want    string
	}{
		{batched, batchedGraph, "loss mse(y, target)", `v3 = input <f32[3,2]> "target"
v4 = mse[reduction=mean] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss mse(y, target[2], reduction=sum)", `v3 = input <f32[3,2]> "target"
v4 = mse[reduction=sum] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss l1(y, t)", `v3 = input <f32[3,2]> "t"
v4 = l1[reduction=mean] <f32[]> v2 v3 "loss"`},
		{unbatched, unbatchedGraph, "loss l1(y, t[2], reduction=sum)", `v3 = input <f64[1,2]> "t"
v4 = l1[reduction=sum] <f64[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss bce_with_logits(y, p)", `v3 = input <f32[3,2]> "p"
v4 = bce_with_logits[reduction=mean] <f32[]> v2 v3 "loss"`},
		{unbatched, unbatchedGraph, "loss bce_with_logits(y, p[2], reduction=mean)", `v3 = input <f64[1,2]> "p"
v4 = bce_with_logits[reduction=mean] <f64[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss cross_entropy(y, label)", `v3 = input <int[3]> "label"
v4 = cross_entropy[reduction=mean,ignore_index=-100] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss cross_entropy(y, label, weight=(1, 0.5), ignore_index=1, label_smoothing=0.2)", `v3 = input <int[3]> "label"
v4 = cross_entropy[reduction=mean,weight=[1,0.5],ignore_index=1,label_smoothing=0.2] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss nll_loss(y, label, reduction=sum, weight=(2, 3))", `v3 = input <int[3]> "label"
v4 = nll_loss[reduction=sum,weight=[2,3],ignore_index=-100] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss smooth_l1(y, t)", `v3 = input <f32[3,2]> "t"
v4 = smooth_l1[reduction=mean,beta=1] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, "loss smooth_l1(y, t, beta=0)", `v3 = input <f32[3,2]> "t"
v4 = l1[reduction=mean] <f32[]> v2 v3 "loss"`},
		{unbatched, unbatchedGraph, "loss huber(y, t[2], delta=0.25, reduction=sum)", `v3 = input <f64[1,2]> "t"
v4 = huber[reduction=sum,delta=0.25] <f64[]> v2 v3 "loss"`},
		{unbatched, unbatchedGraph, "loss cross_entropy(y, label, reduction=sum)", `v3 = input <int[1]> "label"
v4 = cross_entropy[reduction=sum,ignore_index=-100] <f64[]> v2 v3 "loss"`},
		// Quoted, as PyTorch users write it.
		{batched, batchedGraph, `loss mse(y, target, reduction="sum")`, `v3 = input <f32[3,2]> "target"
v4 = mse[reduction=sum] <f32[]> v2 v3 "loss"`},
		{batched, batchedGraph, `loss l1(y, target, reduction='mean')`, `v3 = input <f32[3,2]> "target"
v4 = l1[reduction=mean] <f32[]> v2 v3 "loss"`},
	}
	for _, test := range tests {
		t.Run(test.loss, func(t *testing.T) {
			g := compile(t, test.header+test.loss+"\n")
			want := test.graph + test.want + "\noutput v2\nloss v4\n"
			if got := g.String(); got != want {
				t.Errorf("graph:\n%s\nwant:\n%s", got, want)
			}
			target := g.Values[3]
			if target.Phase != ir.Loss || target.Pos != (ir.Pos{File: "model.nn", Line: 6, Col: strings.Index(test.loss, ", ") + 3}) {
				t.Errorf("target: phase %v, position %v", target.Phase, target.Pos)
			}
			if g.Loss.Phase != ir.Loss || g.Loss.Pos != (ir.Pos{File: "model.nn", Line: 6, Col: 1}) {
				t.Errorf("loss: phase %v, position %v", g.Loss.Phase, g.Loss.Pos)
			}
		})
	}
}

// TestOptimizers compiles every optimizer with its settings as PyTorch
// names them; the ir package fills in the defaults.
func TestOptimizers(t *testing.T) {
	tests := []struct{ optimizer, want string }{
		{"sgd(lr=0.1)", "sgd dampening=0 lr=0.1 momentum=0 nesterov=0 weight_decay=0"},
		{"sgd(lr=0.1, momentum=0.9, dampening=0, nesterov=true, weight_decay=1e-4)",
			"sgd dampening=0 lr=0.1 momentum=0.9 nesterov=1 weight_decay=0.0001"},
		{"sgd(lr=0.1, momentum=0.9, nesterov=True)", "sgd dampening=0 lr=0.1 momentum=0.9 nesterov=1 weight_decay=0"},
		{"sgd(lr=0.1, momentum=0.5, dampening=0.5, nesterov=False)", "sgd dampening=0.5 lr=0.1 momentum=0.5 nesterov=0 weight_decay=0"},
		{"sgd(lr=0.1, nesterov=false)", "sgd dampening=0 lr=0.1 momentum=0 nesterov=0 weight_decay=0"},
		{"adam()", "adam beta1=0.9 beta2=0.999 eps=1e-08 lr=0.001 weight_decay=0"},
		{"adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)", "adam beta1=0.9 beta2=0.999 eps=1e-08 lr=0.001 weight_decay=0"},
		{"adam(betas=(0, .5), lr=0.01, weight_decay=1e-5)", "adam beta1=0 beta2=0.5 eps=1e-08 lr=0.01 weight_decay=1e-05"},
		{"adamw()", "adamw beta1=0.9 beta2=0.999 eps=1e-08 lr=0.001 weight_decay=0.01"},
		{"adamw(lr=3e-4, betas=(0.8,0.99), eps=1e-6, weight_decay=0)", "adamw beta1=0.8 beta2=0.99 eps=1e-06 lr=0.0003 weight_decay=0"},
	}
	for _, test := range tests {
		t.Run(test.optimizer, func(t *testing.T) {
			g := compile(t, trainable+"optimizer "+test.optimizer+"\n")
			text := g.String()
			if got := text[strings.LastIndex(text[:len(text)-1], "\n")+1:]; got != "optimizer "+test.want+"\n" {
				t.Errorf("got %q, want %q", got, "optimizer "+test.want)
			}
			if got := g.Optimizer.Pos; got != (ir.Pos{File: "model.nn", Line: 6, Col: 1}) {
				t.Errorf("optimizer: position %v", got)
			}
		})
	}
}
