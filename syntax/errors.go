package syntax

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// Error is one problem in a .nn file, at the position where it was found.
type Error struct {
	Pos ir.Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem Compile found, sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (l *ErrorList) add(pos ir.Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// sort orders errors by position; errors at one position keep the order in
// which they were found, which is the order a reader meets their causes.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}

// quote shows source text in a message, shortened so that a pathological
// token cannot swamp the report. Token text is ASCII, so cutting bytes is safe.
func quote(text string) string {
	const limit = 40
	if len(text) > limit {
		return fmt.Sprintf("%q...", text[:limit])
	}
	return fmt.Sprintf("%q", text)
}

// alternatives writes choices as "a or b" or "a, b or c".
func alternatives(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}
