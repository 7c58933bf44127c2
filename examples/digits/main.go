// Command digits trains a classifier of handwritten digits (UCI's 8×8
// optical digits as scikit-learn ships them, data/digits.csv.gz) with the
// package nngen generated from model.nn: mini-batches of 32 with Adam, the
// accuracy on a held-out fifth of the digits after each epoch, and the
// trained weights saved as safetensors.
package main

//go:generate go tool nngen build -o digitsmodel model.nn

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

// The data set is compiled in, so that the command runs from any folder.
//
//go:embed data/digits.csv.gz
var digitsCSV []byte

// splitSeed fixes which digits are held out, whatever -seed says, so that
// the accuracies of runs with different seeds are measured on the same
// samples.
const splitSeed = 1797

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
	samples, err := loadDigits(digitsCSV)
	if err != nil {
		return err
	}
	trainSet, testSet := split(samples)
	log := stdout // all but the final line
	if cfg.Quiet {
		log = io.Discard
	}
	fmt.Fprintf(log, "%d digits: %d to train on, %d held out\n", len(samples), len(trainSet), len(testSet))

	model := digitsmodel.New(cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, splitSeed))
	batches := (len(trainSet) + digitsmodel.Batch - 1) / digitsmodel.Batch
	f, ok := log.(*os.File)
	prog := newProgress(log, ok && isTerminal(f), cfg.Epochs, batches)

	start := time.Now()
	var accuracy float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		loss := trainEpoch(model, samples, trainSet, rng, func(done int) { prog.batch(epoch, done) })
		accuracy = evaluate(model, samples, testSet)
		prog.epochDone(epoch, loss, accuracy)
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

// sample is one digit: its 64 pixels, row by row, scaled from 0..16 to [0,1].
type sample struct {
	pixels [digitsmodel.Inputs]float32
	label  int
}

// loadDigits reads the gzipped CSV: one digit a line, 64 pixel values in
// 0..16 and then the label in 0..9.
func loadDigits(gz []byte) ([]sample, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = digitsmodel.Inputs + 1
	r.ReuseRecord = true
	var samples []sample
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("digits.csv.gz: %w", err)
		}
		var s sample
		for i, field := range record {
			v, err := strconv.Atoi(field)
			if err != nil || v < 0 || i < digitsmodel.Inputs && v > 16 || i == digitsmodel.Inputs && v >= digitsmodel.Outputs {
				return nil, fmt.Errorf("digits.csv.gz: line %d, field %d: bad value %q", len(samples)+1, i+1, field)
			}
			if i < digitsmodel.Inputs {
				s.pixels[i] = float32(v) / 16
			} else {
				s.label = v
			}
		}
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		return nil, errors.New("digits.csv.gz: no samples")
	}
	return samples, zr.Close()
}

// split holds out a fifth of each digit's samples (rounded up), chosen by a
// shuffle seeded with splitSeed, and returns the indices of the samples to
// train on and of those held out. Splitting digit by digit keeps the ten
// classes in the same proportions in both parts.
func split(samples []sample) (train, test []int) {
	byLabel := make([][]int, digitsmodel.Outputs)
	for i, s := range samples {
		byLabel[s.label] = append(byLabel[s.label], i)
	}
	rng := rand.New(rand.NewPCG(splitSeed, 0))
	for _, idx := range byLabel {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		held := (len(idx) + 4) / 5
		test = append(test, idx[:held]...)
		train = append(train, idx[held:]...)
	}
	return train, test
}

// trainEpoch runs one Adam step per batch of a fresh shuffle of the
// training samples, the last one on the samples left (TrainStepBatch), as
// PyTorch's DataLoader does by default, and returns the mean loss per
// sample.
func trainEpoch(model *digitsmodel.Model, samples []sample, train []int, rng *rand.Rand, onBatch func(done int)) float64 {
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var labels [digitsmodel.Batch]int
	var sum float64
	for start := 0; start < len(train); start += digitsmodel.Batch {
		n := min(digitsmodel.Batch, len(train)-start)
		for i, idx := range train[start : start+n] {
			x[i], labels[i] = samples[idx].pixels, samples[idx].label
		}
		sum += float64(model.TrainStepBatch(x[:n], labels[:n])) * float64(n)
		onBatch(start/digitsmodel.Batch + 1)
	}
	return sum / float64(len(train))
}

// evaluate returns the fraction of the samples at idx that the model
// classifies right, a batch at a time, the last with the samples left.
func evaluate(model *digitsmodel.Model, samples []sample, idx []int) float64 {
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var y [digitsmodel.Batch][digitsmodel.Outputs]float32
	correct := 0
	for start := 0; start < len(idx); start += digitsmodel.Batch {
		n := min(digitsmodel.Batch, len(idx)-start)
		for i := range n {
			x[i] = samples[idx[start+i]].pixels
		}
		model.ForwardBatch(x[:n], y[:n])
		for i := range n {
			if argmax(y[i][:]) == samples[idx[start+i]].label {
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
