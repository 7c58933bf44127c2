package codegen

import (
	"bytes"
	"go/format"
	"strings"

	"github.com/dave/jennifer/jen"
)

// Render writes f as gofmt'd source with its imports grouped as Go
// programmers write them: the standard library first, then a blank line,
// then the rest. jennifer sorts the imports into one block; both back ends
// render every Go file they write through here.
func Render(f *jen.File) ([]byte, error) {
	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, err
	}
	return groupImports(buf.Bytes())
}

// groupImports splits the first parenthesised import block of gofmt'd
// source into the standard library's paths and the others.
func groupImports(src []byte) ([]byte, error) {
	text := string(src)
	start := strings.Index(text, "\nimport (\n")
	if start < 0 {
		return src, nil
	}
	start += len("\nimport (\n")
	end := strings.Index(text[start:], "\n)\n")
	if end < 0 {
		return src, nil
	}
	end += start
	var std, other []string
	for _, line := range strings.Split(text[start:end], "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if standard(line) {
			std = append(std, line)
		} else {
			other = append(other, line)
		}
	}
	block := strings.Join(std, "\n")
	if len(std) > 0 && len(other) > 0 {
		block += "\n\n"
	}
	block += strings.Join(other, "\n")
	return format.Source([]byte(text[:start] + block + text[end:]))
}

// standard reports whether an import line names a standard library
// package: one whose path's first element has no dot.
func standard(line string) bool {
	q := strings.IndexByte(line, '"')
	if q < 0 {
		return false
	}
	path := strings.Trim(line[q:], `"`)
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
