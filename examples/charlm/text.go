package main

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// genesis is Genesis 1 to 4 of the King James Version (public domain), as
// `bible -f gen1:1-4:26` of Debian's bible-kjv prints it with the verse
// references taken off: the text the test trains on, and the command's
// when the bible program is not installed.
//
//go:embed testdata/genesis.txt
var genesis string

// wholeBible is the verse range that `bible` prints for the whole King James
// Version, Genesis 1:1 to Revelation 22:21 (about 4.3 MB).
const wholeBible = "gen1:1-rev22:21"

// loadText reads the training text: the file at path, or without one the
// King James Version from the bible program of Debian's bible-kjv
// (`apt-get install bible-kjv`), or, when that is missing, the embedded
// excerpt. source says which.
func loadText(path string) (text, source string, err error) {
	if path != "" {
		b, err := os.ReadFile(path)
		return string(b), path, err
	}
	out, err := exec.Command("bible", "-f", wholeBible).Output()
	if errors.Is(err, exec.ErrNotFound) {
		return genesis, "Genesis 1-4 (embedded; apt-get install bible-kjv for the whole King James Version)", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("bible -f %s: %v", wholeBible, err)
	}
	return stripReferences(string(out)), "the King James Version (bible-kjv)", nil
}

// stripReferences takes the reference ("Ge1:1 ") off the front of each
// verse that `bible -f` prints one to a line.
func stripReferences(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if _, verse, ok := strings.Cut(line, " "); ok {
			line = verse
		}
		b.WriteString(line)
	}
	return b.String()
}

// vocabulary is the text's characters, sorted; a character's id is its
// index, below the model's 64 rows.
type vocabulary []rune

func newVocabulary(text string) (vocabulary, error) {
	seen := map[rune]bool{}
	for _, r := range text {
		seen[r] = true
	}
	v := vocabulary(slices.Sorted(maps.Keys(seen)))
	if len(v) > symbols {
		return nil, fmt.Errorf("the text has %d different characters, more than the model's %d", len(v), symbols)
	}
	if len(v) < 2 {
		return nil, fmt.Errorf("the text has %d different characters; a language model needs at least 2", len(v))
	}
	return v, nil
}

// encode gives the id of each character of text.
func (v vocabulary) encode(text string) []int {
	ids := make([]int, 0, len(text))
	for _, r := range text {
		i, _ := slices.BinarySearch(v, r)
		ids = append(ids, i)
	}
	return ids
}

// has reports whether r is one of the vocabulary's characters.
func (v vocabulary) has(r rune) bool {
	_, found := slices.BinarySearch(v, r)
	return found
}

// check says which character of the prompt s is not in the vocabulary.
func (v vocabulary) check(s string) error {
	for _, r := range s {
		if !v.has(r) {
			return fmt.Errorf("the prompt's %q is not in the text", r)
		}
	}
	return nil
}
