package syntax

import (
	"os"
	"strings"
	"testing"
)

// TestLanguageDoc keeps docs/language.md's examples true: its first example
// is the tutorial, and its error example shows what Compile reports.
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
}
