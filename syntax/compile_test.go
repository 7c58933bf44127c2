package syntax

import (
	"errors"
	"slices"
	"testing"

	"github.com/nngen/nngen/ir"
)

const tutorial = `# The tutorial network (PyTorch: Linear(4,5)+sigmoid, Linear(5,7)+sigmoid, Linear(7,3), MSE, SGD lr=0.3)
network MyModel
input x[4]
layer1 = linear(x, 5)
h1 = sigmoid(layer1)
layer2 = linear(h1, 7)
h2 = sigmoid(layer2)
layer3 = linear(h2, 3)
output layer3
loss mse(layer3, target[3])
optimizer sgd(lr=0.3)
`

// compile compiles src as model.nn and checks the graph it must produce.
func compile(t *testing.T, src string) *ir.Graph {
	t.Helper()
	g, err := Compile("model.nn", []byte(src))
	if err != nil {
		t.Fatalf("Compile:\n%v", err)
	}
	if err := g.Verify(); err != nil {
		t.Fatalf("Verify:\n%v\ngraph:\n%s", err, g)
	}
	return g
}

func TestTutorial(t *testing.T) {
	g := compile(t, tutorial)
	want := `network MyModel f32 batch=1 unbatched
# forward
v0 = input <f32[1,4]> "x"
v1 = param[fan_in=4] <f32[5,4]> "layer1.weight"
v2 = param[fan_in=4] <f32[5]> "layer1.bias"
v3 = matmul[tb] <f32[1,5]> v0 v1
v4 = add <f32[1,5]> v3 v2 "layer1"
v5 = sigmoid <f32[1,5]> v4 "h1"
v6 = param[fan_in=5] <f32[7,5]> "layer2.weight"
v7 = param[fan_in=5] <f32[7]> "layer2.bias"
v8 = matmul[tb] <f32[1,7]> v5 v6
v9 = add <f32[1,7]> v8 v7 "layer2"
v10 = sigmoid <f32[1,7]> v9 "h2"
v11 = param[fan_in=7] <f32[3,7]> "layer3.weight"
v12 = param[fan_in=7] <f32[3]> "layer3.bias"
v13 = matmul[tb] <f32[1,3]> v10 v11
v14 = add <f32[1,3]> v13 v12 "layer3"
# loss
v15 = input <f32[1,3]> "target"
v16 = mse[reduction=mean] <f32[]> v14 v15 "loss"
output v14
loss v16
optimizer sgd dampening=0 lr=0.3 momentum=0 nesterov=0 weight_decay=0
`
	if got := g.String(); got != want {
		t.Errorf("graph:\n%s\nwant:\n%s", got, want)
	}
}

// TestPositions checks that values remember where the source defined them,
// for the errors that later stages report.
func TestPositions(t *testing.T) {
	g := compile(t, tutorial)
	at := func(line, col int) ir.Pos { return ir.Pos{File: "model.nn", Line: line, Col: col} }
	byName := map[string]*ir.Value{}
	for _, v := range g.Values {
		byName[v.Name] = v
	}
	for name, want := range map[string]ir.Pos{
		"x":             at(3, 7),
		"layer1.weight": at(4, 1),
		"layer1.bias":   at(4, 1),
		"layer1":        at(4, 1),
		"h1":            at(5, 1),
		"target":        at(10, 18),
		"loss":          at(10, 1),
	} {
		if v := byName[name]; v == nil || v.Pos != want {
			t.Errorf("%s: position %v, want %v", name, v.Pos, want)
		}
	}
	if got := g.Optimizer.Pos; got != at(11, 1) {
		t.Errorf("optimizer: position %v, want %v", got, at(11, 1))
	}
	if byName["target"].Phase != ir.Loss || g.Loss.Phase != ir.Loss {
		t.Errorf("target and loss must be in the loss phase")
	}
}

func TestVariants(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{{
		name: "batch, float64, bias=False, linear(x, in, out), sum",
		src: `network Batched
batch 8
dtype float64
input x[4]
hidden = linear(x, 4, 5, bias=False)
out = sigmoid(hidden)
output out
loss mse(out, y[5], reduction=sum)
optimizer sgd(lr=1e-3)
`,
		want: `network Batched f64 batch=8
# forward
v0 = input <f64[8,4]> "x"
v1 = param[fan_in=4] <f64[5,4]> "hidden.weight"
v2 = matmul[tb] <f64[8,5]> v0 v1 "hidden"
v3 = sigmoid <f64[8,5]> v2 "out"
# loss
v4 = input <f64[8,5]> "y"
v5 = mse[reduction=sum] <f64[]> v3 v4 "loss"
output v3
loss v5
optimizer sgd dampening=0 lr=0.001 momentum=0 nesterov=0 weight_decay=0
`,
	}, {
		name: "inference only; header statements anywhere; comments, blank lines, CRLF",
		src:  "input x[2]  # features\r\n\r\ny = linear(x, 1, bias=True)\r\noutput y\r\ndtype float32\r\nbatch 1\r\nnetwork Tiny\r\n",
		want: `network Tiny f32 batch=1
# forward
v0 = input <f32[1,2]> "x"
v1 = param[fan_in=2] <f32[1,2]> "y.weight"
v2 = param[fan_in=2] <f32[1]> "y.bias"
v3 = matmul[tb] <f32[1,1]> v0 v1
v4 = add <f32[1,1]> v3 v2 "y"
output v4
`,
	}, {
		name: "the output may be the input; a byte order mark is ignored",
		src:  "\uFEFFnetwork Identity\ninput x[3]\noutput x",
		want: `network Identity f32 batch=1 unbatched
# forward
v0 = input <f32[1,3]> "x"
output v0
`,
	}}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := compile(t, test.src).String(); got != test.want {
				t.Errorf("graph:\n%s\nwant:\n%s", got, test.want)
			}
		})
	}
}

func TestErrorListFormat(t *testing.T) {
	_, err := Compile("m.nn", []byte("network A\nnetwork B\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("got %#v, want an ErrorList of 3", err)
	}
	want := "m.nn:1:1: missing input statement; add one like: input x[4]\n" +
		"m.nn:1:1: missing output statement; add one like: output y\n" +
		"m.nn:2:1: duplicate network statement; first at m.nn:1:1"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	if got := list[2].Pos; got != (ir.Pos{File: "m.nn", Line: 2, Col: 1}) {
		t.Errorf("position %v", got)
	}
}

// TestNumberedNames: a dotted part of a name may be a number, as
// nn.ModuleList and nn.TransformerEncoder name their layers (layers.0),
// so that a layer's parameters take PyTorch's state_dict names.
func TestNumberedNames(t *testing.T) {
	g := compile(t, `network N
input x[4]
layers.0 = linear(x, 3)
layers.1 = linear(layers.0, 2)
output layers.1
`)
	var names []string
	for _, v := range g.Values {
		if v.Op == ir.OpParam {
			names = append(names, v.Name)
		}
	}
	if want := []string{"layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"}; !slices.Equal(names, want) {
		t.Errorf("parameters %v, want %v", names, want)
	}
	// A part is a word or a number: layers.0x is layers.0, then x.
	_, err := Compile("m.nn", []byte("network N\ninput x[4]\nlayers.0 = linear(x, 3)\ny = linear(layers.0x, 2)\noutput y\n"))
	if want := `m.nn:4:20: expected ')' after arguments, found "x"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
