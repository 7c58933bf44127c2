// Package nngen compiles a neural network described in a .nn file into a Go
// package with fixed shapes: forward, loss, gradients and the optimizer
// update as plain Go, with no graph or interpreter at run time.
//
// Most users run the command, cmd/nngen, from a //go:generate line. Build
// is the same pipeline as a function: source in, files out, no file I/O.
package nngen

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/cudagen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx"
	"github.com/nngen/nngen/passes"
	"github.com/nngen/nngen/runtime/kernels"
	"github.com/nngen/nngen/syntax"
)

// Options control a build.
type Options struct {
	Package string // Go package name of the generated code
	Infer   bool   // emit forward only: no loss, gradients or optimizer
	NoFuse  bool   // keep activations out of linear layers (for checking fusion)
	Tests   bool   // also emit a _test.go: finite-difference gradient check, allocations, benchmarks
	// Dump, if set, sees the IR after every pass.
	Dump func(pass string, g *ir.Graph)
	// Warn, if set, receives each warning about a model that builds but is
	// most likely not what its author meant ("file:line:col: warning: ...").
	Warn func(warning string)

	// For an .onnx model, which holds the network alone (a .nn file says
	// these itself): the batch size, replacing the exported one; and the
	// loss and optimizer to train with, written as in a .nn file:
	// "cross_entropy", "sgd(lr=0.1)". See docs/onnx.md.
	Batch      int
	Loss       string
	LossOutput string // of several outputs, the one the loss takes
	Optimizer  string

	// CUDA also emits the gpu subpackage (package cudagen, docs/cuda.md):
	// gpu/model.cu and the Go that runs it, which embeds gpu/model.ptx,
	// which CompilePTX then adds (compiled with clang-16 or nvcc). It
	// imports the generated package, by ImportPath.
	CUDA       bool
	ImportPath string
}

// File is one file of a build: a name relative to the output directory
// and its contents.
type File = codegen.File

// What the command needs of the pipeline, so that it goes through this
// package alone.
const (
	// HeaderPrefix starts every file nngen generates; it overwrites only
	// files that begin with it.
	HeaderPrefix = codegen.HeaderPrefix
	// Version is nngen's version, as generated files state it.
	Version = codegen.Version
	// CUDADir is the subdirectory of the GPU package (Options.CUDA).
	CUDADir = cudagen.Dir
)

// Kernels names the kernel set that generated packages run on this
// machine ("avx512", "avx2" or "generic"), for nngen version. It is also
// why the command imports runtime/kernels: go get -tool then records the
// modules that generated code needs (cpuid) in the user's go.sum.
func Kernels() string { return kernels.Active() }

// PassNames lists the passes in the order they run, for -dump and graph.
func PassNames() []string { return passes.PassNames() }

// CheckPassName returns an error naming the passes if name is not one.
func CheckPassName(name string) error { return passes.CheckPassName(name) }

// RunPasses runs the pipeline on a graph from Load, as Build does, calling
// opts.Dump after every pass.
func RunPasses(g *ir.Graph, opts Options) error {
	return passes.Run(g, passes.Options{Infer: opts.Infer, NoFuse: opts.NoFuse, Verify: true, Dump: opts.Dump})
}

// Load reads a model with the front end its file name calls for: the IR
// graph before any pass, and, for an .onnx model, its weights by
// parameter name.
func Load(filename string, src []byte, opts Options) (*ir.Graph, map[string][]float64, error) {
	if strings.EqualFold(filepath.Ext(filename), ".onnx") {
		m, err := onnx.Import(filename, src, onnx.Options{Batch: opts.Batch, Loss: opts.Loss, LossOutput: opts.LossOutput, Optimizer: opts.Optimizer})
		if err != nil {
			return nil, nil, err
		}
		return m.Graph, m.Weights, nil
	}
	if opts.Batch != 0 || opts.Loss != "" || opts.LossOutput != "" || opts.Optimizer != "" {
		return nil, nil, fmt.Errorf("%s: the batch size, loss and optimizer options are for .onnx models; a .nn file states them itself", filename)
	}
	g, err := syntax.Compile(filename, src)
	return g, nil, err
}

