// Package syntax is nngen's front end for .nn files: it parses a network
// description and lowers it to an ir.Graph, reporting every error it finds
// as "file:line:col: message". docs/language.md describes the language.
package syntax

import "github.com/nngen/nngen/ir"

// Compile parses a .nn file and lowers it to an IR graph. On failure it returns
// an ErrorList with every error found (never a partial graph, never a panic).
func Compile(filename string, src []byte) (*ir.Graph, error) {
	var errs ErrorList
	stmts := parseFile(filename, src, &errs)
	g := lower(filename, stmts, &errs)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return g, nil
}
