package bench

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/nngen/nngen/bench/conv3x3"
	"github.com/nngen/nngen/bench/lenet"
	"github.com/nngen/nngen/bench/mid"
	"github.com/nngen/nngen/bench/transformer"
	"github.com/nngen/nngen/bench/w1"
	"github.com/nngen/nngen/bench/w2"
	"github.com/nngen/nngen/bench/w2b256"
	"github.com/nngen/nngen/bench/w3"
	"github.com/nngen/nngen/bench/w3adam"
	"github.com/nngen/nngen/bench/w3momentum"
	"github.com/nngen/nngen/bench/w4"
	"github.com/nngen/nngen/runtime/nnrt"
)

// flops counts a step's multiply-adds as 2 FLOPs: forward is 2·batch·Σ in·out;
// a training step adds the input and weight gradients, 4·batch·Σ in·out
// (the first layer's input gradient is not computed, which we ignore).
func flops(batch int, layers ...[2]int) (forward, train float64) {
	for _, l := range layers {
		forward += 2 * float64(batch*l[0]*l[1])
	}
	return forward, 3 * forward
}

// run benchmarks f and reports GFLOP/s for the given FLOPs per call.
func run(b *testing.B, flop float64, f func()) {
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func fill[T nnrt.Float](dst []T, seed uint64) {
	nnrt.FillUniform(nnrt.NewRNG(seed), dst, 1)
}

func BenchmarkW1(b *testing.B) {
	m := w1.New(1)
	m.LR = 0 // the same work per step, without drifting the parameters
	x := [4]float32{1, 1, 1, 1}
	var y, t [3]float32
	fwd, train := flops(1, [2]int{4, 5}, [2]int{5, 7}, [2]int{7, 3})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(&x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(&x, &t) }) })
}

func BenchmarkW2(b *testing.B) {
	m := w2.New(1)
	m.LR = 0
	var x [32][784]float32
	var y [32][10]float32
	var labels [32]int
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
	fwd, train := flops(32, [2]int{784, 128}, [2]int{128, 10})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(&x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(&x, &labels) }) })
}

// BenchmarkMid is a small regressor, 8-32-16-1 at batch 16: its layers
// (2K to 8K multiply-adds) lie between the written-out tiny networks and the
// GEMM threshold of the large ones.
func BenchmarkMid(b *testing.B) {
	m := mid.New(1)
	m.LR = 0
	var x [16][8]float32
	var y, t [16][1]float32
	for n := range x {
		fill(x[n][:], uint64(n))
		t[n][0] = float32(n%3) - 1
	}
	fwd, train := flops(16, [2]int{8, 32}, [2]int{32, 16}, [2]int{16, 1})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(&x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(&x, &t) }) })
}

// BenchmarkW2Samples runs W2's package, compiled for 32 samples, on 1, 7
// and 32 (ForwardBatch and TrainStepBatch): ns/op per call, and
// ns/sample, which a small batch raises only by the work shared by its
// samples (the weights read once per call, the update).
func BenchmarkW2Samples(b *testing.B) {
	m := w2.New(1)
	m.LR = 0
	var x [32][784]float32
	var y [32][10]float32
	var labels [32]int
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
	for _, n := range []int{1, 7, 32} {
		fwd, train := flops(n, [2]int{784, 128}, [2]int{128, 10})
		perSample := func(b *testing.B) {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
		}
		b.Run(fmt.Sprintf("Forward/%d", n), func(b *testing.B) {
			run(b, fwd, func() { m.ForwardBatch(x[:n], y[:n]) })
			perSample(b)
		})
		b.Run(fmt.Sprintf("TrainStep/%d", n), func(b *testing.B) {
			run(b, train, func() { m.TrainStepBatch(x[:n], labels[:n]) })
			perSample(b)
		})
	}
}

func BenchmarkW2Batch256(b *testing.B) {
	m := w2b256.New(1)
	m.LR = 0
	var x [256][784]float32
	var y [256][10]float32
	var labels [256]int
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
	fwd, train := flops(256, [2]int{784, 128}, [2]int{128, 10})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(&x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(&x, &labels) }) })
}

func BenchmarkW3(b *testing.B) {
	m := w3.New(1)
	m.LR = 0
	var x [64][784]float32
	var y [64][10]float32
	var labels [64]int
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
	fwd, train := flops(64, [2]int{784, 512}, [2]int{512, 512}, [2]int{512, 10})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(&x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(&x, &labels) }) })
}

// BenchmarkW3Side trains GOMAXPROCS W3 models side by side, one goroutine
// each, as a program that trains or serves several models at once: each
// model's pool splits its products across every core, so the pools compete
// for the processors. ns/op is the wall time over the steps of all the
// models; on n cores it is at best W3/TrainStep's one-core time over n.
func BenchmarkW3Side(b *testing.B) {
	x, labels := w3Batch()
	_, train := flops(64, [2]int{784, 512}, [2]int{512, 512}, [2]int{512, 10})
	b.Run("TrainStep", func(b *testing.B) {
		models := make(chan *w3.Model, runtime.GOMAXPROCS(0)) // RunParallel's goroutines
		for range cap(models) {
			m := w3.New(1)
			defer m.Close()
			m.LR = 0
			models <- m
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			m := <-models
			for pb.Next() {
				m.TrainStep(x, labels)
			}
		})
		b.ReportMetric(train*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkW3Adam and BenchmarkW3Momentum train W3 with Adam and with SGD
// with momentum: the same products, and an update that reads and writes
// one or two moments per parameter (their forward pass is W3's).
func BenchmarkW3Adam(b *testing.B) {
	m := w3adam.New(1)
	m.LR = 0
	x, labels := w3Batch()
	_, train := flops(64, [2]int{784, 512}, [2]int{512, 512}, [2]int{512, 10})
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(x, labels) }) })
}

