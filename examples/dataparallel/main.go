// Command dataparallel trains the digits classifier of examples/digits on
// several processes at once (data parallelism, with runtime/dist): every
// rank takes its share of each batch of 32, the ranks average their
// gradients with an all-reduce, and each takes the same Step, the one a
// single process takes on the whole batch. Started alone it trains alone;
// started by mpirun it trains on as many ranks as mpirun starts:
//
//	go run ./examples/dataparallel
//	go build -o /tmp/dataparallel ./examples/dataparallel && mpirun -np 2 /tmp/dataparallel
//
// Both print the same loss curve. -gpu trains the gpu model on one GPU per
// rank, its gradients all-reduced in device memory by NCCL. See README.md
// and docs/distributed.md.
package main

//go:generate go tool nngen build -o sgdmodel sgd.nn
//go:generate go tool nngen build -cuda -o gpumodel gpu.nn

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/nngen/nngen/examples/dataparallel/gpumodel"
	"github.com/nngen/nngen/examples/dataparallel/gpumodel/gpu"
	"github.com/nngen/nngen/examples/dataparallel/sgdmodel"
	"github.com/nngen/nngen/examples/digits/digitsdata"
	"github.com/nngen/nngen/examples/digits/digitsmodel"
	"github.com/nngen/nngen/runtime/dist"
)

// batch is the global batch: the samples of one step, over all ranks (on
// the GPU, gpu.nn's 16 per rank).
const batch = digitsmodel.Batch

type config struct {
	Optimizer string  // adam (examples/digits's model) or sgd (sgd.nn, with momentum)
	Epochs    int     // passes over the training split
	Steps     int     // when above 0, stop after this many steps and print each one's loss
	Seed      uint64  // initial weights and the order of the batches
	GPU       bool    // train gpumodel on the GPU, the gradients all-reduced by NCCL
	Verify    bool    // rank 0 also trains a model on the whole batch, and compares
	Tolerance float64 // the largest difference -verify accepts, relative to the largest parameter
	AllReduce int     // when above 0, time this many all-reduces of 4 MiB (sum, then average) instead of training
}

func main() {
	cfg, err := parse(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	} else if err != nil {
		os.Exit(2)
	}
	c, why := dist.Auto()
	// Closed on return; os.Exit skips it, and a rank that exits without
	// it makes mpirun stop the others and report the failure.
	defer c.Close()
	if c.Rank() == 0 {
		fmt.Fprintln(os.Stderr, "dataparallel:", why)
	}
	if err := run(cfg, c, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "dataparallel: rank %d: %v\n", c.Rank(), err)
		os.Exit(1)
	}
}

func parse(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("dataparallel", flag.ContinueOnError)
	fs.StringVar(&cfg.Optimizer, "optimizer", "adam", "adam (examples/digits's model) or sgd (sgd.nn: SGD with momentum)")
	fs.IntVar(&cfg.Epochs, "epochs", 10, "passes over the training split")
	fs.IntVar(&cfg.Steps, "steps", 0, "stop after this many steps and print the loss of each (0: train -epochs)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the initial weights and of the order of the batches")
	fs.BoolVar(&cfg.GPU, "gpu", false, "train on one GPU per rank, the gradients all-reduced by NCCL (adam only)")
	fs.BoolVar(&cfg.Verify, "verify", false, "rank 0 also trains one model on the whole batch and compares the parameters at the end")
	fs.Float64Var(&cfg.Tolerance, "tolerance", 1e-6, "the largest difference -verify accepts, relative to the largest parameter")
	fs.IntVar(&cfg.AllReduce, "allreduce", 0, "time this many all-reduces of 4 MiB instead of training")
	err := fs.Parse(args)
	return cfg, err
}

// trainer is what the loop needs of a CPU model; every generated package
// of this network has it, whatever its optimizer.
type trainer interface {
	BackwardBatch(x [][digitsmodel.Inputs]float32, target []int) float32
	ForwardBatch(x [][digitsmodel.Inputs]float32, y [][digitsmodel.Outputs]float32)
	Step()
	dist.Model[float32]
}

// newTrainer returns the model of the optimizer, on the CPU.
func newTrainer(optimizer string, seed uint64) (trainer, error) {
	switch optimizer {
	case "adam":
		return digitsmodel.New(seed), nil
	case "sgd":
		return sgdmodel.New(seed), nil
	}
	return nil, fmt.Errorf("-optimizer %q: want adam or sgd", optimizer)
}

