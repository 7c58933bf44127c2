// Command nngen compiles a neural network described in a .nn file into a Go
// package. Usage:
//
//	nngen build [-o DIR] [-pkg NAME] [-infer] [-nofuse] [-dump=after:PASS] model.nn
//	nngen graph [-after PASS] [-backward] model.nn
//	nngen version
//
// Run it from a //go:generate line beside the model:
//
//	//go:generate go tool nngen build -o mymodel model.nn
//
// nngen writes files only after the whole build succeeded, and never over a
// file that it did not generate.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nngen/nngen/codegen"
)

const usage = `nngen compiles a neural network described in a .nn file into a Go package.

Usage:
	nngen build [flags] model.nn   generate the package
	nngen graph [flags] model.nn   print the network as Graphviz DOT
	nngen version                  print nngen's version

Run "nngen build -h" for the build flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command without process state, for tests: it returns the exit
// status (0 ok, 1 failed, 2 bad usage).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "build":
		return build(args[1:], stdout, stderr)
	case "graph":
		return graph(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "nngen", codegen.Version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "nngen: unknown command %q\n\n%s", args[0], usage)
	return 2
}
