package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nngen/nngen"
	"github.com/nngen/nngen/ir"
)

// graph prints the network's IR as Graphviz DOT: by default after fusion,
// which is the forward pass that build will generate.
func graph(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nngen graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	after := fs.String("after", "", "draw the IR after `PASS`, or none for the front end's graph (default fuse, or the last pass with -backward); passes: "+strings.Join(nngen.PassNames(), ", "))
	backward := fs.Bool("backward", false, "draw every phase (loss, backward, update), not just the forward pass")
	infer := fs.Bool("infer", false, "as for an inference-only build: no loss, gradients or optimizer")
	noFuse := fs.Bool("nofuse", false, "as for a build that does not fuse activations into linear layers")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nngen graph [flags] model.nn\n\nPrints the network as Graphviz DOT, for example:\n\tnngen graph model.nn | dot -Tsvg -o model.svg\n\nflags:\n")
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
	pass := *after
	switch {
	case pass == "" && *backward:
		pass = nngen.PassNames()[len(nngen.PassNames())-1] // the gradients and the update exist only near the end
	case pass == "":
		pass = "fuse"
	case pass != "none":
		if err := nngen.CheckPassName(pass); err != nil {
			fmt.Fprintln(stderr, "nngen: -after:", err)
			return 2
		}
	}

	src, err := os.ReadFile(model)
	if err != nil {
		fmt.Fprintln(stderr, "nngen:", err)
		return 1
	}
	g, _, err := nngen.Load(model, src, nngen.Options{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts := ir.DOTOptions{Backward: *backward}
	if pass == "none" {
		fmt.Fprint(stdout, g.DOT(opts))
		return 0
	}
	// The passes rewrite g in place, so draw it the moment the chosen pass
	// is done; what later passes do, failures included, does not matter here.
	var dot string
	err = nngen.RunPasses(g, nngen.Options{Infer: *infer, NoFuse: *noFuse, Dump: func(name string, g *ir.Graph) {
		if name == pass && dot == "" {
			dot = g.DOT(opts)
		}
	}})
	if dot == "" {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprint(stdout, dot)
	return 0
}