// run trains as cfg says, as rank c.Rank() of c.Size(); rank 0 reports.
func run(cfg config, c *dist.Comm, stdout io.Writer) error {
	if cfg.AllReduce > 0 {
		return timeAllReduce(c, cfg.AllReduce, stdout)
	}
	if cfg.Epochs < 1 {
		return fmt.Errorf("-epochs must be at least 1, got %d", cfg.Epochs)
	}
	if c.Rank() != 0 {
		stdout = io.Discard
	}
	samples, err := digitsdata.Load()
	if err != nil {
		return err
	}
	trainSet, testSet := digitsdata.Split(samples)

	local, err := newTrainer(cfg.Optimizer, cfg.Seed)
	if err != nil {
		return err
	}
	var device *deviceRank
	if cfg.GPU {
		if device, err = newDeviceRank(c, cfg); err != nil {
			return err
		}
		defer device.close()
	} else if err := dist.BroadcastParams(c, local); err != nil {
		return err
	}
	global := batch // samples per step, over all ranks
	if device != nil {
		global = gpumodel.Batch * c.Size()
	}
	var reference trainer // rank 0's model of one process on the whole batch
	if cfg.Verify && c.Rank() == 0 {
		reference, _ = newTrainer(cfg.Optimizer, cfg.Seed)
	}

	// Every rank shuffles with the same seed: the same batches, of which
	// each takes its shard.
	rng := rand.New(rand.NewPCG(cfg.Seed, digitsdata.SplitSeed))
	var x [batch][digitsmodel.Inputs]float32
	var labels [batch]int
	step, start := 0, time.Now()
	for epoch := 1; epoch <= cfg.Epochs && (cfg.Steps == 0 || step < cfg.Steps); epoch++ {
		rng.Shuffle(len(trainSet), func(i, j int) { trainSet[i], trainSet[j] = trainSet[j], trainSet[i] })
		var sum float64
		seen := 0
		for first := 0; first < len(trainSet) && (cfg.Steps == 0 || step < cfg.Steps); first += global {
			n := min(global, len(trainSet)-first)
			if device != nil && n < global {
				break // a gpu model takes full batches only
			}
			for i, idx := range trainSet[first : first+n] {
				x[i], labels[i] = samples[idx].Pixels, samples[idx].Label
			}
			lo, hi := c.Shard(n)
			var loss float64
			if device != nil {
				loss, err = device.step(x[lo:hi], labels[lo:hi])
			} else {
				loss, err = trainStep(c, local, x[lo:hi], labels[lo:hi], n)
			}
			if err != nil {
				return err
			}
			if reference != nil {
				reference.BackwardBatch(x[:n], labels[:n])
				reference.Step()
			}
			step++
			sum += loss * float64(n)
			seen += n
			if cfg.Steps > 0 {
				fmt.Fprintf(stdout, "step %d loss %.9f\n", step, loss)
			}
		}
		if cfg.Steps == 0 {
			if device != nil {
				device.download(local)
			}
			fmt.Fprintf(stdout, "epoch %d loss %.9f held-out accuracy %.2f%%\n", epoch, sum/float64(seen), 100*evaluate(local, samples, testSet))
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d steps on %d rank(s) in %v, %v per step\n", step, c.Size(), elapsed.Round(time.Millisecond), (elapsed / time.Duration(max(step, 1))).Round(time.Microsecond))
	if reference == nil {
		return nil
	}
	if device != nil {
		device.download(local)
	}
	d := difference(local.ParamBlock(), reference.ParamBlock())
	fmt.Fprintf(stdout, "parameters after %d steps: %d rank(s) and one process on the whole batch differ by %.3g of the largest (tolerance %.3g)\n", step, c.Size(), d, cfg.Tolerance)
	if !(d <= cfg.Tolerance) {
		return fmt.Errorf("the parameters differ by %.3g, beyond -tolerance %.3g", d, cfg.Tolerance)
	}
	return nil
}

// trainStep is one step of the CPU model on this rank's shard of a batch
// of n samples: the shard's gradient, the batch's from every rank's
// (ScaleGrads weighs each rank's mean by its share, exact for unequal
// shards too), and the Step. It returns the batch's mean loss.
func trainStep(c *dist.Comm, m trainer, x [][digitsmodel.Inputs]float32, labels []int, n int) (float64, error) {
	loss := []float64{0}
	if len(x) > 0 {
		loss[0] = float64(m.BackwardBatch(x, labels)) * float64(len(x))
	} else {
		clear(m.GradBlock()) // a rank without samples in a small last batch
	}
	if err := dist.ScaleGrads(c, m, len(x), n); err != nil {
		return 0, err
	}
	m.Step()
	if err := dist.AllReduce(c, loss, dist.Sum); err != nil {
		return 0, err
	}
	return loss[0] / float64(n), nil
}

// deviceRank is this rank's gpu model and the NCCL communicator that
// averages its gradients.
type deviceRank struct {
	c     *dist.Comm
	model *gpu.Model
	nccl  *dist.NCCL
	x     [gpumodel.Batch][gpumodel.Inputs]float32
	y     [gpumodel.Batch]int
	cpu   *gpumodel.Model // for downloads
}

func newDeviceRank(c *dist.Comm, cfg config) (*deviceRank, error) {
	if cfg.Optimizer != "adam" || gpumodel.Batch*c.Size() > batch {
		return nil, fmt.Errorf("-gpu trains gpu.nn (adam, %d samples per rank) on at most %d ranks, not %s on %d", gpumodel.Batch, batch/gpumodel.Batch, cfg.Optimizer, c.Size())
	}
	// Every rank starts from New(seed): the same parameters, with nothing to broadcast.
	cpu := gpumodel.New(cfg.Seed)
	m, err := gpu.FromCPU(cpu)
	if err != nil {
		return nil, err
	}
	n, err := dist.NewNCCL(c)
	if err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return &deviceRank{c: c, model: m, nccl: n, cpu: cpu}, nil
}

// step is Backward on the GPU, NCCL's average of the gradients, and Step;
// it returns the batch's mean loss.
func (d *deviceRank) step(x [][digitsmodel.Inputs]float32, labels []int) (float64, error) {
	copy(d.x[:], x)
	copy(d.y[:], labels)
	loss := []float64{float64(d.model.Backward(&d.x, &d.y))}
	if err := d.nccl.AverageGrads(d.model); err != nil {
		return 0, err
	}
	d.model.Step()
	if err := dist.AllReduce(d.c, loss, dist.Average); err != nil {
		return 0, err
	}
	return loss[0], nil
}

// download copies the gpu model's parameters into m.
func (d *deviceRank) download(m trainer) {
	d.model.CopyTo(d.cpu)
	copy(m.ParamBlock(), d.cpu.ParamBlock())
}

func (d *deviceRank) close() {
	d.nccl.Close()
	d.model.Close()
}

// difference is the largest difference between a and b, relative to b's
// largest magnitude.
func difference(a, b []float32) float64 {
	var diff, largest float64
	for i := range a {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		largest = max(largest, math.Abs(float64(b[i])))
	}
	return diff / largest
}

// evaluate returns the fraction of the samples at idx that m classifies
// right.
func evaluate(m trainer, samples []digitsdata.Sample, idx []int) float64 {
	var x [batch][digitsmodel.Inputs]float32
	var y [batch][digitsmodel.Outputs]float32
	correct := 0
	for first := 0; first < len(idx); first += batch {
		n := min(batch, len(idx)-first)
		for i := range n {
			x[i] = samples[idx[first+i]].Pixels
		}
		m.ForwardBatch(x[:n], y[:n])
		for i := range n {
			best := 0
			for k, v := range y[i] {
				if v > y[i][best] {
					best = k
				}
			}
			if best == samples[idx[first+i]].Label {
				correct++
			}
		}
	}
	return float64(correct) / float64(len(idx))
}

// timeAllReduce times n all-reduces of 4 MiB of float32, summed and
// averaged, after one to warm up, and rank 0 prints the means.
func timeAllReduce(c *dist.Comm, n int, stdout io.Writer) error {
	x := make([]float32, 1<<20)
	var took [2]time.Duration
	for i, op := range []dist.Op{dist.Sum, dist.Average} {
		if err := dist.AllReduce(c, x, op); err != nil {
			return err
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		start := time.Now()
		for range n {
			if err := dist.AllReduce(c, x, op); err != nil {
				return err
			}
		}
		took[i] = time.Since(start) / time.Duration(n)
	}
	if c.Rank() == 0 {
		fmt.Fprintf(stdout, "all-reduce of 4 MiB of float32 on %d rank(s), %s, mean of %d: sum %v, average %v\n",
			c.Size(), c.Backend(), n, took[0].Round(time.Microsecond), took[1].Round(time.Microsecond))
	}
	return nil
}
