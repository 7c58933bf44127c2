// Command charlm trains a character-level language model, the package
// nngen generated from model.nn (two causal transformer encoder layers over
// 32 characters), on the King James Version of the Bible, then samples
// text from it. It prints the training loss and speed as it goes, the loss
// on a held-out tenth of the text, and the sample.
//
// The model predicts, at each of its 32 positions, the next character from
// the ones up to it (the causal mask hides those after). Its loss is the
// mean cross entropy over the batch's 16×32 positions, a class index (the
// next character) per position.
package main

//go:generate go tool nngen build -o lm model.nn

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/nngen/nngen/examples/charlm/lm"
)

type config struct {
	Text        string  // the training text's file; "" for the King James Version
	Steps       int     // training steps, a batch each
	Every       int     // steps between progress lines
	Seed        uint64  // initial weights, the batches and the sample
	Temperature float64 // of the sampling: below 1 surer, above 1 wilder
	Length      int     // characters to sample
	Prompt      string  // the sample's start
	Quiet       bool    // no progress lines
}

// defaults are the flags' defaults.
var defaults = config{Steps: 1000, Every: 100, Seed: 1, Temperature: 0.8, Length: 400, Prompt: "And God said"}

const (
	context = 32 // characters the model reads (model.nn)
	symbols = 64 // rows of its embedding, scores of its output (model.nn)
)

func main() {
	var cfg config
	flag.StringVar(&cfg.Text, "text", defaults.Text, "train on this file instead of the King James Version")
	flag.IntVar(&cfg.Steps, "steps", defaults.Steps, "training steps of a batch of 16×32 characters")
	flag.IntVar(&cfg.Every, "every", defaults.Every, "steps between progress lines")
	flag.Uint64Var(&cfg.Seed, "seed", defaults.Seed, "seed of the initial weights, the batches and the sample")
	flag.Float64Var(&cfg.Temperature, "temperature", defaults.Temperature, "sampling temperature")
	flag.IntVar(&cfg.Length, "length", defaults.Length, "characters to sample")
	flag.StringVar(&cfg.Prompt, "prompt", defaults.Prompt, "the sample's first characters")
	flag.BoolVar(&cfg.Quiet, "quiet", defaults.Quiet, "print no progress lines")
	flag.Parse()
	text, source, err := loadText(cfg.Text)
	if err == nil {
		_, err = run(cfg, text, source, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "charlm:", err)
		os.Exit(1)
	}
}

// run trains a model on text as cfg says, then samples from it, writing
// to stdout; it returns the trained model.
func run(cfg config, text, source string, stdout io.Writer) (*lm.Model, error) {
	switch {
	case cfg.Steps < 1:
		return nil, fmt.Errorf("-steps must be at least 1, got %d", cfg.Steps)
	case cfg.Every < 1:
		return nil, fmt.Errorf("-every must be at least 1, got %d", cfg.Every)
	case !(cfg.Temperature > 0):
		return nil, fmt.Errorf("-temperature must be positive, got %g", cfg.Temperature)
	}
	vocab, err := newVocabulary(text)
	if err != nil {
		return nil, err
	}
	if err := vocab.check(cfg.Prompt); err != nil {
		return nil, err // before training, not after
	}
	ids := vocab.encode(text)
	split := len(ids) * 9 / 10
	train, heldOut := ids[:split], ids[split:]
	if len(heldOut) < context+1 {
		return nil, fmt.Errorf("the text has %d characters, too few for a held-out tenth of %d", len(ids), context+1)
	}
	fmt.Fprintf(stdout, "%s: %d characters, %d different (uniform loss ln %d = %.3f)\n", source, len(ids), len(vocab), len(vocab), math.Log(float64(len(vocab))))

	m := lm.New(cfg.Seed)
	r := rand.New(rand.NewPCG(cfg.Seed, 2))
	b := new(batch)
	start, last := time.Now(), time.Now()
	sum := 0.0
	for step := 1; step <= cfg.Steps; step++ {
		b.fill(train, r)
		sum += float64(m.TrainStep(&b.tokens, &b.next))
		if step%cfg.Every == 0 || step == cfg.Steps {
			n := (step-1)%cfg.Every + 1
			if !cfg.Quiet {
				rate := float64(n*lm.Batch*context) / time.Since(last).Seconds()
				fmt.Fprintf(stdout, "step %5d: loss %.4f, %.0f chars/s\n", step, sum/float64(n), rate)
			}
			sum, last = 0, time.Now()
		}
	}
	fmt.Fprintf(stdout, "held-out loss %.4f after %d steps (%v)\n", evaluate(m, heldOut), cfg.Steps, time.Since(start).Round(time.Millisecond))
	sample, err := generate(m, vocab, cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "sample (seed %d, temperature %g):\n%s\n", cfg.Seed, cfg.Temperature, sample)
	return m, nil
}

