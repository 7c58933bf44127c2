package digitsdata

import (
	"slices"
	"testing"
)

func TestLoad(t *testing.T) {
	samples, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1797 {
		t.Errorf("%d samples, want 1797", len(samples))
	}
	var perDigit [Classes]int
	for _, s := range samples {
		perDigit[s.Label]++
		for _, p := range s.Pixels {
			if p < 0 || p > 1 {
				t.Fatalf("pixel %v outside [0,1]", p)
			}
		}
	}
	for digit, n := range perDigit {
		if n < 170 {
			t.Errorf("%d samples of %d, want about 180", n, digit)
		}
	}
}

// TestSplit checks that the held-out digits are always the same ones, that
// no digit is in both parts, and that each class is split a fifth out.
func TestSplit(t *testing.T) {
	samples, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	train, test := Split(samples)
	train2, test2 := Split(samples)
	if !slices.Equal(train, train2) || !slices.Equal(test, test2) {
		t.Error("two splits differ")
	}
	if len(test) < 359 || len(train)+len(test) != len(samples) {
		t.Errorf("%d to train on and %d held out of %d", len(train), len(test), len(samples))
	}
	// The held-out digits are those every recorded accuracy was measured on
	// (the examples' READMEs): the split must not change.
	sum := 0
	for _, i := range test {
		sum += i
	}
	if first := []int{1620, 1615, 588, 10, 1335, 328, 311, 1323}; len(test) != 364 || !slices.Equal(test[:len(first)], first) || sum != 338510 {
		t.Errorf("held out: %d digits summing to %d, starting %v; want the 364 summing to 338510 that every recorded run used", len(test), sum, test[:min(8, len(test))])
	}
	seen := make([]bool, len(samples))
	var trainPerDigit, testPerDigit [Classes]int
	for part, idx := range [][]int{train, test} {
		for _, i := range idx {
			if seen[i] {
				t.Fatalf("sample %d is in the split twice", i)
			}
			seen[i] = true
			if part == 0 {
				trainPerDigit[samples[i].Label]++
			} else {
				testPerDigit[samples[i].Label]++
			}
		}
	}
	for digit := range Classes {
		if n := trainPerDigit[digit] + testPerDigit[digit]; testPerDigit[digit] != (n+4)/5 {
			t.Errorf("digit %d: %d of %d held out, want a fifth rounded up", digit, testPerDigit[digit], n)
		}
	}
}
