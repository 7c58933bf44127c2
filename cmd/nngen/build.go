package main

import (
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nngen/nngen"
	"github.com/nngen/nngen/ir"
)

func build(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nngen build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", ".", "write the package into `DIR`")
	pkg := fs.String("pkg", "", "Go package `NAME` (default: $GOPACKAGE when writing beside the go:generate line, else DIR's name)")
	infer := fs.Bool("infer", false, "inference only: emit Forward, no loss, gradients or optimizer")
	noFuse := fs.Bool("nofuse", false, "do not fuse activations into linear layers")
	tests := fs.Bool("tests", false, "also write a _test.go that checks the gradients by finite differences and benchmarks the model")
	check := fs.Bool("check", false, "write nothing; exit 1, printing a diff, when the files in DIR differ from what build would write, or DIR holds generated files that build would delete")
	cuda := fs.Bool("cuda", false, "also write the gpu subpackage: CUDA kernels (gpu/model.cu, and gpu/model.ptx from clang-16 or nvcc) and the Go that runs them (docs/cuda.md)")
	dump := fs.String("dump", "", "print the IR `after:PASS` (or after:all) to stdout; passes: "+strings.Join(nngen.PassNames(), ", "))
	batch := fs.Int("batch", 0, "for model.onnx: `N` samples per call, replacing the batch size it was exported with")
	loss := fs.String("loss", "", "for model.onnx: train with this `LOSS`, as in .nn: mse, l1, bce_with_logits, smooth_l1, huber, cross_entropy, nll_loss, with options (reduction=sum, weight=(1, 2), ...) if wanted")
	lossOutput := fs.String("loss-output", "", "for model.onnx of several outputs: the output `NAME` the loss takes (the others stay outputs of Forward)")
	optimizer := fs.String("optimizer", "", "for model.onnx: update with this `OPTIMIZER`, as in .nn: \"sgd(lr=0.1, momentum=0.9)\", adam, adamw")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nngen build [flags] model.nn (or model.onnx)\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		usageError(fs, args, stderr)
		return 2
	}
	model := fs.Arg(0)

	name, err := packageName(*pkg, *out)
	if err != nil {
		fmt.Fprintln(stderr, "nngen:", err)
		return 2
	}
	opts := nngen.Options{Package: name, Infer: *infer, NoFuse: *noFuse, Tests: *tests, Batch: *batch, Loss: *loss, LossOutput: *lossOutput, Optimizer: *optimizer,
		Warn: func(w string) { fmt.Fprintln(stderr, w) }}
	if *cuda {
		if opts.ImportPath, err = importPath(*out); err != nil {
			fmt.Fprintln(stderr, "nngen: -cuda:", err)
			return 2
		}
		opts.CUDA = true
	}
	if *dump != "" {
		after, ok := strings.CutPrefix(*dump, "after:")
		if !ok {
			fmt.Fprintf(stderr, "nngen: -dump=%s: want after:PASS or after:all\n", *dump)
			return 2
		}
		if after != "all" {
			if err := nngen.CheckPassName(after); err != nil {
				fmt.Fprintln(stderr, "nngen: -dump:", err)
				return 2
			}
		}
		opts.Dump = func(pass string, g *ir.Graph) {
			if after == "all" || after == pass {
				fmt.Fprintf(stdout, "# after %s\n%s", pass, g)
			}
		}
	}

	src, err := os.ReadFile(model)
	if err != nil {
		fmt.Fprintln(stderr, "nngen:", err)
		return 1
	}
	files, err := nngen.Build(model, src, opts)
	if err == nil && opts.CUDA {
		files, err = nngen.CompilePTX(files)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *check {
		return checkFiles(*out, filepath.Base(model), files, stdout, stderr)
	}
	if err := write(*out, filepath.Base(model), files, stderr); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "nngen:", line)
		}
		return 1
	}
	if note := moduleNote(*out); note != "" {
		fmt.Fprintln(stderr, note)
	}
	return 0
}

// packageName picks the generated package's name: -pkg, else $GOPACKAGE when
// go generate runs us for the output directory itself, else the directory's
// name made into an identifier.
func packageName(flagValue, dir string) (string, error) {
	name := flagValue
	if name == "" && os.Getenv("GOPACKAGE") != "" && filepath.Clean(dir) == "." {
		name = os.Getenv("GOPACKAGE")
	}
	if name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		name = identifier(filepath.Base(abs))
	}
	if !token.IsIdentifier(name) || name == "_" {
		return "", fmt.Errorf("-pkg %q is not a valid Go package name", name)
	}
	return name, nil
}

// identifier lowercases s and drops what a package name cannot hold.
func identifier(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || token.IsKeyword(b.String()) {
		return "model"
	}
	return b.String()
}

// importPath is the import path of the package in dir, from the go.mod
// above it: the gpu subpackage that -cuda writes imports that package.
func importPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
					rel, err := filepath.Rel(d, abs)
					if err != nil || rel == "." {
						return strings.Trim(f[1], "\"`"), err
					}
					return strings.Trim(f[1], "\"`") + "/" + filepath.ToSlash(rel), nil
				}
			}
			return "", fmt.Errorf("%s has no module line", filepath.Join(d, "go.mod"))
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is in no Go module, so the gpu subpackage cannot import the package there; run go mod init", dir)
		}
	}
}
