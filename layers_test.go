package nngen_test

import (
	"os/exec"
	"strings"
	"testing"
)

// layers orders nngen's packages as the pipeline does, the libraries that
// generated code imports at the bottom: a package may import only packages
// of lower layers (and the standard library and modules). golden, bench and
// examples sit on top and may import anything.
var layers = [][]string{
	{"runtime/nnrt", "onnx/onnxpb"},
	{"runtime/kernels", "runtime/safetensors", "runtime/cuda"},
	{"runtime/dist"}, // its NCCL works on runtime/cuda's Programs
	{"ir"},
	{"ir/irtest", "syntax"},
	{"onnx"}, // reads losses and optimizers through syntax
	{"passes"},
	{"codegen"},
	{"cudagen"}, // shares codegen's plumbing
	{""},        // package nngen
	{"cmd/nngen"},
}

// TestLayers checks that no nngen package imports one above it in the
// pipeline (go list).
func TestLayers(t *testing.T) {
	const module = "github.com/nngen/nngen"
	layer := map[string]int{}
	for i, pkgs := range layers {
		for _, p := range pkgs {
			layer[strings.TrimSuffix(module+"/"+p, "/")] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		from, ok := layer[fields[0]]
		if !ok {
			if !strings.HasPrefix(fields[0], module+"/golden") && !strings.HasPrefix(fields[0], module+"/bench") && !strings.HasPrefix(fields[0], module+"/examples") {
				t.Errorf("package %s has no layer; add it to layers", fields[0])
			}
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			if to, ours := layer[imp]; ours && to >= from {
				t.Errorf("%s imports %s, which is not below it", fields[0], imp)
			} else if !ours && strings.HasPrefix(imp, module) {
				t.Errorf("%s imports %s, which has no layer", fields[0], imp)
			}
		}
	}
	if seen != len(layer) {
		t.Errorf("go list listed %d of the %d packages of layers", seen, len(layer))
	}
}