// batch holds one training step's arguments: windows of the text, and the
// characters that follow each of their characters.
type batch struct {
	tokens [lm.Batch][context]int
	next   [lm.Batch][context]int
}

// fill draws lm.Batch windows of context+1 characters at random from ids.
func (b *batch) fill(ids []int, r *rand.Rand) {
	for i := range lm.Batch {
		at := r.IntN(len(ids) - context)
		b.tokens[i] = [context]int(ids[at : at+context])
		b.next[i] = [context]int(ids[at+1 : at+context+1])
	}
}

// heldOutWindows bounds the windows of 32 characters that evaluate reads:
// 8192 characters, a second or so.
const heldOutWindows = 256

// evaluate is the mean cross entropy of the model's predictions of each
// character of ids (the first heldOutWindows·32) from up to 32 before it:
// windows of 32, each character predicted once, from the logits (the same
// number as the loss of model.nn).
func evaluate(m *lm.Model, ids []int) float64 {
	p := m.NewPredictor()
	var tokens [lm.Batch][context]int
	var logits [lm.Batch][context][symbols]float32
	windows := min(heldOutWindows, (len(ids)-1)/context)
	total := 0.0
	for w := 0; w < windows; w += lm.Batch {
		n := min(lm.Batch, windows-w)
		for i := range n {
			tokens[i] = [context]int(ids[(w+i)*context:])
		}
		p.ForwardBatch(tokens[:n], logits[:n])
		for i := range n {
			for t := range context {
				want := ids[(w+i)*context+t+1]
				total += logSumExp(logits[i][t][:]) - float64(logits[i][t][want])
			}
		}
	}
	return total / float64(windows*context)
}

func logSumExp(z []float32) float64 {
	top := float64(z[0])
	for _, x := range z {
		top = max(top, float64(x))
	}
	sum := 0.0
	for _, x := range z {
		sum += math.Exp(float64(x) - top)
	}
	return top + math.Log(sum)
}

// generate continues cfg.Prompt by cfg.Length characters, each drawn from
// the model's distribution of the next character given the 32 before it,
// sharpened or flattened by the temperature, among the vocabulary's
// characters only. The same seed gives the same text.
func generate(m *lm.Model, vocab vocabulary, cfg config) (string, error) {
	prompt := cfg.Prompt
	if prompt == "" {
		prompt = "\n" // the start of a verse
	}
	if err := vocab.check(prompt); err != nil {
		return "", err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 3))
	p := m.NewPredictor()
	ids := vocab.encode(prompt)
	var tokens [1][context]int
	var logits [1][context][symbols]float32
	weights := make([]float64, len(vocab))
	var out strings.Builder
	out.WriteString(cfg.Prompt)
	for range cfg.Length {
		// The last 32 characters, or all of them at the front when there are
		// fewer: the causal mask keeps the rest of the window from mattering.
		window := ids[max(0, len(ids)-context):]
		copy(tokens[0][:], window)
		p.ForwardBatch(tokens[:], logits[:])
		z := logits[0][len(window)-1][:len(vocab)]
		top := float64(z[0])
		for _, x := range z {
			top = max(top, float64(x))
		}
		sum := 0.0
		for i, x := range z {
			weights[i] = math.Exp((float64(x) - top) / cfg.Temperature)
			sum += weights[i]
		}
		u, id := r.Float64()*sum, len(weights)-1
		for i, w := range weights {
			if u < w {
				id = i
				break
			}
			u -= w
		}
		ids = append(ids, id)
		out.WriteRune(vocab[id])
	}
	return out.String(), nil
}
