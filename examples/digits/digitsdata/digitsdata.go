// Package digitsdata is what the digits examples (examples/digits, an MLP,
// and examples/digitscnn, a CNN) share: the UCI handwritten digits compiled
// in (digits.csv.gz, its source and licence in README.md), the split into
// digits to train on and digits held out, the same for every run and every
// example, and the per-epoch progress report.
package digitsdata

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// The data set is compiled in, so that the commands run from any folder.
//
//go:embed digits.csv.gz
var digitsCSV []byte

const (
	Size    = 8           // an image is Size×Size pixels
	Pixels  = Size * Size // pixels of an image
	Classes = 10          // the digits 0 to 9
)

// SplitSeed fixes which digits are held out, whatever the examples' -seed
// says, so that the accuracies of runs with different seeds (and of
// different models) are measured on the same samples. The examples also use
// it as the second word of the seed of the order of their batches.
const SplitSeed = 1797

// Sample is one digit: its 64 pixels, row by row, scaled from 0..16 to
// [0,1], and the digit it shows.
type Sample struct {
	Pixels [Pixels]float32
	Label  int
}

// Load returns the 1,797 digits of the compiled-in data set, in the order of
// the lines of digits.csv.gz.
func Load() ([]Sample, error) {
	return parse(digitsCSV)
}

// parse reads the gzipped CSV: one digit a line, 64 pixel values in 0..16
// and then the label in 0..9.
func parse(gz []byte) ([]Sample, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = Pixels + 1
	r.ReuseRecord = true
	var samples []Sample
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("digits.csv.gz: %w", err)
		}
		var s Sample
		for i, field := range record {
			v, err := strconv.Atoi(field)
			if err != nil || v < 0 || i < Pixels && v > 16 || i == Pixels && v >= Classes {
				return nil, fmt.Errorf("digits.csv.gz: line %d, field %d: bad value %q", len(samples)+1, i+1, field)
			}
			if i < Pixels {
				s.Pixels[i] = float32(v) / 16
			} else {
				s.Label = v
			}
		}
		samples = append(samples, s)
	}
	if len(samples) == 0 {
		return nil, errors.New("digits.csv.gz: no samples")
	}
	return samples, zr.Close()
}

// Split holds out a fifth of each digit's samples (rounded up), chosen by a
// shuffle seeded with SplitSeed, and returns the indices of the samples to
// train on and of those held out. Splitting digit by digit keeps the ten
// classes in the same proportions in both parts.
func Split(samples []Sample) (train, test []int) {
	byLabel := make([][]int, Classes)
	for i, s := range samples {
		byLabel[s.Label] = append(byLabel[s.Label], i)
	}
	rng := rand.New(rand.NewPCG(SplitSeed, 0))
	for _, idx := range byLabel {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		held := (len(idx) + 4) / 5
		test = append(test, idx[:held]...)
		train = append(train, idx[held:]...)
	}
	return train, test
}
