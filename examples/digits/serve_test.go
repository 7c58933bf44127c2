package main

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digits/digitsmodel"
)

// served is the README's "Serving" pattern: a model no one trains, and a
// pool of its predictors.
type served struct {
	model      *digitsmodel.Model
	predictors sync.Pool
}

func serve(m *digitsmodel.Model) *served {
	s := &served{model: m}
	s.predictors.New = func() any { return m.NewPredictor() }
	return s
}

// TestServeWhileTraining runs the README's way of serving while training:
// eight goroutines predict through the current served model while another
// trains its own model and publishes a copy of its weights every few
// steps (LoadParams into a fresh model, swapped in with an atomic.Pointer).
// Under go test -race (CI runs it so) nothing may race. Each prediction must
// also equal what the model it came from gives in Forward, in eval mode.
func TestServeWhileTraining(t *testing.T) {
	data, err := digitsdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[served]
	trainer := digitsmodel.New(1)
	first := digitsmodel.New(0)
	first.LoadParams(trainer)
	current.Store(serve(first))

	const published = 5
	const servers = 8
	done := make(chan struct{})
	// The trainer starts once every server has made a prediction, so that
	// they overlap however the goroutines are scheduled (a loaded machine
	// could otherwise run the 20 steps before any server).
	var ready sync.WaitGroup
	ready.Add(servers)
	var wg sync.WaitGroup
	wg.Go(func() { // the trainer
		defer close(done)
		ready.Wait()
		rng := rand.New(rand.NewPCG(1, 2))
		var x [digitsmodel.Batch][digitsmodel.Inputs]float32
		var labels [digitsmodel.Batch]int
		for step := range 4 * published {
			for i := range x {
				s := data[rng.IntN(len(data))]
				x[i], labels[i] = s.Pixels, s.Label
			}
			trainer.TrainStep(&x, &labels)
			if step%4 == 3 {
				next := digitsmodel.New(0)
				next.LoadParams(trainer)
				current.Store(serve(next))
			}
		}
	})
	var predictions atomic.Int64
	for g := range servers {
		wg.Go(func() {
			var x [digitsmodel.Batch][digitsmodel.Inputs]float32
			for i := range x {
				x[i] = data[(g*digitsmodel.Batch+i)%len(data)].Pixels
			}
			for first := true; ; first = false {
				if !first {
					select {
					case <-done:
						return
					default:
					}
				}
				s := current.Load()
				p := s.predictors.Get().(*digitsmodel.Predictor)
				var y [digitsmodel.Batch][digitsmodel.Outputs]float32
				p.Forward(&x, &y)
				s.predictors.Put(p)
				predictions.Add(1)
				if first {
					ready.Done()
				}
				if g == 0 { // the served model's own Forward agrees (this goroutine alone calls it)
					var want [digitsmodel.Batch][digitsmodel.Outputs]float32
					s.model.Forward(&x, &want)
					for i := range want {
						for j := range want[i] {
							if d := y[i][j] - want[i][j]; d > 1e-5 || d < -1e-5 {
								t.Errorf("sample %d, logit %d: a predictor gives %v, its model's Forward %v", i, j, y[i][j], want[i][j])
								return
							}
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if predictions.Load() == 0 {
		t.Error("no prediction ran while the model trained")
	}
	t.Logf("%d predictions of a batch of %d while %d models were published", predictions.Load(), digitsmodel.Batch, published)
}
