// Command serve answers handwritten-digit predictions over HTTP with the
// digits example's model (examples/digits), loaded from its safetensors
// checkpoint. Requests that arrive together are run together: a worker
// takes the first waiting request and every other one already waiting, up
// to the model's batch of 32, and runs them through one ForwardBatch of its
// own Predictor; the workers share the model's weights.
//
//	go run ./examples/serve                    # serve on 127.0.0.1:8080
//	go run ./examples/serve -loadtest 5s       # serve on a loopback port and load-test it
//
// POST /predict {"pixels": [64 numbers in 0..1, row by row]} answers
// {"digit": 3, "logits": [10 numbers]}.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsmodel"
	"github.com/nngen/nngen/runtime/safetensors"
)

// checkpoint is what `go run ./examples/digits -out examples/serve/digits.safetensors`
// saved (97% held out), compiled in so that the command runs from any folder.
//
//go:embed digits.safetensors
var checkpoint []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	weights := flag.String("weights", "", "a safetensors checkpoint of the digits model (default: the one compiled in)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "goroutines running batches, each with its own Predictor")
	loadtest := flag.Duration("loadtest", 0, "serve on a loopback port, load it for this long with -clients clients, print the figures and exit")
	clients := flag.Int("clients", 64, "concurrent clients of -loadtest, each sending one request at a time")
	flag.Parse()
	if err := run(*addr, *weights, *workers, *loadtest, *clients, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

func run(addr, weights string, workers int, loadtest time.Duration, clients int, stdout io.Writer) error {
	if workers < 1 || clients < 1 {
		return fmt.Errorf("-workers and -clients must be at least 1")
	}
	model := digitsmodel.New(0)
	model.Eval()
	var err error
	if weights == "" {
		err = safetensors.Read(checkpoint, model.Params())
	} else {
		err = safetensors.Load(weights, model.Params())
	}
	if err != nil {
		return err
	}
	s := newServer(model, workers)
	defer s.close()
	if loadtest > 0 {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	if loadtest == 0 {
		fmt.Fprintf(stdout, "serving the digits model on http://%s/predict with %d workers\n", ln.Addr(), workers)
		return srv.Serve(ln)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	r, err := load(context.Background(), "http://"+ln.Addr().String()+"/predict", clients, loadtest)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s; %d workers, batches of %.1f requests on average\n", r, workers, s.meanBatch())
	return nil
}

// request is one prediction waiting for a worker.
type request struct {
	pixels [digitsmodel.Inputs]float32
	reply  chan prediction // buffered: a worker never waits on a client
}

type prediction struct {
	Digit  int                          `json:"digit"`
	Logits [digitsmodel.Outputs]float32 `json:"logits"`
}

// server batches the requests of its HTTP handler for its workers.
type server struct {
	queue                chan *request
	done                 chan struct{}
	batches, predictions atomic.Int64 // for meanBatch
}

func newServer(model *digitsmodel.Model, workers int) *server {
	s := &server{queue: make(chan *request, 4*digitsmodel.Batch*workers), done: make(chan struct{})}
	for range workers {
		go s.work(model.NewPredictor())
	}
	return s
}

func (s *server) close() { close(s.done) }

// work runs batches: the first waiting request and every other one already
// queued, up to a batch, through one ForwardBatch on as many samples.
func (s *server) work(p *digitsmodel.Predictor) {
	var x [digitsmodel.Batch][digitsmodel.Inputs]float32
	var y [digitsmodel.Batch][digitsmodel.Outputs]float32
	batch := make([]*request, 0, digitsmodel.Batch)
	for {
		select {
		case <-s.done:
			return
		case first := <-s.queue:
			batch = append(batch[:0], first)
		}
	fill:
		for len(batch) < digitsmodel.Batch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		n := len(batch)
		for i, r := range batch {
			x[i] = r.pixels
		}
		p.ForwardBatch(x[:n], y[:n])
		for i, r := range batch {
			r.reply <- prediction{Digit: argmax(y[i][:]), Logits: y[i]}
		}
		s.batches.Add(1)
		s.predictions.Add(int64(len(batch)))
	}
}

// meanBatch is the mean number of requests per ForwardBatch so far.
func (s *server) meanBatch() float64 {
	if b := s.batches.Load(); b > 0 {
		return float64(s.predictions.Load()) / float64(b)
	}
	return 0
}

// ServeHTTP answers POST /predict.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/predict" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a JSON object {\"pixels\": [64 numbers]}", http.StatusMethodNotAllowed)
		return
	}
	var body struct {
		Pixels []float64 `json:"pixels"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		http.Error(w, "the body is not a JSON object {\"pixels\": [64 numbers]}: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := &request{reply: make(chan prediction, 1)}
	if err := readPixels(&req.pixels, body.Pixels); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case s.queue <- req:
	case <-r.Context().Done():
		return
	}
	select {
	case p := <-req.reply:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	case <-r.Context().Done():
	}
}

// readPixels checks a request's pixels and converts them.
func readPixels(dst *[digitsmodel.Inputs]float32, pixels []float64) error {
	if len(pixels) != digitsmodel.Inputs {
		return fmt.Errorf("pixels has %d numbers, want %d (8×8, row by row)", len(pixels), digitsmodel.Inputs)
	}
	for i, v := range pixels {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("pixel %d is %v, want a number from 0 to 1", i, v)
		}
		dst[i] = float32(v)
	}
	return nil
}

func argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}
