// Command textclass trains a classifier of short sentences in four topics
// (sports, food, weather, tech) with the package nngen generated from
// model.nn: an embedding bag (the mean of the sentence's word vectors,
// padding left out), then two linear layers. The sentences come from
// templates with a fixed seed (corpus.go); the tokenizer lowercases the
// words, numbers them from the training split (unknown words get one id)
// and pads each sentence to 12 ids. It prints the accuracy on a held-out
// fifth after each epoch.
package main

//go:generate go tool nngen build -o textmodel model.nn

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/nngen/nngen/examples/textclass/textmodel"
)

type config struct {
	Epochs int    // passes over the training split
	Seed   uint64 // initial weights and the order of the batches
	Quiet  bool   // only the final line
}

// defaults are the flags' defaults.
var defaults = config{Epochs: 10, Seed: 1}

const (
	sentences  = 2000  // in the corpus, a fifth of them held out
	corpusSeed = 20261 // the corpus is the same on every run
	rows       = 512   // the embedding table's rows (model.nn)
	length     = 12    // token ids per sentence (model.nn)
)

func main() {
	var cfg config
	flag.IntVar(&cfg.Epochs, "epochs", defaults.Epochs, "passes over the training split")
	flag.Uint64Var(&cfg.Seed, "seed", defaults.Seed, "seed of the initial weights and of the order of the batches")
	flag.BoolVar(&cfg.Quiet, "quiet", defaults.Quiet, "print only the final accuracy, not each epoch")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "textclass:", err)
		os.Exit(1)
	}
}

// run trains the model as cfg says, reporting to stdout.
func run(cfg config, stdout io.Writer) error {
	if cfg.Epochs < 1 {
		return fmt.Errorf("-epochs must be at least 1, got %d", cfg.Epochs)
	}
	start := time.Now()
	corpus := makeCorpus(sentences, corpusSeed)
	train, test := corpus[:sentences*4/5], corpus[sentences*4/5:]
	vocab := buildVocabulary(train, rows)
	encode := func(set []sentence) ([][length]int, []int) {
		ids, labels := make([][length]int, len(set)), make([]int, len(set))
		for i, s := range set {
			vocab.encode(s.text, ids[i][:])
			labels[i] = s.label
		}
		return ids, labels
	}
	trainIDs, trainLabels := encode(train)
	testIDs, testLabels := encode(test)
	if !cfg.Quiet {
		fmt.Fprintf(stdout, "%d training and %d held-out sentences, %d words in the vocabulary\n", len(train), len(test), len(vocab))
	}

	m := textmodel.New(cfg.Seed)
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	order := make([]int, len(train))
	for i := range order {
		order[i] = i
	}
	var x [textmodel.Batch][length]int
	var label [textmodel.Batch]int
	accuracy := 0.0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		loss, batches := 0.0, 0
		for b := 0; b+textmodel.Batch <= len(order); b += textmodel.Batch {
			for i := range textmodel.Batch {
				x[i], label[i] = trainIDs[order[b+i]], trainLabels[order[b+i]]
			}
			loss += float64(m.TrainStep(&x, &label))
			batches++
		}
		accuracy = evaluate(m, testIDs, testLabels)
		if !cfg.Quiet {
			fmt.Fprintf(stdout, "epoch %2d: loss %.4f, held-out accuracy %.2f%%\n", epoch, loss/float64(batches), 100*accuracy)
		}
	}
	fmt.Fprintf(stdout, "held-out accuracy %.2f%% after %d epochs (%v)\n", 100*accuracy, cfg.Epochs, time.Since(start).Round(time.Millisecond))
	return nil
}

// evaluate is the fraction of the sentences whose largest logit is their
// topic, a batch at a time (the last one shorter, through ForwardBatch).
func evaluate(m *textmodel.Model, ids [][length]int, labels []int) float64 {
	var logits [textmodel.Batch][4]float32
	right := 0
	for b := 0; b < len(ids); b += textmodel.Batch {
		n := min(textmodel.Batch, len(ids)-b)
		m.ForwardBatch(ids[b:b+n], logits[:n])
		for i := range n {
			best := 0
			for c := range logits[i] {
				if logits[i][c] > logits[i][best] {
					best = c
				}
			}
			if best == labels[b+i] {
				right++
			}
		}
	}
	return float64(right) / float64(len(ids))
}
