package kernels

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// A kernelSet is one implementation of every kernel: the pure-Go "generic"
// set, and on amd64 the assembly sets "avx2" (AVX2+FMA) and "avx512"
// (AVX-512F). One set is active; it is chosen once at start-up for the best
// the CPU supports and only tests and benchmarks change it (SetKernels).
type kernelSet struct {
	name  string
	sgemm gemmKernel[float32]
	// sgemm8, where a set has one (micro not nil), is an 8-row kernel for
	// products whose m is a multiple of 8 but not of sgemm's mr: batches of
	// 32 or 64 rows fill its tiles where 14-row tiles pad a quarter.
	sgemm8 gemmKernel[float32]
	// snt, where a set has one (micro not nil), computes the float32
	// products X·Wᵀ of a forward pass without transposing W: see ntKernel.
	snt   ntKernel
	dgemm gemmKernel[float64]
	v32   vecSet[float32]
	v64   vecSet[float64]
	// sigmoid32 is SigmoidInPlace32; softmax32 and logSumExp32 are
	// Softmax32 and LogSumExp32.
	// maxPoolGrad32 reports whether 2×2 max pooling and its gradient take
	// 16 windows at a time by maxPoolBlocks and maxPoolGradBlocks (AVX-512).
	maxPoolGrad32 bool
	// dotBlocks32 reports whether the float32 dot-product blocks
	// (dotBlocks32, AVX-512) serve the weight gradients of small
	// convolutions.
	dotBlocks32 bool
	// small32, where a set has them, are the tiles of gemmSmall.
	small32 *smallTiles32
	// layerNorm32 and layerNormGrads32, where a set has them, run
	// LayerNorm32 and LayerNormGrads32 on rows of a multiple of 8.
	layerNorm32      func(y, x, w, b *float32, n, rows int, eps float64)
	layerNormGrads32 func(dx, dw, dy, x, w *float32, n, rows int, eps float64)
	// softmaxGrad32, where a set has it, runs SoftmaxGrad32 on rows of a
	// multiple of 16.
	softmaxGrad32 func(dx, dy, y *float32, n, rows int)
	// softmaxRows32, where a set has it, runs SoftmaxRows32 on rows of a
	// multiple of 16, with softmax32's bits.
	softmaxRows32 func(y, x *float32, n, rows int)
	sigmoid32     func(x []float32)
	softmax32     func(row []float32)
	logSumExp32   func(row []float32) float32
}

// kernelSets (the sets compiled in, generic first) and supported (whether
// this CPU can run a set) are defined by dispatch_amd64.go or
// dispatch_generic.go.

var active atomic.Pointer[kernelSet]

func init() {
	best := kernelSets[0]
	for _, ks := range kernelSets {
		if supported(ks.name) {
			best = ks
		}
	}
	active.Store(best)
}

func current() *kernelSet { return active.Load() }

// sgemmFor is the float32 kernel for a product with m rows: the 8-row one
// unless the main one pads fewer rows (m = 28: 28 against 32). On AVX-512
// the 8-row kernel is as fast or faster even where neither pads:
// BenchmarkGemmKernels on AMD EPYC family 26, one core, GFLOP/s, main vs
// 8-row: 1024×1024×1024 186 vs 196 (the main kernel's 14 rows of C, 4 KiB
// apart, share one set of L1, which holds 12 lines), 256×1024×1024 184 vs
// 191, TN 1024×1024×256 188 vs 192, TN 128×784×32 184 vs 203; TN
// 512×784×64 within the noise both ways (200 vs 194, then 192 vs 196).
// (On an older machine the main kernel was ahead at 512 and 1024 rows, by
// 4-7%, before the 8-row kernel's packing of a transposed A was fixed.)
func (ks *kernelSet) sgemmFor(m int) *gemmKernel[float32] {
	if ks.sgemm8.micro != nil && roundUp(m, ks.sgemm8.mr) <= roundUp(m, ks.sgemm.mr) {
		return &ks.sgemm8
	}
	return &ks.sgemm
}

// Kernels names the active kernel set: "avx512", "avx2" or "generic".
func Active() string { return current().name }

// SetKernels makes the named kernel set active, for tests and benchmarks
// that compare the sets, and returns a function that restores the previous
// one. It fails for a set that this build lacks or this CPU cannot run.
// It must not be called while kernels run in other goroutines.
func Use(name string) (restore func(), err error) {
	var names []string
	for _, ks := range kernelSets {
		names = append(names, ks.name)
		if ks.name != name {
			continue
		}
		if !supported(name) {
			return nil, fmt.Errorf("kernels: kernel set %q is not supported by this CPU", name)
		}
		prev := active.Swap(ks)
		return func() { active.Store(prev) }, nil
	}
	return nil, fmt.Errorf("kernels: no kernel set %q in this build (have %s)", name, strings.Join(names, ", "))
}
