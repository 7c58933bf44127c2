package ir

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// dotGraph builds a one-layer network without bias, x[1,2] -> fc (sigmoid
// fused) -> h[1,1], with an MSE loss, its gradient and an SGD update: every
// phase and every role, in a dozen values. h has a slot, as after planning.
func dotGraph(t *testing.T, weight string) *Graph {
	t.Helper()
	must := func(v *Value, err error) *Value {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	named := func(v *Value, name string) *Value { v.Name = name; return v }
	phased := func(v *Value, p Phase) *Value { v.Phase = p; return v }

	g := New("Net", F32, 1, true)
	x := g.Leaf(OpInput, "x", Shape{1, 2}, Attrs{})
	x.Storage = Storage{Kind: InArg}
	w := g.Leaf(OpParam, weight, Shape{1, 2}, Attrs{})
	h := named(must(g.Add(OpLinear, Attrs{Act: "sigmoid"}, x, w)), "h")
	h.Storage = Storage{Kind: InSlot}
	g.Slots = []Slot{{Size: 1, Values: []*Value{h}}}
	target := phased(g.Leaf(OpInput, "target", Shape{1, 1}, Attrs{}), Loss)
	loss := named(must(g.Add(OpMSE, Attrs{Reduction: ReduceMean}, h, target)), "loss")
	one := phased(g.Leaf(OpConst, "", Shape{}, Attrs{Value: 1}), Backward)
	dh := named(must(g.Add(OpMSEGrad, Attrs{Reduction: ReduceMean}, h, target, one)), "dh")
	dz := named(must(g.Add(OpSigmoidGrad, Attrs{}, dh, h)), "dh.pre")
	dw := named(must(g.Add(OpMatMul, Attrs{TransA: true}, dz, x)), "d"+weight)
	lr := phased(g.Leaf(OpHyper, "lr", Shape{}, Attrs{Value: 0.3}), Update)
	decay := phased(g.Leaf(OpHyper, "weight_decay", Shape{}, Attrs{}), Update)
	named(must(g.Add(OpSGD, Attrs{}, w, dw, lr, decay)), weight)

	g.Outputs = []*Value{h}
	g.Loss = loss
	w.Grad = dw
	var errs []error
	if g.Optimizer, errs = NewOptimizer("sgd", map[string][]float64{"lr": {0.3}}, Pos{}); errs != nil {
		t.Fatal(errs)
	}
	if err := g.Verify(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDOT(t *testing.T) {
	const header = `digraph "Net" {
	graph [rankdir=TB, label=%s, labelloc=t, fontname=Helvetica, fontsize=12, nodesep=0.25, ranksep=0.35];
	node [fontname=Helvetica, fontsize=10, margin="0.16,0.05", height=0.3];
	edge [arrowsize=0.6];
	v0 [label="x = input\nf32[1,2]", shape=ellipse, style="filled", fillcolor="white"];
	v1 [label="fc.weight = param\nf32[1,2]", shape=box3d, style="filled", fillcolor="white"];
	v2 [label="h = linear[act=sigmoid]\nf32[1,1] @slot0\noutput", shape=box, style="rounded,filled", fillcolor="white", penwidth=2];
`
	forward := strings.Replace(header, "%s", `"network Net f32 batch=1 unbatched"`, 1) + `	v0 -> v2;
	v1 -> v2;
}
`
	backward := strings.Replace(header, "%s", `"network Net f32 batch=1 unbatched\noptimizer sgd dampening=0 lr=0.3 momentum=0 nesterov=0 weight_decay=0\nforward white, loss orange, backward blue, update green"`, 1) +
		`	v3 [label="target = input\nf32[1,1]", shape=ellipse, style="filled", fillcolor="#fde2c4"];
	v4 [label="loss = mse[reduction=mean]\nf32[]\nloss", shape=box, style="rounded,filled", fillcolor="#fde2c4", penwidth=2];
	v5 [label="v5 = const[value=1]\nf32[]", shape=octagon, style="filled", fillcolor="#d6e4f5"];
	v6 [label="dh = mse_grad[reduction=mean]\nf32[1,1]", shape=box, style="rounded,filled", fillcolor="#d6e4f5"];
	v7 [label="dh.pre = sigmoid_grad\nf32[1,1]", shape=box, style="rounded,filled", fillcolor="#d6e4f5"];
	v8 [label="dfc.weight = matmul[ta]\nf32[1,2]\ngrad of fc.weight", shape=box, style="rounded,filled", fillcolor="#d6e4f5", penwidth=2];
	v9 [label="lr = hyper[value=0.3]\nf32[]", shape=hexagon, style="filled", fillcolor="#dcefd6"];
	v10 [label="weight_decay = hyper[value=0]\nf32[]", shape=hexagon, style="filled", fillcolor="#dcefd6"];
	v11 [label="fc.weight = sgd\nf32[1,2]", shape=box, style="rounded,filled", fillcolor="#dcefd6"];
	v0 -> v2;
	v1 -> v2;
	v2 -> v4 [color="#b86e1f"];
	v3 -> v4 [color="#b86e1f"];
	v2 -> v6 [color="#3d6fa8"];
	v3 -> v6 [color="#3d6fa8"];
	v5 -> v6 [color="#3d6fa8"];
	v6 -> v7 [color="#3d6fa8"];
	v2 -> v7 [color="#3d6fa8"];
	v7 -> v8 [color="#3d6fa8"];
	v0 -> v8 [color="#3d6fa8"];
	v1 -> v11 [color="#4a8a3c"];
	v8 -> v11 [color="#4a8a3c"];
	v9 -> v11 [color="#4a8a3c"];
	v10 -> v11 [color="#4a8a3c"];
}
`
	g := dotGraph(t, "fc.weight")
	if got := g.DOT(DOTOptions{}); got != forward {
		t.Errorf("forward:\n%s\nwant:\n%s", got, forward)
	}
	if got := g.DOT(DOTOptions{Backward: true}); got != backward {
		t.Errorf("backward:\n%s\nwant:\n%s", got, backward)
	}
	checkDOT(t, backward)
}

func TestDOTDeterministic(t *testing.T) {
	for _, opts := range []DOTOptions{{}, {Backward: true}} {
		first := dotGraph(t, "fc.weight").DOT(opts)
		for range 10 {
			if got := dotGraph(t, "fc.weight").DOT(opts); got != first {
				t.Fatalf("%+v: two renderings of the same graph differ:\n%s\n---\n%s", opts, first, got)
			}
		}
	}
}

func TestDOTEscapes(t *testing.T) {
	const name = `a"b\c&d.e` + "\nf"
	g := dotGraph(t, name)
	g.Name = `My "Net"`
	got := g.DOT(DOTOptions{Backward: true})
	for _, want := range []string{
		`digraph "My \"Net\"" {`,
		`label="network My \"Net\" f32 batch=1 unbatched\n`,
		`v1 [label="a\"b\\c&amp;d.e\nf = param\nf32[1,2]"`,
		`\ngrad of a\"b\\c&amp;d.e\nf", shape=box`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in:\n%s", want, got)
		}
	}
	svg := checkDOT(t, got)
	// Graphviz shows the name as it is: the label's line break splits it
	// into two text elements, and SVG escapes the quote and the ampersand.
	if svg != "" && !strings.Contains(svg, `>a&quot;b\c&amp;d.e</text>`) {
		t.Errorf("Graphviz does not show the name as it is:\n%s", svg)
	}
}

// checkDOT lets Graphviz parse dot, where it is installed, and returns the SVG.
func checkDOT(t *testing.T, dot string) string {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		t.Log("dot (Graphviz) is not installed: not checking that it accepts the output")
		return ""
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}
