package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

func checkpointModel(t testing.TB) *digitsmodel.Model {
	t.Helper()
	m := digitsmodel.New(0)
	if err := safetensors.Read(checkpoint, m.Params()); err != nil {
		t.Fatal(err)
	}
	m.Eval()
	return m
}

// TestPredict sends 256 requests from 16 goroutines at once: every answer
// must be what the model gives for that input alone (ForwardBatch on one
// sample), whichever requests it was batched with: the same digit, and
// logits within float32 rounding (see sameLogits).
func TestPredict(t *testing.T) {
	model := checkpointModel(t)
	s := newServer(model, 2)
	defer s.close()
	ts := httptest.NewServer(s)
	defer ts.Close()

	reference := model.NewPredictor()
	var mu sync.Mutex // reference is one goroutine's at a time
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 16 {
				var pixels [digitsmodel.Inputs]float64
				var x [1][digitsmodel.Inputs]float32
				for i := range pixels {
					pixels[i] = float64(rng.IntN(17)) / 16
					x[0][i] = float32(pixels[i])
				}
				data, _ := json.Marshal(map[string]any{"pixels": pixels})
				resp, err := http.Post(ts.URL+"/predict", "application/json", bytes.NewReader(data))
				if err != nil {
					t.Error(err)
					return
				}
				var got prediction
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("status %s, %v", resp.Status, err)
					return
				}
				var y [1][digitsmodel.Outputs]float32
				mu.Lock()
				reference.ForwardBatch(x[:], y[:])
				mu.Unlock()
				if !sameLogits(got.Logits, y[0]) || got.Digit != argmax(y[0][:]) {
					t.Errorf("served %+v, the model gives %v", got, y[0])
					return
				}
			}
		})
	}
	wg.Wait()
	if s.batches.Load() == 0 || s.predictions.Load() != 256 {
		t.Errorf("%d predictions in %d batches, want 256", s.predictions.Load(), s.batches.Load())
	}
}

// TestBadRequests: every malformed request gets a 4xx that says what is
// wrong, and reaches no worker.
// sameLogits reports whether two predictions' logits agree within 1e-5
// of the largest: a sample's outputs do not depend on the others in its
// batch, but the GEMM kernels chosen for 1 to 6 rows and for more sum in
// other orders, so the last bits may.
func sameLogits(a, b [digitsmodel.Outputs]float32) bool {
	var diff, scale float64
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(b[i])))
	}
	return diff <= 1e-5*scale
}

// TestBatchesAgree: what TestPredict relies on, whatever batches the
// server happens to make. A sample's outputs from ForwardBatch are the same
// alone and among 1 to 32 samples (sameLogits).
func TestBatchesAgree(t *testing.T) {
	p := checkpointModel(t).NewPredictor()
	rng := rand.New(rand.NewPCG(3, 4))
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var alone [digitsmodel.Batch][digitsmodel.Outputs]float32
	for i := range x {
		for j := range x[i] {
			x[i][j] = float32(rng.IntN(17)) / 16
		}
		p.ForwardBatch(x[i:i+1], alone[i:i+1])
	}
	for n := 1; n <= digitsmodel.Batch; n++ {
		var y [digitsmodel.Batch][digitsmodel.Outputs]float32
		p.ForwardBatch(x[:n], y[:n])
		for i := range n {
			if !sameLogits(y[i], alone[i]) {
				t.Fatalf("sample %d among %d: %v, alone %v", i, n, y[i], alone[i])
			}
		}
	}
}

func TestBadRequests(t *testing.T) {
	s := newServer(checkpointModel(t), 1)
	defer s.close()
	ts := httptest.NewServer(s)
	defer ts.Close()
	pixels := func(n int, v float64) string {
		vs := make([]string, n)
		for i := range vs {
			vs[i] = fmt.Sprint(v)
		}
		return `{"pixels": [` + strings.Join(vs, ",") + `]}`
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/predict", "", http.StatusMethodNotAllowed, "POST a JSON object"},
		{"POST", "/other", pixels(64, 0), http.StatusNotFound, "not found"},
		{"POST", "/predict", "not json", http.StatusBadRequest, "is not a JSON object"},
		{"POST", "/predict", pixels(63, 0), http.StatusBadRequest, "pixels has 63 numbers, want 64"},
		{"POST", "/predict", pixels(64, 1.5), http.StatusBadRequest, "pixel 0 is 1.5, want a number from 0 to 1"},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(strings.ToLower(msg.String()), strings.ToLower(c.want)) {
			t.Errorf("%s %s %.20q: %s %q, want %d and %q", c.method, c.path, c.body, resp.Status, msg.String(), c.status, c.want)
		}
	}
	if n := s.predictions.Load(); n != 0 {
		t.Errorf("bad requests made %d predictions", n)
	}
}

// TestLoadTest runs the command's -loadtest briefly: it serves on a
// loopback port, loads it, and prints its figures.
func TestLoadTest(t *testing.T) {
	var out bytes.Buffer
	if err := run("", "", 2, 300*time.Millisecond, 4, &out); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\d+ requests from 4 clients in [\d.]+m?s: \d+ requests/s, latency p50 [\d.]+[µm]?s, p99 [\d.]+[µm]?s; 2 workers, batches of [\d.]+ requests on average\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("the load test printed %q", out.String())
	}
}

// BenchmarkForwardBatch times a worker's call on one request and on a
// full batch of 32: what a request costs the server besides HTTP and JSON.
func BenchmarkForwardBatch(b *testing.B) {
	p := checkpointModel(b).NewPredictor()
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var y [digitsmodel.Batch][digitsmodel.Outputs]float32
	for _, n := range []int{1, digitsmodel.Batch} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			for b.Loop() {
				p.ForwardBatch(x[:n], y[:n])
			}
		})
	}
}
