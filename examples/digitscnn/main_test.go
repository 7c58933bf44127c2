package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digitscnn/cnnmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

// TestRun trains with the command's defaults, as `go run ./examples/digitscnn`
// does (a few seconds), checks that it reaches 98% on the held-out digits,
// and checks the checkpoint it saves: PyTorch's names, dtypes and shapes, the
// metadata load_checkpoint.py reads, and weights that give the same accuracy
// once loaded into a new model.
func TestRun(t *testing.T) {
	cfg := defaults
	cfg.Out = filepath.Join(t.TempDir(), "digitscnn.safetensors")
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
	t.Logf("held-out accuracy %.2f%%", accuracy)
	if accuracy < 98 {
		t.Errorf("held-out accuracy %.2f%%, want at least 98%%", accuracy)
	}

	metadata := checkCheckpoint(t, cfg.Out)
	if got := metadata["accuracy"]; got != fmt.Sprintf("%.4f", accuracy/100) {
		t.Errorf("metadata accuracy %q, want the %.2f%% reached as a fraction", got, accuracy)
	}
	samples, err := digitsdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, heldOut := digitsdata.Split(samples)
	if got, want := metadata["held_out"], metadataHeldOut(heldOut); got != want {
		t.Errorf("metadata held_out %.40q..., want the held-out indices %.40q...", got, want)
	}
	loaded := cnnmodel.New(0)
	if err := safetensors.Load(cfg.Out, loaded.Params()); err != nil {
		t.Fatal(err)
	}
	if got := 100 * evaluate(loaded, samples, heldOut); fmt.Sprintf("%.2f", got) != m[1] {
		t.Errorf("the loaded model's held-out accuracy is %.2f%%, the trained one's %s%%", got, m[1])
	}
}

func metadataHeldOut(idx []int) string {
	return metadata(config{}, 0, idx)["held_out"]
}

// TestCheckpoint trains briefly, saves a checkpoint and checks that a new
// model loading it predicts as the trained one does, sample by sample.
func TestCheckpoint(t *testing.T) {
	cfg := defaults
	cfg.Epochs = 1
	model, accuracy, heldOut, err := train(cfg, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := safetensors.Save(path, model.Params(), metadata(cfg, accuracy, heldOut)); err != nil {
		t.Fatal(err)
	}
	checkCheckpoint(t, path)
	loaded := cnnmodel.New(cfg.Seed + 1)
	if err := safetensors.Load(path, loaded.Params()); err != nil {
		t.Fatal(err)
	}
	samples, err := digitsdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, len(samples))
	for i := range all {
		all[i] = i
	}
	if got, want := predict(loaded, samples, all), predict(model, samples, all); !slices.Equal(got, want) {
		t.Error("the loaded model's predictions differ from the trained model's")
	}
}

// stateDictLine is a tensor as testdata/state_dict.txt lists it, in the
// order of PyTorch's state_dict.
func stateDictLine(name, dtype string, shape []int) string {
	return fmt.Sprintf("%s %s %v", name, dtype, strings.ReplaceAll(fmt.Sprint(shape), " ", ", "))
}

// wantStateDict returns the lines of testdata/state_dict.txt, what
// `python3 load_checkpoint.py --state-dict` prints: the names, dtypes and
// shapes of the PyTorch module's state_dict.
func wantStateDict(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/state_dict.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	if len(lines) == 0 {
		t.Fatal("testdata/state_dict.txt is empty")
	}
	return lines
}