func BenchmarkW3Momentum(b *testing.B) {
	m := w3momentum.New(1)
	m.LR = 0
	x, labels := w3Batch()
	_, train := flops(64, [2]int{784, 512}, [2]int{512, 512}, [2]int{512, 10})
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(x, labels) }) })
}

// w3Batch is BenchmarkW3's batch.
func w3Batch() (*[64][784]float32, *[64]int) {
	x, labels := new([64][784]float32), new([64]int)
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
	return x, labels
}

func BenchmarkW4(b *testing.B) {
	m := w4.New(1)
	m.LR = 0
	x := new([256][1024]float32)
	y := new([256][1024]float32)
	t := new([256][1024]float32)
	for n := range x {
		fill(x[n][:], uint64(n))
		fill(t[n][:], uint64(n+1000))
	}
	fwd, train := flops(256, [2]int{1024, 1024}, [2]int{1024, 1024})
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(x, y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(x, t) }) })
}

// convFlops counts a convolution's multiply-adds as 2 FLOPs: forward is
// 2·batch·out channels·P·Q·in channels·kernel size; training adds the
// weight's gradient and, unless the input is the network's, the input's.
func convFlops(batch, in, out, p, q, kernel int, inputGrad bool) (forward, train float64) {
	forward = 2 * float64(batch*out*p*q*in*kernel)
	train = 2 * forward
	if inputGrad {
		train += forward
	}
	return forward, train
}

// BenchmarkLeNet: LeNet-5 on 1×28×28 at batch 64 (bench/lenet/model.nn).
func BenchmarkLeNet(b *testing.B) {
	m := lenet.New(1)
	defer m.Close()
	m.LR = 0
	x := new([64][1][28][28]float32)
	var y [64][10]float32
	var labels [64]int
	for n := range x {
		for h := range x[n][0] {
			fill(x[n][0][h][:], uint64(n*28+h))
		}
		labels[n] = n % 10
	}
	f1, t1 := convFlops(64, 1, 6, 28, 28, 25, false)
	f2, t2 := convFlops(64, 6, 16, 10, 10, 25, true)
	f3, t3 := flops(64, [2]int{400, 120}, [2]int{120, 84}, [2]int{84, 10})
	b.Run("Forward", func(b *testing.B) { run(b, f1+f2+f3, func() { m.Forward(x, &y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, t1+t2+t3, func() { m.TrainStep(x, &labels) }) })
}

// BenchmarkConv3x3: a 3×3 convolution of 64 -> 64 channels over 32×32 at
// batch 32 (bench/conv3x3/model.nn); its train step computes the weight's
// and bias's gradients, not the input's (the network's input).
func BenchmarkConv3x3(b *testing.B) {
	m := conv3x3.New(1)
	defer m.Close()
	m.LR = 0
	x, y, t := new([32][64][32][32]float32), new([32][64][32][32]float32), new([32][64][32][32]float32)
	for n := range x {
		for c := range x[n] {
			for h := range x[n][c] {
				fill(x[n][c][h][:], uint64((n*64+c)*32+h))
				fill(t[n][c][h][:], uint64((n*64+c)*32+h+1<<20))
			}
		}
	}
	fwd, train := convFlops(32, 64, 64, 32, 32, 9, false)
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(x, y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, train, func() { m.TrainStep(x, t) }) })
}

// BenchmarkTransformer: two post-norm encoder layers (d_model 64, 4 heads,
// feed-forward 256, relu) over 32 positions, a linear head, MSE, batch 16
// (bench/transformer/model.nn). FLOPs: per layer the four projections
// (qkv, out, the two feed-forward layers) and attention's two products per
// head, q·kᵀ and weights·v; training counts three times the forward
// products (the first layer's input gradient, not computed, included).
func BenchmarkTransformer(b *testing.B) {
	m := transformer.New(1)
	defer m.Close()
	m.LR = 0
	x, y, t := new([16][32][64]float32), new([16][32][64]float32), new([16][32][64]float32)
	for n := range x {
		for s := range x[n] {
			fill(x[n][s][:], uint64(n*32+s))
			fill(t[n][s][:], uint64(n*32+s+1<<20))
		}
	}
	const rows, heads, seq, headDim = 16 * 32, 4, 32, 16
	layer, _ := flops(rows, [2]int{64, 192}, [2]int{64, 64}, [2]int{64, 256}, [2]int{256, 64})
	attention := 2 * 2 * float64(16*heads*seq*seq*headDim)
	head, _ := flops(rows, [2]int{64, 64})
	fwd := 2*(layer+attention) + head
	b.Run("Forward", func(b *testing.B) { run(b, fwd, func() { m.Forward(x, y) }) })
	b.Run("TrainStep", func(b *testing.B) { run(b, 3*fwd, func() { m.TrainStep(x, t) }) })
}
