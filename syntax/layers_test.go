package syntax

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// TestActivations compiles every activation, each spelling of its
// settings, and identity's alias, which adds no value.
func TestActivations(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{{
		name: "batched",
		src: `network Activations
batch 2
input x[3]
a = linear(x, 4)
r = relu(a)
th = tanh(r)
s = sigmoid(th)
l1 = leaky_relu(s)
l2 = leaky_relu(l1, 0.2)
l3 = leaky_relu(l2, negative_slope=0)
l4 = leaky_relu(l3, negative_slope=-0)
g1 = gelu(l4)
g2 = gelu(g1, approximate=tanh)
g3 = gelu(g2, approximate=none)
p1 = softmax(g3)
p2 = softmax(p1, dim=-1)
p3 = softmax(p2, 1)
p4 = softmax(p3, dim=1)
same = identity(p4)
output same
`,
		want: `network Activations f32 batch=2
# forward
v0 = input <f32[2,3]> "x"
v1 = param[fan_in=3] <f32[4,3]> "a.weight"
v2 = param[fan_in=3] <f32[4]> "a.bias"
v3 = matmul[tb] <f32[2,4]> v0 v1
v4 = add <f32[2,4]> v3 v2 "a"
v5 = relu <f32[2,4]> v4 "r"
v6 = tanh <f32[2,4]> v5 "th"
v7 = sigmoid <f32[2,4]> v6 "s"
v8 = leaky_relu[alpha=0.01] <f32[2,4]> v7 "l1"
v9 = leaky_relu[alpha=0.2] <f32[2,4]> v8 "l2"
v10 = leaky_relu[alpha=0] <f32[2,4]> v9 "l3"
v11 = leaky_relu[alpha=0] <f32[2,4]> v10 "l4"
v12 = gelu <f32[2,4]> v11 "g1"
v13 = gelu[approx=tanh] <f32[2,4]> v12 "g2"
v14 = gelu <f32[2,4]> v13 "g3"
v15 = softmax <f32[2,4]> v14 "p1"
v16 = softmax <f32[2,4]> v15 "p2"
v17 = softmax <f32[2,4]> v16 "p3"
v18 = softmax <f32[2,4]> v17 "p4"
output v18
`,
	}, {
		name: "unbatched softmax over dim 0",
		src: `network Unbatched
input x[3]
p1 = softmax(x, dim=0)
p2 = softmax(p1, 0)
p3 = softmax(p2, -1)
output p3
`,
		want: `network Unbatched f32 batch=1 unbatched
# forward
v0 = input <f32[1,3]> "x"
v1 = softmax <f32[1,3]> v0 "p1"
v2 = softmax <f32[1,3]> v1 "p2"
v3 = softmax <f32[1,3]> v2 "p3"
output v3
`,
	}, {
		name: "identity: aliases work in layers, output and loss",
		src: `network Alias
input x[4]
same = identity(x)
h = linear(same, 3)
also = identity(h)
again = identity(also)
z = relu(again)
output also
loss mse(z, t)
`,
		want: `network Alias f32 batch=1 unbatched
# forward
v0 = input <f32[1,4]> "x"
v1 = param[fan_in=4] <f32[3,4]> "h.weight"
v2 = param[fan_in=4] <f32[3]> "h.bias"
v3 = matmul[tb] <f32[1,3]> v0 v1
v4 = add <f32[1,3]> v3 v2 "h"
v5 = relu <f32[1,3]> v4 "z"
# loss
v6 = input <f32[1,3]> "t"
v7 = mse[reduction=mean] <f32[]> v5 v6 "loss"
output v4
loss v7
`,
	}, {
		name: "layer_norm: over the last axis, over two with a non-default eps, without affine",
		src: `network LN
batch 2
input x[4, 8]
a = layer_norm(x, 8)
b = layer_norm(a, (4, 8), eps=1e-3)
c = layer_norm(b, 8, elementwise_affine=false)
output c
`,
		want: `network LN f32 batch=2
# forward
v0 = input <f32[2,4,8]> "x"
v1 = param[init=ones] <f32[8]> "a.weight"
v2 = param[init=zeros] <f32[8]> "a.bias"
v3 = layer_norm[eps=1e-05,axes=[2]] <f32[2,4,8]> v0 v1 v2 "a"
v4 = param[init=ones] <f32[4,8]> "b.weight"
v5 = param[init=zeros] <f32[4,8]> "b.bias"
v6 = layer_norm[eps=0.001,axes=[1,2]] <f32[2,4,8]> v3 v4 v5 "b"
v7 = layer_norm[eps=1e-05,axes=[2]] <f32[2,4,8]> v6 "c"
output v7
`,
	}, {
		name: "dropout: the mask, named after the layer, and a mul",
		src: `network D
batch 2
input x[3]
a = dropout(x)
b = dropout(a, 0.2)
c = dropout(b, p=1)
output c
`,
		want: `network D f32 batch=2
# forward
v0 = input <f32[2,3]> "x"
v1 = dropout_mask[p=0.5] <f32[2,3]> v0 "a.mask"
v2 = mul <f32[2,3]> v0 v1 "a"
v3 = dropout_mask[p=0.2] <f32[2,3]> v2 "b.mask"
v4 = mul <f32[2,3]> v2 v3 "b"
v5 = dropout_mask[p=1] <f32[2,3]> v4 "c.mask"
v6 = mul <f32[2,3]> v4 v5 "c"
output v6
`,
	}, {
		name: "identity of the input is the input",
		src:  "network I\ninput x[2]\ny = identity(x)\noutput y\n",
		want: `network I f32 batch=1 unbatched
# forward
v0 = input <f32[1,2]> "x"
output v0
`,
	}}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			g := compile(t, test.src)
			if got := g.String(); got != test.want {
				t.Errorf("graph:\n%s\nwant:\n%s", got, test.want)
			}
			// Every layer is positioned at the start of the line naming it.
			lines := strings.Split(test.src, "\n")
			for _, v := range g.Values {
				if v.Op == ir.OpInput || v.Op == ir.OpParam || v.Phase != ir.Forward || v.Name == "" {
					continue // unnamed: a part of a layer, such as linear's matmul
				}
				want := ir.Pos{File: "model.nn", Col: 1}
				for i, line := range lines {
					if strings.HasPrefix(line, strings.TrimSuffix(v.Name, ".mask")+" = ") { // a dropout's mask: at its layer
						want.Line = i + 1
					}
				}
				if v.Pos != want {
					t.Errorf("%s: position %v, want %v", v.LongString(), v.Pos, want)
				}
			}
		})
	}
}