// checkCheckpoint reads the safetensors header of the file at path by hand,
// as load_checkpoint.py does, checks that its tensors are those of the
// PyTorch module's state_dict, with the same dtypes and shapes, and returns
// its metadata.
func checkCheckpoint(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 8 {
		t.Fatalf("the checkpoint has only %d bytes", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		t.Fatalf("header of %d bytes in a file of %d", n, len(data))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatalf("the checkpoint's header: %v", err)
	}
	var metadata map[string]string
	if err := json.Unmarshal(header["__metadata__"], &metadata); err != nil {
		t.Fatalf("the checkpoint's metadata: %v", err)
	}
	delete(header, "__metadata__")
	var got []string
	for name, raw := range header {
		var info struct {
			DType string `json:"dtype"`
			Shape []int  `json:"shape"`
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got = append(got, stateDictLine(name, info.DType, info.Shape))
	}
	want := wantStateDict(t)
	slices.Sort(got)
	if sorted := slices.Sorted(slices.Values(want)); !slices.Equal(got, sorted) {
		t.Errorf("the checkpoint has\n%s\nPyTorch's state_dict (testdata/state_dict.txt)\n%s", strings.Join(got, "\n"), strings.Join(sorted, "\n"))
	}
	return metadata
}

// TestParamsStateDict checks that the generated model's Params are PyTorch's
// state_dict in its order, as safetensors.Save writes them.
func TestParamsStateDict(t *testing.T) {
	var got []string
	for _, p := range cnnmodel.New(0).Params() {
		got = append(got, stateDictLine(p.Name, "F32", p.Shape))
	}
	if want := wantStateDict(t); !slices.Equal(got, want) {
		t.Errorf("Params\n%s\nPyTorch's state_dict (testdata/state_dict.txt)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRunQuiet checks that -quiet leaves only the final line.
func TestRunQuiet(t *testing.T) {
	cfg := defaults
	cfg.Epochs, cfg.Quiet = 1, true
	cfg.Out = filepath.Join(t.TempDir(), "w.safetensors")
	var out bytes.Buffer
	if err := run(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "held-out accuracy ") || strings.Count(s, "\n") != 1 {
		t.Errorf("quiet output %q, want the final line only", s)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, change := range []func(*config){
		func(c *config) { c.Epochs = 0 },
		func(c *config) { c.Shift = -1 },
		func(c *config) { c.Shift = 8 },
		func(c *config) { c.LR = -1 },
		func(c *config) { c.LR = math.NaN() },
	} {
		cfg := defaults
		cfg.Out = filepath.Join(t.TempDir(), "w.safetensors")
		change(&cfg)
		if err := run(cfg, new(bytes.Buffer)); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
		if _, err := os.Stat(cfg.Out); err == nil {
			t.Errorf("%+v: a checkpoint was saved", cfg)
		}
	}
}

// TestToImage checks the shifts against torchvision's RandomCrop(8,
// padding=1): a crop of the image padded with a ring of zeros.
func TestToImage(t *testing.T) {
	var pixels [digitsdata.Pixels]float32
	for i := range pixels {
		pixels[i] = float32(i + 1)
	}
	var padded [digitsdata.Size + 2][digitsdata.Size + 2]float32
	for y := range digitsdata.Size {
		for x := range digitsdata.Size {
			padded[y+1][x+1] = pixels[y*digitsdata.Size+x]
		}
	}
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			img := toImage(&pixels, dy, dx)
			for y := range digitsdata.Size {
				for x := range digitsdata.Size {
					if got, want := img[0][y][x], padded[y+1-dy][x+1-dx]; got != want {
						t.Fatalf("shift (%d, %d): pixel (%d, %d) is %v, want %v", dy, dx, y, x, got, want)
					}
				}
			}
		}
	}
}

// TestCosineLR checks the schedule against PyTorch's
// CosineAnnealingLR(optimizer, T_max=4) with lr=1, stepped after each epoch:
// [group["lr"] for each epoch].
func TestCosineLR(t *testing.T) {
	want := []float64{1, 0.8535533905932737, 0.5, 0.14644660940672627}
	for epoch := 1; epoch <= len(want); epoch++ {
		if got := cosineLR(1, epoch, len(want)); math.Abs(got-want[epoch-1]) > 1e-12 {
			t.Errorf("epoch %d: lr %v, want %v", epoch, got, want[epoch-1])
		}
	}
}

// TestPredictLastBatch checks that the last, smaller batch predicts its own
// samples: the predictions of a set are each sample's own.
func TestPredictLastBatch(t *testing.T) {
	samples, err := digitsdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	model := cnnmodel.New(1)
	idx := make([]int, 37) // a batch and 5
	var want []int
	for i := range idx {
		idx[i] = 40 * i
		want = append(want, predict(model, samples, idx[i:i+1])...)
	}
	if got := predict(model, samples, idx); !slices.Equal(got, want) {
		t.Errorf("predictions %v, want each sample's own %v", got, want)
	}
}

func BenchmarkTrainStep(b *testing.B) {
	samples, err := digitsdata.Load()
	if err != nil {
		b.Fatal(err)
	}
	model := cnnmodel.New(1)
	var x [cnnmodel.Batch]image
	var labels [cnnmodel.Batch]int
	for i := range cnnmodel.Batch {
		x[i], labels[i] = toImage(&samples[i].Pixels, 0, 0), samples[i].Label
	}
	b.ReportAllocs()
	for b.Loop() {
		model.TrainStep(&x, &labels)
	}
}
