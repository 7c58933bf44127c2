package passes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/syntax"
)

func TestFuseTutorial(t *testing.T) {
	g := mlp(t, 1, 4, 5, 7, 3)
	runUpTo(t, g, "fuse", Options{})
	want := `v3 = linear[act=sigmoid] <f64[1,5]> v0 v1 v2 "h1"
v7 = linear[act=sigmoid] <f64[1,7]> v3 v5 v6 "h2"
v11 = linear <f64[1,3]> v7 v9 v10 "layer3"`
	var got []string
	for _, v := range g.Values {
		if v.Op == ir.OpLinear {
			got = append(got, v.LongString())
		}
	}
	if s := strings.Join(got, "\n"); s != want {
		t.Errorf("after fuse:\n%s\nwant:\n%s", s, want)
	}
	if n := count(g, ir.OpSigmoid); n != 0 {
		t.Errorf("%d sigmoids left", n)
	}
}

func TestFuseNeedsSoleUse(t *testing.T) {
	// layer1 is an output and feeds the sigmoid: its pre-activation values
	// must stay, so fusing would be wrong.
	g := mlp(t, 1, 4, 5, 3)
	var layer1 *ir.Value
	for _, v := range g.Values {
		if v.Name == "layer1" {
			layer1 = v
		}
	}
	g.Outputs = append(g.Outputs, layer1)
	runUpTo(t, g, "fuse", Options{})
	if layer1.Act != "" || count(g, ir.OpSigmoid) != 1 {
		t.Errorf("fused a linear with two uses:\n%s", g)
	}
}

func TestNoFuse(t *testing.T) {
	g := mlp(t, 1, 4, 5, 3)
	runUpTo(t, g, "fuse", Options{NoFuse: true})
	if count(g, ir.OpSigmoid) != 1 {
		t.Errorf("fused with NoFuse:\n%s", g)
	}
}

// Every activation whose gradient comes from its output folds into the
// linear before it, in training and in inference, with its attributes; so
// does gelu when nothing needs its input, in an inference graph.
func TestFuseEachActivation(t *testing.T) {
	tests := []struct {
		act   ir.Op
		attrs ir.Attrs
		infer bool
		want  string
	}{
		{act: ir.OpSigmoid, want: "linear[act=sigmoid]"},
		{act: ir.OpReLU, want: "linear[act=relu]"},
		{act: ir.OpTanh, want: "linear[act=tanh]"},
		{act: ir.OpLeakyReLU, attrs: ir.Attrs{Alpha: 0.2}, want: "linear[act=leaky_relu,alpha=0.2]"},
		{act: ir.OpLeakyReLU, attrs: ir.Attrs{Alpha: 0}, want: "linear[act=leaky_relu,alpha=0]"},
		{act: ir.OpSoftmax, want: "linear[act=softmax]"},
		{act: ir.OpReLU, infer: true, want: "linear[act=relu]"},
		{act: ir.OpLeakyReLU, attrs: ir.Attrs{Alpha: 0.01}, infer: true, want: "linear[act=leaky_relu,alpha=0.01]"},
		{act: ir.OpGELU, infer: true, want: "linear[act=gelu]"},
		{act: ir.OpGELU, attrs: ir.Attrs{Approx: ir.ApproxTanh}, infer: true, want: "linear[act=gelu,approx=tanh]"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %+v infer=%v", tt.act, tt.attrs, tt.infer), func(t *testing.T) {
			g := actNet(t, tt.act, tt.attrs, ir.OpMSE)
			runUpTo(t, g, "fuse", Options{Infer: tt.infer})
			// The linear takes the activation's name and place: layer2
			// reads it, and no activation is left.
			want := `v0 = input <f64[2,3]> "x"
v1 = param <f64[4,3]> "layer1.weight"
v2 = param <f64[4]> "layer1.bias"
v3 = ` + tt.want + ` <f64[2,4]> v0 v1 v2 "h1"
v5 = param <f64[2,4]> "layer2.weight"
v6 = param <f64[2]> "layer2.bias"
v7 = linear <f64[2,2]> v3 v5 v6 "layer2"`
			if got := section(g, ir.Forward); got != want {
				t.Errorf("forward after fuse:\n%s\nwant:\n%s", got, want)
			}
			if v := g.Values[3]; v.Also != nil || v.Alpha != tt.attrs.Alpha || v.Approx != tt.attrs.Approx {
				t.Errorf("fused linear %s: also %v, alpha %v, approx %s", v.LongString(), v.Also, v.Alpha, v.Approx)
			}
		})
	}
}

