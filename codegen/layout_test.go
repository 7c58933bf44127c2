package codegen_test

import (
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/ir/irtest"
	"github.com/nngen/nngen/passes"
)

// largeModels are networks whose Model runs past 16 MiB, where Go's arm64
// assembler cannot build a load or store of two adjacent float32, float64
// or int32 numbers (see layout.go): a first layer of 16 or 32 MiB, then
// layers of one output whose weights, biases, gradients, optimizer state
// and scratch values hold a single number each.
func largeModels(t *testing.T) map[string]*ir.Graph {
	optimizer := func(g *ir.Graph, kind string, settings map[string][]float64) *ir.Graph {
		var errs []error
		if g.Optimizer, errs = ir.NewOptimizer(kind, settings, ir.Pos{}); errs != nil {
			t.Fatal(errs)
		}
		if err := passes.Run(g, passes.Options{Verify: true}); err != nil {
			t.Fatal(err)
		}
		return g
	}
	return map[string]*ir.Graph{
		// bench/w4: sgd's settings past 16 MiB were the first failure.
		"w4":         planned(t, passes.Options{}, ir.F32, 256, false, 1024, 1024, 1024),
		"tailsgd32":  planned(t, passes.Options{}, ir.F32, 1, true, 4096, 1024, 1, 1, 2),
		"tailadam32": optimizer(irtest.MLP(t, ir.F32, 1, true, 4096, 1024, 1, 1, 2), "adam", map[string][]float64{"lr": {0.01}}),
		"tailnesterov64": optimizer(irtest.MLP(t, ir.F64, 1, true, 2048, 1024, 1, 1, 3), "sgd",
			map[string][]float64{"lr": {0.01}, "momentum": {0.9}, "nesterov": {1}, "weight_decay": {0.001}}),
		"batchadamw64": optimizer(irtest.MLP(t, ir.F64, 8, false, 2048, 1024, 1, 1), "adamw", map[string][]float64{"lr": {0.01}}),
		"infer64":      planned(t, passes.Options{Infer: true}, ir.F64, 1, true, 4096, 1024, 1, 1, 1),
	}
}

// TestLayoutForArm64 checks, with arm64's sizes and alignments, that no two
// fields whose numbers generated code reads at constant offsets meet past
// 16 MiB, that the optimizer's settings come first, and that plain SGD
// updates the parameters one at a time where blank fields split them.
func TestLayoutForArm64(t *testing.T) {
	sizes := types.SizesFor("gc", "arm64")
	for name, g := range largeModels(t) {
		src, pkg := generate(t, g)
		st := pkg.Scope().Lookup("Model").Type().Underlying().(*types.Struct)
		var fs []*types.Var
		for f := range st.Fields() {
			fs = append(fs, f)
		}
		offsets := sizes.Offsetsof(fs)
		if offsets[len(offsets)-1] <= 1<<24 {
			t.Fatalf("%s: Model ends at %d bytes, within 16 MiB", name, offsets[len(offsets)-1])
		}
		// The fields read at a constant offset: those of one number, and
		// the scratch slots that hold a value of one number.
		constFirst := map[string]bool{}
		for i, s := range g.Slots {
			for _, v := range s.Values {
				constFirst["slot"+strconv.Itoa(i)] = constFirst["slot"+strconv.Itoa(i)] || v.Shape.Size() == 1
			}
		}
		blanks := 0
		for i, f := range fs {
			if g.Optimizer != nil && i < len(g.Hypers()) && (f.Name() != codegen.GoName(g.Hypers()[i].Name) || offsets[i] > 1<<20) {
				t.Errorf("%s: field %d is %s at %d; want the setting %s, near the start", name, i, f.Name(), offsets[i], g.Hypers()[i].Name)
			}
			if f.Name() == "_" {
				blanks++
				continue
			}
			if i == 0 || fs[i-1].Name() == "_" || offsets[i-1] < 1<<24 {
				continue
			}
			a, aOne := number(fs[i-1].Type())
			b, bOne := number(f.Type())
			if aOne && (bOne || constFirst[f.Name()]) && types.Identical(a, b) {
				t.Errorf("%s: %s at %d and %s at %d hold %s read at constant offsets, adjacent past 16 MiB", name, fs[i-1].Name(), offsets[i-1], f.Name(), offsets[i], a)
			}
		}
		if blanks == 0 && name != "w4" {
			t.Errorf("%s: no blank field; the model does not test the layout's rule", name)
		}
		if blanks > 0 && g.Loss != nil && !strings.Contains(src, "blank fields between them (zero)") {
			t.Errorf("%s: ParamBlock does not say that it spans blank fields", name)
		}
		if blanks > 0 && g.Optimizer != nil && g.Optimizer.Kind == "sgd" && strings.Contains(src, "kernels.SGD32(m.ParamBlock()") {
			t.Errorf("%s: Step updates every parameter in one pass across blank fields", name)
		}
	}
}

// number is the element type of t, an array of numbers or a number, and
// whether t holds a single one.
func number(t types.Type) (types.Type, bool) {
	n := int64(1)
	for {
		a, ok := t.Underlying().(*types.Array)
		if !ok {
			break
		}
		n *= a.Len()
		t = a.Elem()
	}
	_, basic := t.Underlying().(*types.Basic)
	return t, basic && n == 1
}

// TestLargeModelsBuildForArm64 builds the large models for linux/arm64, as
// a user's module would: the assembler's limit shows only in a build, not
// in a type check or go vet. It needs no arm64 machine.
func TestLargeModelsBuildForArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped with -short")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	write := func(path string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mod, "go.mod"), []byte("module scratch\n\ngo 1.26\n\nrequire github.com/nngen/nngen v0.0.0\n\nreplace github.com/nngen/nngen => "+root+"\n"))
	if sum, err := os.ReadFile(filepath.Join(root, "go.sum")); err == nil {
		write(filepath.Join(mod, "go.sum"), sum)
	}
	for name, g := range largeModels(t) {
		files, err := codegen.Generate(g, codegen.Config{Package: name, Source: "model.nn", Output: "model.nn"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			write(filepath.Join(mod, name, f.Name), f.Data)
		}
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOARCH=arm64 go build: %v\n%s", err, out)
	}
}
