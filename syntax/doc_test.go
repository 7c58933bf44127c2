package syntax

import (
	"os"
	"strings"
	"testing"
)

// TestLanguageDoc keeps docs/language.md's examples true: its first example
// is the tutorial, its whole networks compile, and its error example shows
// what Compile reports.
func TestLanguageDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string // the fenced code blocks' contents
	for i, part := range strings.Split(string(doc), "```") {
		if i%2 == 1 {
			_, body, _ := strings.Cut(part, "\n")
			blocks = append(blocks, body)
		}
	}
	if len(blocks) < 2 || blocks[0] != tutorial {
		t.Fatalf("the first example is not the tutorial:\n%s", blocks[0])
	}
	bad, want := blocks[len(blocks)-2], blocks[len(blocks)-1]
	_, err = Compile("model.nn", []byte(bad))
	if err == nil || err.Error()+"\n" != want {
		t.Errorf("the error example reports:\n%v\nbut the doc shows:\n%s", err, want)
	}
	// Every other whole network in the doc compiles.
	networks := 0
	for _, block := range blocks[:len(blocks)-2] {
		if strings.Contains(block, "\nnetwork ") && strings.Contains(block, "\ninput ") {
			networks++
			if _, err := Compile("model.nn", []byte(block)); err != nil {
				t.Errorf("an example does not compile:\n%s\n%v", block, err)
			}
		}
	}
	if networks < 2 {
		t.Errorf("found %d whole networks in the doc, want the tutorial and the complete example", networks)
	}
}
