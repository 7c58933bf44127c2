package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/examples/charlm/lm"
)

// testSteps trains on the embedded Genesis 1-4 for about 6 s on one core.
// Measured with seeds 1, 2 and 3: held-out loss 2.46, 2.46 and 2.45 after
// 40 steps (2.43, 2.44, 2.40 after 50), against ln 54 = 3.99 for a uniform
// guess and 2.96 for the characters' frequencies in the training text (a
// model that ignores the context); maxHeldOut leaves a margin of about 0.24.
const (
	testSteps  = 40
	maxHeldOut = 2.7
)

// TestRun trains on the excerpt, checks the held-out loss it reaches, and
// that its sample is made of the text's characters and is the same for the
// same seed, different for another.
func TestRun(t *testing.T) {
	cfg := defaults
	cfg.Steps, cfg.Every, cfg.Length = testSteps, testSteps/2, 100
	var out bytes.Buffer
	m, err := run(cfg, genesis, "genesis", &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 6 {
		t.Fatalf("%d lines, want a header, 2 progress lines, the held-out loss and a sample:\n%s", len(lines), out.String())
	}
	for _, line := range lines[1:3] {
		if !regexp.MustCompile(`^step +[0-9]+: loss [0-9.]+, [0-9]+ chars/s$`).MatchString(line) {
			t.Errorf("progress line %q, want step, loss and speed", line)
		}
	}
	got := regexp.MustCompile(`^held-out loss ([0-9.]+) after ([0-9]+) steps`).FindStringSubmatch(lines[3])
	if got == nil {
		t.Fatalf("no held-out loss in %q", lines[3])
	}
	vocab, _ := newVocabulary(genesis)
	uniform := math.Log(float64(len(vocab)))
	loss, _ := strconv.ParseFloat(got[1], 64)
	t.Logf("held-out loss %.4f after %d steps (uniform %.4f)", loss, testSteps, uniform)
	if loss > maxHeldOut {
		t.Errorf("held-out loss %.4f after %d steps, want at most %.2f (uniform: %.4f)", loss, testSteps, maxHeldOut, uniform)
	}

	printed := strings.TrimSuffix(strings.Join(lines[5:], "\n"), "\n")
	sample, err := generate(m, vocab, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sample != printed {
		t.Errorf("the same seed sampled\n%q\nthen\n%q", printed, sample)
	}
	if n := len([]rune(sample)); n != len(cfg.Prompt)+cfg.Length || !strings.HasPrefix(sample, cfg.Prompt) {
		t.Errorf("sample %q: want the prompt %q and %d characters more", sample, cfg.Prompt, cfg.Length)
	}
	for _, r := range sample {
		if !vocab.has(r) {
			t.Errorf("sample %q has %q, not in the text", sample, r)
		}
	}
	cfg.Seed++
	if other, _ := generate(m, vocab, cfg); other == sample {
		t.Errorf("seeds %d and %d sampled the same %q", cfg.Seed-1, cfg.Seed, sample)
	}
}

// TestLossIsCrossEntropy checks model.nn's loss, cross_entropy with a
// class index per position, against the mean over the positions of the
// cross entropy of the logits that Forward returns, computed here in
// float64.
func TestLossIsCrossEntropy(t *testing.T) {
	vocab, _ := newVocabulary(genesis)
	ids := vocab.encode(genesis)
	m := lm.New(3)
	b := new(batch)
	b.fill(ids, rand.New(rand.NewPCG(1, 1)))
	var logits [lm.Batch][context][symbols]float32
	m.Forward(&b.tokens, &logits)
	want := 0.0
	for i := range lm.Batch {
		for p := range context {
			want += logSumExp(logits[i][p][:]) - float64(logits[i][p][b.next[i][p]])
		}
	}
	want /= lm.Batch * context
	got := float64(m.Backward(&b.tokens, &b.next))
	if math.Abs(got-want) > 1e-5*want {
		t.Errorf("loss %.7f, cross entropy %.7f", got, want)
	}
}

// TestVocabulary: sorted characters, ids their indices, the references
// taken off the bible program's lines.
func TestVocabulary(t *testing.T) {
	text := stripReferences("Ge1:1 In the beginning God created the heaven and the earth.\nGe1:2 And the earth\n")
	if want := "In the beginning God created the heaven and the earth.\nAnd the earth\n"; text != want {
		t.Errorf("stripped %q, want %q", text, want)
	}
	v, err := newVocabulary("banana\n")
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != "\nabn" {
		t.Errorf("vocabulary %q, want %q", string(v), "\nabn")
	}
	if ids := v.encode("nab\n"); !slices.Equal(ids, []int{3, 1, 2, 0}) {
		t.Errorf("ids %v, want [3 1 2 0]", ids)
	}
	if _, err := newVocabulary(strings.Repeat("x", 3)); err == nil {
		t.Error("a text of one character: no error")
	}
}
