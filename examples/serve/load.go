package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nngen/nngen/examples/digits/digitsmodel"
)

// report is what a load test measured.
type report struct {
	requests   int
	elapsed    time.Duration
	p50, p99   time.Duration
	clients    int
	failures   int
	firstError error
}

func (r report) String() string {
	s := fmt.Sprintf("%d requests from %d clients in %v: %.0f requests/s, latency p50 %v, p99 %v",
		r.requests, r.clients, r.elapsed.Round(time.Millisecond), float64(r.requests)/r.elapsed.Seconds(),
		r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
	if r.failures > 0 {
		s += fmt.Sprintf("; %d failed, the first: %v", r.failures, r.firstError)
	}
	return s
}

// load posts predictions to url from clients goroutines, each one request
// at a time, for d, and measures each request's latency.
func load(ctx context.Context, url string, clients int, d time.Duration) (report, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(d)
	latencies := make([][]time.Duration, clients)
	failures := make([]int, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var body struct {
				Pixels [digitsmodel.Inputs]float64 `json:"pixels"`
			}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				for i := range body.Pixels {
					body.Pixels[i] = float64(rng.IntN(17)) / 16
				}
				data, _ := json.Marshal(body)
				t0 := time.Now()
				err := post(ctx, client, url, data)
				latencies[c] = append(latencies[c], time.Since(t0))
				if err != nil {
					failures[c]++
					if errs[c] == nil {
						errs[c] = err
					}
				}
			}
		})
	}
	wg.Wait()
	r := report{elapsed: time.Since(start), clients: clients}
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return r, fmt.Errorf("no request completed in %v", d)
	}
	slices.Sort(all)
	r.requests = len(all)
	r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	for c := range clients {
		r.failures += failures[c]
		if r.firstError == nil {
			r.firstError = errs[c]
		}
	}
	return r, nil
}

// post sends one prediction request and reads the answer.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var p prediction
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(&p)
}
