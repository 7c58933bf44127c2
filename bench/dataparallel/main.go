// Command dataparallel measures data parallelism on W3 (784-512-512-10,
// batch 64, SGD; the network of docs/performance.md): the time of a
// training step of one process on the whole batch, or of mpirun's ranks
// each on its share with the gradients averaged by runtime/dist, and of
// the all-reduce alone. docs/distributed.md has the commands and numbers:
//
//	go build -o /tmp/w3dist ./bench/dataparallel
//	/tmp/w3dist                                          # one process, GOMAXPROCS cores
//	mpirun -np 2 --map-by ppr:1:node:pe=1 /tmp/w3dist    # 2 ranks, a core each (on one machine: ppr:2:node:pe=1)
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/nngen/nngen/bench/w3"
	"github.com/nngen/nngen/runtime/dist"
)

func main() {
	steps := flag.Int("steps", 200, "training steps to time, after 10 to warm up")
	flag.Parse()
	c, why := dist.Auto()
	defer c.Close()
	if err := run(c, *steps); err != nil {
		fmt.Fprintf(os.Stderr, "dataparallel: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
	if c.Rank() == 0 {
		fmt.Fprintln(os.Stderr, "dataparallel:", why)
	}
}

func run(c *dist.Comm, steps int) error {
	m := w3.New(1)
	var x [w3.Batch][w3.Inputs]float32
	var labels [w3.Batch]int
	for i := range x {
		for j := range x[i] {
			x[i][j] = float32((i*7+j*13)%17) / 17
		}
		labels[i] = i % w3.Outputs
	}
	lo, hi := c.Shard(w3.Batch)
	var inAllReduce time.Duration
	step := func() error {
		m.BackwardBatch(x[lo:hi], labels[lo:hi])
		start := time.Now()
		if err := dist.AverageGrads(c, m); err != nil {
			return err
		}
		inAllReduce += time.Since(start)
		m.Step()
		return nil
	}
	for range 10 {
		if err := step(); err != nil {
			return err
		}
	}
	if err := c.Barrier(); err != nil {
		return err
	}
	inAllReduce = 0
	start := time.Now()
	for range steps {
		if err := step(); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	if c.Rank() == 0 {
		per := elapsed / time.Duration(steps)
		fmt.Printf("W3 batch %d on %d rank(s) of %d samples, GOMAXPROCS %d: %v per step, of which %v in the all-reduce of %.1f MiB\n",
			w3.Batch, c.Size(), hi-lo, runtime.GOMAXPROCS(0), per.Round(time.Microsecond),
			(inAllReduce / time.Duration(steps)).Round(time.Microsecond), float64(len(m.GradBlock())*4)/(1<<20))
	}
	return nil
}
