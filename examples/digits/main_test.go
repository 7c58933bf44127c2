package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digits/digitsmodel"
)

// TestRun trains with the command's defaults, as `go run ./examples/digits`
// does (about 1.5 s), and checks the accuracy it reaches and the weights it
// saves.
func TestRun(t *testing.T) {
	cfg := defaults
	cfg.Out = filepath.Join(t.TempDir(), "digits.safetensors")
	var out bytes.Buffer
	if err := run(cfg, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+cfg.Epochs+1 {
		t.Fatalf("%d lines, want a header, one per epoch and a summary:\n%s", len(lines), out.String())
	}
	m := regexp.MustCompile(`^held-out accuracy ([0-9.]+)% after`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("no accuracy in the last line %q", lines[len(lines)-1])
	}
	accuracy, _ := strconv.ParseFloat(m[1], 64)
	if accuracy < 95 {
		t.Errorf("held-out accuracy %.2f%%, want at least 95%%", accuracy)
	}

	data, err := os.ReadFile(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	// The safetensors header: its length, then JSON with the metadata.
	var header struct {
		Metadata map[string]string `json:"__metadata__"`
	}
	if len(data) < 8 {
		t.Fatalf("the weights file has only %d bytes", len(data))
	}
	if n := binary.LittleEndian.Uint64(data); n > uint64(len(data)-8) || json.Unmarshal(data[8:8+n], &header) != nil {
		t.Fatal("the weights file does not start with a safetensors header")
	}
	if saved, _ := strconv.ParseFloat(header.Metadata["accuracy"], 64); saved < 0.95 || saved > 1 {
		t.Errorf("metadata accuracy %q, want the accuracy reached as a fraction", header.Metadata["accuracy"])
	}
}

// TestRunQuiet checks that -quiet leaves only the final line.
func TestRunQuiet(t *testing.T) {
	cfg := config{Epochs: 1, Seed: 1, Out: filepath.Join(t.TempDir(), "w.safetensors"), Quiet: true}
	var out bytes.Buffer
	if err := run(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "held-out accuracy ") || strings.Count(s, "\n") != 1 {
		t.Errorf("quiet output %q, want the final line only", s)
	}
}

// TestEvaluateLastBatch checks that the last, smaller batch counts its own
// samples: the accuracy of a set is the mean of its samples' own.
func TestEvaluateLastBatch(t *testing.T) {
	samples, err := digitsdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	model := digitsmodel.New(1)
	idx := make([]int, 37) // a batch and 5
	for i := range idx {
		idx[i] = i
	}
	correct := 0.0
	for _, i := range idx {
		correct += evaluate(model, samples, []int{i})
	}
	if got, want := evaluate(model, samples, idx), correct/float64(len(idx)); got != want {
		t.Errorf("accuracy %v, want %v, the mean of each sample's", got, want)
	}
}

func BenchmarkTrainStep(b *testing.B) {
	samples, err := digitsdata.Load()
	if err != nil {
		b.Fatal(err)
	}
	model := digitsmodel.New(1)
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var labels [digitsmodel.Batch]int
	for i := range digitsmodel.Batch {
		x[i], labels[i] = samples[i].Pixels, samples[i].Label
	}
	b.ReportAllocs()
	for b.Loop() {
		model.TrainStep(&x, &labels)
	}
}
