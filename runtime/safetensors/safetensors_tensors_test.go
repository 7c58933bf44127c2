package safetensors

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

func TestTensorsRoundTrip(t *testing.T) {
	var steps, count int64 = 7, 1 << 40
	lr := float32(0.25)
	w := []float32{1, -2, 3.5, 1e-30}
	tensors := func(w []float32, count, steps *int64, lr *float32) []nnrt.Tensor[float32] {
		return []nnrt.Tensor[float32]{
			{Name: "fc.weight", Shape: []int{2, 2}, Float: w},
			{Name: "bn.num_batches_tracked", Shape: []int{}, Int: unsafe.Slice(count, 1)},
			{Name: "optimizer.state.0.step", Shape: []int{}, Int: unsafe.Slice(steps, 1)},
			{Name: "optimizer.state.1.step", Shape: []int{}, Int: unsafe.Slice(steps, 1)},
			{Name: "optimizer.param_groups.0.lr", Shape: []int{}, Float: unsafe.Slice(lr, 1)},
		}
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := SaveTensors(path, tensors(w, &count, &steps, &lr), map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	var steps2, count2 int64
	var lr2 float32
	w2 := make([]float32, 4)
	if err := LoadTensors(path, tensors(w2, &count2, &steps2, &lr2)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w, w2) || steps2 != 7 || count2 != 1<<40 || lr2 != 0.25 {
		t.Errorf("loaded %v %d %d %v", w2, steps2, count2, lr2)
	}

	// Two entries of one step count that disagree, an int tensor stored as
	// a float, a float as an int: every problem, and nothing changes.
	var buf bytes.Buffer
	var five int64 = 5
	bad := tensors(w, &count, &steps, &lr)
	bad[3].Int = unsafe.Slice(&five, 1) // a different step for parameter 1
	if err := WriteTensors(&buf, bad, nil); err != nil {
		t.Fatal(err)
	}
	steps2, w2[0] = 0, 42
	err := ReadTensors(buf.Bytes(), tensors(w2, &count2, &steps2, &lr2))
	if err == nil || !strings.Contains(err.Error(), "optimizer.state.1.step is [5] but optimizer.state.0.step is [7]") {
		t.Errorf("steps that disagree: %v", err)
	}
	if steps2 != 0 || w2[0] != 42 {
		t.Errorf("a failed load changed the model: steps %d, w %v", steps2, w2)
	}
	var swapped bytes.Buffer
	wrong := tensors(w, &count, &steps, &lr)
	wrong[1] = nnrt.Tensor[float32]{Name: "bn.num_batches_tracked", Shape: []int{}, Float: []float32{1}}
	wrong[4] = nnrt.Tensor[float32]{Name: "optimizer.param_groups.0.lr", Shape: []int{}, Int: []int64{1}}
	if err := WriteTensors(&swapped, wrong, nil); err != nil {
		t.Fatal(err)
	}
	err = ReadTensors(swapped.Bytes(), tensors(w2, &count2, &steps2, &lr2))
	for _, want := range []string{"bn.num_batches_tracked: dtype F32 in the file, the model holds integers: I64",
		"optimizer.param_groups.0.lr: dtype I64 is not a floating-point type nngen can load"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want a line %s", err, want)
		}
	}
}
