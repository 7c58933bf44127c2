// Command digits trains a classifier of handwritten digits (UCI's 8×8
// optical digits as scikit-learn ships them, in package digitsdata) with the
// package nngen generated from model.nn: mini-batches of 32 with Adam, the
// accuracy on a held-out fifth of the digits after each epoch, and the
// trained weights saved as safetensors.
package main

//go:generate go tool nngen build -o digitsmodel model.nn

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digits/digitsmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

type config struct {
	Epochs int    // passes over the training split
	Seed   uint64 // initial weights and the order of the batches
	Out    string // where the trained weights go, as safetensors
	Quiet  bool   // no per-epoch progress, only the final line
}

// defaults are the flags' defaults, which reach about 97% held-out.
var defaults = config{Epochs: 30, Seed: 1, Out: "digits.safetensors"}

func main() {
	var cfg config
	flag.IntVar(&cfg.Epochs, "epochs", defaults.Epochs, "passes over the training split")
	flag.Uint64Var(&cfg.Seed, "seed", defaults.Seed, "seed of the initial weights and of the order of the batches")
	flag.StringVar(&cfg.Out, "out", defaults.Out, "file to save the trained weights to, as safetensors")
	flag.BoolVar(&cfg.Quiet, "quiet", defaults.Quiet, "print only the final accuracy, not each epoch")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "digits:", err)
		os.Exit(1)
	}
}

// run trains the model as cfg says, reporting to stdout, and saves it.
func run(cfg config, stdout io.Writer) error {
	if cfg.Epochs < 1 {
		return fmt.Errorf("-epochs must be at least 1, got %d", cfg.Epochs)
	}
	samples, err := digitsdata.Load()
	if err != nil {
		return err
	}
	trainSet, testSet := digitsdata.Split(samples)
	log := stdout // all but the final line
	if cfg.Quiet {
		log = io.Discard
	}
	fmt.Fprintf(log, "%d digits: %d to train on, %d held out\n", len(samples), len(trainSet), len(testSet))

	model := digitsmodel.New(cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, digitsdata.SplitSeed))
	batches := (len(trainSet) + digitsmodel.Batch - 1) / digitsmodel.Batch
	f, ok := log.(*os.File)
	prog := digitsdata.NewProgress(log, ok && digitsdata.IsTerminal(f), cfg.Epochs, batches)

	start := time.Now()
	var accuracy float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		loss := trainEpoch(model, samples, trainSet, rng, func(done int) { prog.Batch(epoch, done) })
		accuracy = evaluate(model, samples, testSet)
		prog.EpochDone(epoch, loss, accuracy)
	}
	elapsed := time.Since(start)

	metadata := map[string]string{"accuracy": strconv.FormatFloat(accuracy, 'f', 4, 64)}
	if err := safetensors.Save(cfg.Out, model.Params(), metadata); err != nil {
		return fmt.Errorf("saving the weights: %w", err)
	}
	fmt.Fprintf(stdout, "held-out accuracy %.2f%% after %d epochs in %v; weights saved to %s\n",
		100*accuracy, cfg.Epochs, elapsed.Round(time.Millisecond), cfg.Out)
	return nil
}

// trainEpoch runs one Adam step per batch of a fresh shuffle of the
// training samples, the last one on the samples left (TrainStepBatch), as
// PyTorch's DataLoader does by default, and returns the mean loss per
// sample.
func trainEpoch(model *digitsmodel.Model, samples []digitsdata.Sample, train []int, rng *rand.Rand, onBatch func(done int)) float64 {
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var labels [digitsmodel.Batch]int
	var sum float64
	for start := 0; start < len(train); start += digitsmodel.Batch {
		n := min(digitsmodel.Batch, len(train)-start)
		for i, idx := range train[start : start+n] {
			x[i], labels[i] = samples[idx].Pixels, samples[idx].Label
		}
		sum += float64(model.TrainStepBatch(x[:n], labels[:n])) * float64(n)
		onBatch(start/digitsmodel.Batch + 1)
	}
	return sum / float64(len(train))
}

// evaluate returns the fraction of the samples at idx that the model
// classifies right, a batch at a time, the last with the samples left.
func evaluate(model *digitsmodel.Model, samples []digitsdata.Sample, idx []int) float64 {
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var y [digitsmodel.Batch][digitsmodel.Outputs]float32
	correct := 0
	for start := 0; start < len(idx); start += digitsmodel.Batch {
		n := min(digitsmodel.Batch, len(idx)-start)
		for i := range n {
			x[i] = samples[idx[start+i]].Pixels
		}
		model.ForwardBatch(x[:n], y[:n])
		for i := range n {
			if argmax(y[i][:]) == samples[idx[start+i]].Label {
				correct++
			}
		}
	}
	return float64(correct) / float64(len(idx))
}

// argmax returns the index of the largest logit, the predicted class.
func argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}
