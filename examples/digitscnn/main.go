// Command digitscnn trains a convolutional classifier of handwritten digits
// (UCI's 8×8 optical digits, package digitsdata) with the package nngen
// generated from model.nn: each digit a 1×8×8 image, mini-batches of 32 with
// Adam under a cosine schedule and random shifts of a pixel, the accuracy on
// the same held-out fifth of the digits as examples/digits after each epoch,
// and the trained weights saved as safetensors, which load_checkpoint.py
// loads into the same PyTorch module.
package main

//go:generate go tool nngen build -o cnnmodel model.nn

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digitscnn/cnnmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

// image is one digit as the model takes it: 1 channel of 8×8 pixels.
type image = [1][digitsdata.Size][digitsdata.Size]float32

type config struct {
	Epochs int     // passes over the training split
	Seed   uint64  // initial weights, the order of the batches and the shifts
	LR     float64 // Adam's learning rate in the first epoch, annealed to 0 over Epochs
	Shift  int     // training images move by up to Shift pixels each way; 0: not at all
	Out    string  // where the trained weights go, as safetensors
	Quiet  bool    // no per-epoch progress, only the final line
}

// defaults are the flags' defaults, which reach 98% held-out or more.
var defaults = config{Epochs: 30, Seed: 1, LR: 3e-3, Shift: 1, Out: "digitscnn.safetensors"}

func main() {
	var cfg config
	flag.IntVar(&cfg.Epochs, "epochs", defaults.Epochs, "passes over the training split")
	flag.Uint64Var(&cfg.Seed, "seed", defaults.Seed, "seed of the initial weights, of the order of the batches and of the shifts")
	flag.Float64Var(&cfg.LR, "lr", defaults.LR, "Adam's learning rate in the first epoch, annealed to 0 along a cosine")
	flag.IntVar(&cfg.Shift, "shift", defaults.Shift, "move each training image by up to this many pixels each way (0: no shifts)")
	flag.StringVar(&cfg.Out, "out", defaults.Out, "file to save the trained weights to, as safetensors")
	flag.BoolVar(&cfg.Quiet, "quiet", defaults.Quiet, "print only the final accuracy, not each epoch")
	flag.Parse()
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "digitscnn:", err)
		os.Exit(1)
	}
}

// run trains the model as cfg says, reporting to stdout, and saves it.
func run(cfg config, stdout io.Writer) error {
	log := stdout // all but the final line
	if cfg.Quiet {
		log = io.Discard
	}
	start := time.Now()
	model, accuracy, heldOut, err := train(cfg, log)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := safetensors.Save(cfg.Out, model.Params(), metadata(cfg, accuracy, heldOut)); err != nil {
		return fmt.Errorf("saving the weights: %w", err)
	}
	fmt.Fprintf(stdout, "held-out accuracy %.2f%% after %d epochs in %v; weights saved to %s\n",
		100*accuracy, cfg.Epochs, elapsed.Round(10*time.Millisecond), cfg.Out)
	return nil
}

// train trains a model as cfg says, reporting each epoch to log, and
// returns it with its accuracy on the held-out digits and their indices.
func train(cfg config, log io.Writer) (model *cnnmodel.Model, accuracy float64, heldOut []int, err error) {
	if cfg.Epochs < 1 {
		return nil, 0, nil, fmt.Errorf("-epochs must be at least 1, got %d", cfg.Epochs)
	}
	if cfg.Shift < 0 || cfg.Shift >= digitsdata.Size {
		return nil, 0, nil, fmt.Errorf("-shift must be in 0..%d, got %d", digitsdata.Size-1, cfg.Shift)
	}
	if !(cfg.LR >= 0) || math.IsInf(cfg.LR, 0) {
		return nil, 0, nil, fmt.Errorf("-lr must be a finite number at least 0, got %v", cfg.LR)
	}
	samples, err := digitsdata.Load()
	if err != nil {
		return nil, 0, nil, err
	}
	trainSet, testSet := digitsdata.Split(samples)
	fmt.Fprintf(log, "%d digits: %d to train on, %d held out\n", len(samples), len(trainSet), len(testSet))

	model = cnnmodel.New(cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, digitsdata.SplitSeed))
	batches := (len(trainSet) + cnnmodel.Batch - 1) / cnnmodel.Batch
	f, ok := log.(*os.File)
	prog := digitsdata.NewProgress(log, ok && digitsdata.IsTerminal(f), cfg.Epochs, batches)
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		model.LR = float32(cosineLR(cfg.LR, epoch, cfg.Epochs))
		loss := trainEpoch(model, samples, trainSet, cfg.Shift, rng, func(done int) { prog.Batch(epoch, done) })
		accuracy = evaluate(model, samples, testSet)
		prog.EpochDone(epoch, loss, accuracy)
	}
	return model, accuracy, testSet, nil
}

