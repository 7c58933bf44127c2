package main

import (
	"strings"
	"unicode"
)

const (
	padding = 0 // fills a sentence shorter than the model's 12 tokens; the bag leaves it out
	unknown = 1 // a word the training split never had
)

// vocabulary maps each word of the training sentences to its id, from 2 up
// in the order they first appear, at most rows of them (more become
// unknown).
type vocabulary map[string]int

func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' })
}

func buildVocabulary(train []sentence, rows int) vocabulary {
	v := vocabulary{}
	for _, s := range train {
		for _, w := range words(s.text) {
			if _, ok := v[w]; !ok && len(v)+2 < rows {
				v[w] = len(v) + 2
			}
		}
	}
	return v
}

// encode writes the sentence's first len(ids) words' ids into ids, the
// rest padding.
func (v vocabulary) encode(text string, ids []int) {
	ws := words(text)
	for i := range ids {
		ids[i] = padding
		if i < len(ws) {
			id, ok := v[ws[i]]
			if !ok {
				id = unknown
			}
			ids[i] = id
		}
	}
}