// In training, gelu's gradient needs the pre-activation, so the linear
// keeps it and computes gelu in the same loop (Also); the gelu is then
// scheduled right after the linear, even where the source put it later.
func TestFuseGELUInTraining(t *testing.T) {
	for _, approx := range []ir.Approx{ir.ApproxNone, ir.ApproxTanh} {
		g := actNet(t, ir.OpGELU, ir.Attrs{Approx: approx}, ir.OpMSE)
		// layer2's parameters between layer1 and its gelu, as a .nn
		// file may order them.
		v := g.Values
		g.Values = append([]*ir.Value{v[0], v[1], v[2], v[3], v[5], v[6], v[4]}, v[7:]...)
		if err := g.Verify(); err != nil {
			t.Fatal(err)
		}
		runUpTo(t, g, "fuse", Options{})
		gelu := "gelu"
		if approx != ir.ApproxNone {
			gelu += "[approx=" + approx.String() + "]"
		}
		want := `v0 = input <f64[2,3]> "x"
v1 = param <f64[4,3]> "layer1.weight"
v2 = param <f64[4]> "layer1.bias"
v3 = linear[also=v4] <f64[2,4]> v0 v1 v2 "layer1"
v4 = ` + gelu + ` <f64[2,4]> v3 "h1"
v5 = param <f64[2,4]> "layer2.weight"
v6 = param <f64[2]> "layer2.bias"
v7 = linear <f64[2,2]> v4 v5 v6 "layer2"`
		if got := section(g, ir.Forward); got != want {
			t.Errorf("approx %s: forward after fuse:\n%s\nwant:\n%s", approx, got, want)
		}
		if l := g.Values[3]; l.Act != "" || l.Also != g.Values[4] {
			t.Errorf("approx %s: the linear is %s", approx, l.LongString())
		}
	}
}

// Also, like Act, needs the linear's sole use: a linear that is also an
// output keeps its gelu separate.
func TestFuseGELUNeedsSoleUse(t *testing.T) {
	g := actNet(t, ir.OpGELU, ir.Attrs{}, ir.OpMSE)
	layer1 := g.Values[3]
	g.Outputs = append(g.Outputs, layer1)
	runUpTo(t, g, "fuse", Options{})
	if layer1.Act != "" || layer1.Also != nil || count(g, ir.OpGELU) != 1 {
		t.Errorf("fused a linear with two uses:\n%s", g)
	}
}

func TestNoFuseKeepsEveryActivation(t *testing.T) {
	for act := range ir.Activations() {
		g := actNet(t, act, ir.Attrs{}, ir.OpMSE)
		runUpTo(t, g, "fuse", Options{NoFuse: true})
		if count(g, act) != 1 || g.Values[3].Act != "" || g.Values[3].Also != nil {
			t.Errorf("%s fused with NoFuse:\n%s", act, g)
		}
	}
}

// Two activations in a row: the first folds into the linear, the second
// stays, as it reads a linear that already has one.
func TestFuseOneActivationPerLinear(t *testing.T) {
	g := actNet(t, ir.OpReLU, ir.Attrs{}, ir.OpMSE)
	h1 := g.Values[4]
	th, err := g.Add(ir.OpTanh, ir.Attrs{}, h1)
	if err != nil {
		t.Fatal(err)
	}
	// Schedule tanh right after relu and make layer2 read it.
	g.Values = append(g.Values[:5], append([]*ir.Value{th}, g.Values[5:len(g.Values)-1]...)...)
	g.Values[8].Args[0] = th
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	runUpTo(t, g, "fuse", Options{})
	if l := g.Values[3]; l.Act != "relu" || count(g, ir.OpTanh) != 1 || th.Args[0] != l {
		t.Errorf("after fuse:\n%s", g)
	}
}

// A convolution absorbs the elementwise activation after it, as a linear
// layer does (its gradient then goes through the activation's rule on
// the convolution's output), but neither softmax, whose rows span the
// channels, nor in training gelu, whose gradient needs the sums.
func TestFuseConv(t *testing.T) {
	for _, tc := range []struct {
		act   string
		fused bool
	}{{"relu(c)", true}, {"tanh(c)", true}, {"softmax(c, dim=1)", false}, {"gelu(c)", false}} {
		src := fmt.Sprintf(`network FuseConv
batch 2
input x[1, 6, 6]
c = conv2d(x, 3, kernel=3)
h = %s
f = flatten(h)
out = linear(f, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
`, tc.act)
		g, err := syntax.Compile("model.nn", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.act, err)
		}
		runUpTo(t, g, "fuse", Options{})
		var conv *ir.Value
		for _, v := range g.Values {
			if v.Op == ir.OpConv {
				conv = v
			}
		}
		if got := conv.Act != ""; got != tc.fused {
			t.Errorf("%s: conv fused %q, want fused %v:\n%s", tc.act, conv.Act, tc.fused, g)
		}
	}
}
