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
