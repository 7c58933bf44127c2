// Package nngen compiles a neural network described in a .nn file into a Go
// package with fixed shapes: forward, loss, gradients and the optimizer
// update as plain Go, with no graph or interpreter at run time.
//
// Most users run the command, cmd/nngen, from a //go:generate line. Build
// is the same pipeline as a function: source in, files out, no file I/O.
package nngen

import (
	"path/filepath"
	"strings"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/passes"
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
}

// Build compiles the .nn source src, read from filename, into the files of
// a Go package. Errors in the source come back together as a
// syntax.ErrorList, each naming file:line:col.
func Build(filename string, src []byte, opts Options) ([]codegen.File, error) {
	g, err := syntax.Compile(filename, src)
	if err != nil {
		return nil, err
	}
	if err := passes.Run(g, passes.Options{Infer: opts.Infer, NoFuse: opts.NoFuse, Verify: true, Dump: opts.Dump}); err != nil {
		return nil, err
	}
	base := filepath.Base(filename)
	return codegen.Generate(g, codegen.Config{
		Package: opts.Package,
		Source:  base,
		Output:  strings.TrimSuffix(base, filepath.Ext(base)) + ".nn",
		Tests:   opts.Tests,
	})
}
