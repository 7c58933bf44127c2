package onnx

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/passes"
)

// FuzzCompile feeds Import arbitrary bytes, seeded with the committed
// models and node tests: no input may panic, the same input must give the
// same result, an accepted model must verify and generate code, and a
// rejected one gets errors that each name the file.
//
//	go test ./onnx -run '^$' -fuzz FuzzCompile -fuzztime 5m
func FuzzCompile(f *testing.F) {
	seeds, _ := filepath.Glob("../golden/testdata/onnx/models/*.onnx")
	nodes, _ := filepath.Glob("../golden/testdata/onnx/node/*/model.onnx")
	graphs, _ := filepath.Glob("../golden/testdata/graphs/onnx/*.opset14*.onnx") // shape arithmetic, N-D ops
	for _, path := range slices.Concat(seeds, nodes, graphs) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	if len(seeds) == 0 || len(nodes) == 0 {
		f.Fatal("no models to seed from")
	}
	f.Add(linearSpec().bytes(f), true)
	// Refused for their versions and attributes rather than their graphs.
	f.Add(linearSpec().versions(f, 0), false)
	f.Add(linearSpec().versions(f, 3, opset("", 5)), false)
	nan := linearSpec()
	nan.nodes[0].Attribute[0] = floatAttribute("alpha", float32(math.NaN()))
	f.Add(nan.bytes(f), true)
	f.Fuzz(func(t *testing.T, data []byte, train bool) {
		opts := Options{}
		if train {
			opts = Options{Loss: "mse", Optimizer: "adam(lr=0.01)"}
		}
		m, err := Import("fuzz.onnx", data, opts)
		m2, err2 := Import("fuzz.onnx", data, opts)
		if describe(m, err) != describe(m2, err2) {
			t.Fatalf("two imports differ:\n%s\n%s", describe(m, err), describe(m2, err2))
		}
		if err != nil {
			if m != nil {
				t.Fatal("a model together with errors")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.onnx: ") {
					t.Fatalf("error line without the file: %q", line)
				}
			}
			return
		}
		if err := m.Graph.Verify(); err != nil {
			t.Fatalf("Verify: %v\n%s", err, m.Graph)
		}
		if err := passes.Run(m.Graph, passes.Options{Verify: true}); err != nil {
			if strings.HasPrefix(err.Error(), "fuzz.onnx: ") {
				return // about the model, as passes find (a loss no parameter affects)
			}
			t.Fatalf("passes: %v\n%s", err, m.Graph)
		}
		cfg := codegen.Config{Package: "model", Source: "fuzz.onnx", Output: "fuzz.onnx"}
		if _, err := codegen.Generate(m.Graph, cfg); err != nil {
			if strings.Contains(err.Error(), "would both be the Go field") || strings.Contains(err.Error(), "GiB") {
				return // names that Go cannot tell apart, or a model too large: reported to the user
			}
			t.Fatalf("codegen: %v\n%s", err, m.Graph)
		}
		if _, err := codegen.Pretrained(m.Graph, cfg, m.Weights); err != nil {
			t.Fatalf("codegen.Pretrained: %v", err)
		}
	})
}

func describe(m *Model, err error) string {
	if err != nil {
		return err.Error()
	}
	return m.Graph.String()
}
