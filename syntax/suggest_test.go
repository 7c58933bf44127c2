package syntax

import "testing"

func TestClosest(t *testing.T) {
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"sigmod", []string{"linear", "sigmoid"}, "sigmoid"},
		{"sdg", []string{"sgd"}, "sgd"},    // a swap is one edit
		{"h3", []string{"h1", "h2"}, "h2"}, // ties go to the later name
		{"x", []string{"y"}, ""},           // one-letter names are all one edit apart
		{"conv2d", []string{"linear", "sigmoid"}, ""},
		{"layer", []string{"layer12345"}, ""},
	}
	for _, test := range tests {
		if got := closest(test.word, test.candidates, nil); got != test.want {
			t.Errorf("closest(%q, %q) = %q, want %q", test.word, test.candidates, got, test.want)
		}
	}
	budget := 10
	if got := closest("layer1", []string{"layer2"}, &budget); got != "" || budget != 10 {
		t.Errorf("over budget: got %q, budget %d", got, budget)
	}
}

func TestEditDistance(t *testing.T) {
	for _, test := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"ab", "ba", 1}, {"mse", "mes", 1}, {"ca", "abc", 3}} {
		if got := editDistance(test.a, test.b); got != test.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", test.a, test.b, got, test.want)
		}
	}
}
