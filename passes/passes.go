// Package passes rewrites an IR graph, step by step, from what the front end
// built into what codegen emits. The whole pipeline is the Pipeline table.
package passes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// Options select what the pipeline builds.
type Options struct {
	// Infer builds forward only: the loss, gradients and optimizer are dropped.
	Infer bool
	// NoFuse keeps every activation as its own op (for checking fusion).
	NoFuse bool
	// Verify runs ir.Verify after every pass; an error names the pass.
	Verify bool
	// Dump, when set, is called with the graph after every pass.
	Dump func(pass string, g *ir.Graph)
}

// Pass is one step of the pipeline.
type Pass struct {
	Name string
	Run  func(*ir.Graph, Options) error
}

// Pipeline is the order in which passes run. Each entry's comment says
// what it needs from the passes before it.
var Pipeline = []Pass{
	{"schedule", schedule},        // sorts by phase; everything after assumes phase order
	{"layers", layers},            // before fuse, which gives the layers found their activations
	{"recognize", recognize},      // before fuse, so that the activations it finds can fuse
	{"infer-only", inferOnly},     // drops training before anything is derived from it
	{"fuse", fuse},                // before autodiff, so the backward graph uses the fused ops
	{"autodiff", autodiff},        // derives gradients of the loss
	{"optimizer", lowerOptimizer}, // needs the gradients from autodiff
	{"deadcode", deadcode},        // removes what autodiff derived but nothing uses
	{"plan", plan},                // last: gives every value its storage
}

// PassNames lists the pipeline's pass names in order.
func PassNames() []string {
	names := make([]string, len(Pipeline))
	for i, p := range Pipeline {
		names[i] = p.Name
	}
	return names
}

// Run applies the pipeline to g.
func Run(g *ir.Graph, opts Options) error {
	for _, p := range Pipeline {
		if err := p.Run(g, opts); err != nil {
			var user *ir.Error
			if errors.As(err, &user) {
				return err // about the model, and says where: the pass is noise
			}
			return fmt.Errorf("pass %s: %w", p.Name, err)
		}
		if opts.Verify {
			if err := g.Verify(); err != nil {
				return fmt.Errorf("after pass %s: invalid IR:\n%w", p.Name, err)
			}
		}
		if opts.Dump != nil {
			opts.Dump(p.Name, g)
		}
	}
	return nil
}

// CheckPassName returns an error naming the valid passes if name is not one.
func CheckPassName(name string) error {
	if slices.Contains(PassNames(), name) {
		return nil
	}
	return fmt.Errorf("no pass %q (passes: %s)", name, strings.Join(PassNames(), ", "))
}