// Build compiles the .nn source src, read from filename, into the files of
// a Go package. Errors in the source come back together as a
// syntax.ErrorList, each naming file:line:col.
//
// A filename ending in .onnx is an ONNX model instead (package onnx): its
// errors each name the file (and the node), and the package gets one more
// file, with NewPretrained and the model's weights.
func Build(filename string, src []byte, opts Options) ([]codegen.File, error) {
	g, weights, err := Load(filename, src, opts)
	if err != nil {
		return nil, err
	}
	if opts.Warn != nil {
		for _, w := range Lint(g) {
			opts.Warn(w)
		}
	}
	ext := ".nn"
	if weights != nil {
		ext = ".onnx"
	}
	// The Predictor's code: the same network planned for inference, which
	// an inference-only build already is.
	infer := g
	if !opts.Infer {
		infer = g.Clone()
	}
	if err := passes.Run(g, passes.Options{Infer: opts.Infer, NoFuse: opts.NoFuse, Verify: true, Dump: opts.Dump}); err != nil {
		return nil, err
	}
	if infer != g {
		if err := passes.Run(infer, passes.Options{Infer: true, NoFuse: opts.NoFuse, Verify: true}); err != nil {
			return nil, err
		}
	}
	base := filepath.Base(filename)
	cfg := codegen.Config{
		Package: opts.Package,
		Source:  base,
		Output:  strings.TrimSuffix(base, filepath.Ext(base)) + ext,
		Tests:   opts.Tests,
		// An ONNX model's package has its weights: its tests start there.
		Pretrained: weights != nil,
		Infer:      infer,
	}
	files, err := codegen.Generate(g, cfg)
	if err == nil && opts.CUDA {
		var gpu []codegen.File
		gpu, err = cudagen.Generate(g, cudagen.Config{Source: base, CPUImport: opts.ImportPath, CPUName: opts.Package})
		files = append(files, gpu...)
	}
	if err != nil || weights == nil {
		return files, err
	}
	pretrained, err := codegen.Pretrained(g, cfg, weights)
	if err != nil {
		return nil, err
	}
	return append(files, pretrained), nil
}

// CompilePTX is the explicit step after a Build with Options.CUDA: it
// compiles the gpu package's model.cu to the PTX its Go embeds (with
// clang-16, or nvcc), and returns the files with it. It runs a compiler and
// uses temporary files, which Build never does.
func CompilePTX(files []File) ([]File, error) {
	for _, f := range files {
		if f.Name == cudagen.CUFile {
			ptx, err := cudagen.CompilePTX(f.Data)
			if err != nil {
				return nil, err
			}
			return append(files, File{Name: cudagen.PTXFile, Data: ptx}), nil
		}
	}
	return nil, fmt.Errorf("no %s among the files: build with Options.CUDA", cudagen.CUFile)
}

// Lint returns warnings about a graph, before any pass, that builds but
// most likely does not do what its author meant: an activation applied
// twice because the loss applies it too.
func Lint(g *ir.Graph) []string {
	if g.Loss == nil || len(g.Loss.Args) == 0 {
		return nil
	}
	y := g.Loss.Args[0]
	var loss, act, torch string
	switch {
	case g.Loss.Op == ir.OpCrossEntropy && y.Op == ir.OpSoftmax:
		loss, act, torch = "cross_entropy", "log_softmax", "torch.nn.CrossEntropyLoss"
	case g.Loss.Op == ir.OpBCEWithLogits && y.Op == ir.OpSigmoid:
		loss, act, torch = "bce_with_logits", "sigmoid", "torch.nn.BCEWithLogitsLoss"
	default:
		return nil
	}
	fix := fmt.Sprintf("pass %s, the input of %s, to the loss, and keep %s for the output if you want it there", y.Args[0].Name, y.Name, y.Name)
	if !y.Pos.IsValid() { // an ONNX model: no line to point at
		fix = "export the network without its final " + string(y.Op) + " and give the loss its input"
	}
	return []string{fmt.Sprintf("%s: warning: %s applies %s to its input itself, as %s does, so the %s %s before it is applied twice; %s",
		g.Loss.Pos, loss, act, torch, y.Op, y.Name, fix)}
}