// metadata is what the checkpoint records besides the weights: the accuracy
// reached, how, and which digits it was measured on (their lines in
// digits.csv.gz, counted from 0), for load_checkpoint.py to measure again.
func metadata(cfg config, accuracy float64, heldOut []int) map[string]string {
	lines := make([]string, len(heldOut))
	for i, idx := range heldOut {
		lines[i] = strconv.Itoa(idx)
	}
	return map[string]string{
		"accuracy": strconv.FormatFloat(accuracy, 'f', 4, 64),
		"epochs":   strconv.Itoa(cfg.Epochs),
		"seed":     strconv.FormatUint(cfg.Seed, 10),
		"held_out": strings.Join(lines, ","),
	}
}

// cosineLR is the learning rate of epoch (from 1) of epochs: lr annealed
// from its full value in the first epoch towards 0 along half a cosine, as
// PyTorch's CosineAnnealingLR(optimizer, T_max=epochs) stepped after each
// epoch.
func cosineLR(lr float64, epoch, epochs int) float64 {
	return lr * (1 + math.Cos(math.Pi*float64(epoch-1)/float64(epochs))) / 2
}

// toImage returns a sample's pixels as an image, moved dy rows down and dx
// columns right; the pixels moved in from outside are 0 (blank paper). It is
// torchvision's RandomCrop(8, padding=1) with the crop at (1-dy, 1-dx).
func toImage(pixels *[digitsdata.Pixels]float32, dy, dx int) image {
	var img image
	for y := range digitsdata.Size {
		sy := y - dy
		if sy < 0 || sy >= digitsdata.Size {
			continue
		}
		for x := range digitsdata.Size {
			if sx := x - dx; sx >= 0 && sx < digitsdata.Size {
				img[0][y][x] = pixels[sy*digitsdata.Size+sx]
			}
		}
	}
	return img
}

// trainEpoch runs one Adam step per batch of a fresh shuffle of the
// training samples, the last one on the samples left (TrainStepBatch), as
// PyTorch's DataLoader does by default, each image moved by a random number
// of pixels in -shift..shift down and right, and returns the mean loss per
// sample.
func trainEpoch(model *cnnmodel.Model, samples []digitsdata.Sample, train []int, shift int, rng *rand.Rand, onBatch func(done int)) float64 {
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	var x [cnnmodel.Batch]image
	var labels [cnnmodel.Batch]int
	var sum float64
	for start := 0; start < len(train); start += cnnmodel.Batch {
		n := min(cnnmodel.Batch, len(train)-start)
		for i, idx := range train[start : start+n] {
			dy, dx := 0, 0
			if shift > 0 {
				dy, dx = rng.IntN(2*shift+1)-shift, rng.IntN(2*shift+1)-shift
			}
			x[i], labels[i] = toImage(&samples[idx].Pixels, dy, dx), samples[idx].Label
		}
		sum += float64(model.TrainStepBatch(x[:n], labels[:n])) * float64(n)
		onBatch(start/cnnmodel.Batch + 1)
	}
	return sum / float64(len(train))
}

// predict returns the model's class for each of the samples at idx, a batch
// at a time, the last with the samples left.
func predict(model *cnnmodel.Model, samples []digitsdata.Sample, idx []int) []int {
	var x [cnnmodel.Batch]image
	var y [cnnmodel.Batch][digitsdata.Classes]float32
	classes := make([]int, 0, len(idx))
	for start := 0; start < len(idx); start += cnnmodel.Batch {
		n := min(cnnmodel.Batch, len(idx)-start)
		for i := range n {
			x[i] = toImage(&samples[idx[start+i]].Pixels, 0, 0)
		}
		model.ForwardBatch(x[:n], y[:n])
		for i := range n {
			classes = append(classes, argmax(y[i][:]))
		}
	}
	return classes
}

// evaluate returns the fraction of the samples at idx that the model
// classifies right.
func evaluate(model *cnnmodel.Model, samples []digitsdata.Sample, idx []int) float64 {
	correct := 0
	for i, class := range predict(model, samples, idx) {
		if class == samples[idx[i]].Label {
			correct++
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
