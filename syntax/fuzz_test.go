package syntax

import (
	"errors"
	"testing"

	"github.com/nngen/nngen/ir"
)

// FuzzCompile checks that any input gives either a graph that passes
// Verify or a non-empty list of positioned errors, never a panic, and the
// same result every time.
func FuzzCompile(f *testing.F) {
	f.Add([]byte(tutorial))
	f.Add([]byte("network B\nbatch 8\ndtype float64\ninput x[4]\nh = linear(x, 4, 5, bias=false)\noutput h\nloss mse(h, t[5], reduction=sum)\noptimizer sgd(lr=1e-3)\n"))
	f.Add([]byte("network A\nbatch 2\ninput x[3]\na = linear(x, 4)\nr = relu(a)\nt = tanh(r)\nl = leaky_relu(t, negative_slope=0.2)\n" +
		"g = gelu(l, approximate=tanh)\np = softmax(g, dim=-1)\nsame = identity(p)\noutput same\n" +
		"loss cross_entropy(same, label, reduction=sum)\noptimizer adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)\n"))
	f.Add([]byte("network B\ninput x[4]\nh = linear(x, 2, bias=True)\ns = softmax(h, 0)\noutput s\nloss bce_with_logits(h, p)\n" +
		"optimizer sgd(lr=0.1, momentum=0.9, dampening=0, nesterov=true, weight_decay=1e-4)\n"))
	f.Add([]byte("network C\ninput x[4]\nh = linear(x, 2)\nk = leaky_relu(h, 0.3)\noutput k\nloss l1(k, t[2], reduction=mean)\noptimizer adam(betas=(0.5, 0.9))\n"))
	f.Add([]byte("network S\nbatch 2\ninput x[8]\na, b = split(x, 4, dim=1)\nc, d, e = split(x, sizes=(2, 3, 3))\nf, g = chunk(x, 2)\nh = a * b + f - g + slice(cat(c, d, e, dim=1), start=0, end=4)\noutput h\nloss mse(h, t[4])\noptimizer sgd(lr=0.1)\n"))
	for _, test := range errorTests {
		f.Add([]byte(test.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := Compile("fuzz.nn", src)
		g2, err2 := Compile("fuzz.nn", src)
		if describe(g, err) != describe(g2, err2) {
			t.Fatalf("two compilations differ:\n%s\n%s", describe(g, err), describe(g2, err2))
		}
		if err == nil {
			if g == nil {
				t.Fatal("no graph and no error")
			}
			if err := g.Verify(); err != nil {
				t.Fatalf("Verify: %v\n%s", err, g)
			}
			return
		}
		if g != nil {
			t.Fatal("a graph together with errors")
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %v is not a non-empty ErrorList", err)
		}
		for _, e := range list {
			if e.Pos.File != "fuzz.nn" || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Errorf("badly positioned error %q at %#v", e.Msg, e.Pos)
			}
		}
	})
}

func describe(g *ir.Graph, err error) string {
	if err != nil {
		return err.Error()
	}
	return g.String()
}
