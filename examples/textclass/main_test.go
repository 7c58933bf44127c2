package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRun trains with the command's defaults, as `go run ./examples/textclass`
// does (well under a second), and checks the held-out accuracy it reaches.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(defaults, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+defaults.Epochs+1 {
		t.Fatalf("%d lines, want a header, one per epoch and a summary:\n%s", len(lines), out.String())
	}
	m := regexp.MustCompile(`^held-out accuracy ([0-9.]+)% after`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("no accuracy in the last line %q", lines[len(lines)-1])
	}
	if accuracy, _ := strconv.ParseFloat(m[1], 64); accuracy < 97 {
		t.Errorf("held-out accuracy %.2f%%, want at least 97%%", accuracy)
	}
}

// TestTokenize: lowercase words, ids from the training split, unknown
// words one id, padding after the sentence.
func TestTokenize(t *testing.T) {
	v := buildVocabulary([]sentence{{text: "The chef baked bread"}}, 16)
	var ids [6]int
	v.encode("the CHEF, baked toast!", ids[:])
	if want := [6]int{2, 3, 4, unknown, padding, padding}; ids != want {
		t.Errorf("ids %v, want %v", ids, want)
	}
}
