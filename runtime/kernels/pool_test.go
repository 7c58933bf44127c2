package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestPoolBitIdentical: every split gives exactly Gemm's bits.
func TestPoolBitIdentical(t *testing.T) {
	shapes := [][3]int{{200, 130, 70}, {33, 300, 17}, {1, 65, 200}, {127, 127, 300}, {300, 40, 520}, {64, 1, 9}, {45, 46, 0}}
	forEachKernelSet(t, func(t *testing.T) {
		for _, workers := range []int{1, 2, 3} {
			p := NewPool(workers, 0)
			if p.Workers() != workers {
				t.Fatalf("Workers() = %d, want %d", p.Workers(), workers)
			}
			rng := rand.New(rand.NewPCG(11, uint64(workers)))
			for si, s := range shapes {
				for ti, tr := range transCombos {
					acc := (si+ti)%2 == 0
					g := newGemmCase[float32](rng, tr.transA, tr.transB, s[0], s[1], s[2], ti, acc)
					want := append([]float32(nil), g.c...)
					Gemm32(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, want, g.ldc, acc, make([]float32, GemmWork32(g.m, g.n, g.k)))
					got := append([]float32(nil), g.c...)
					p.Gemm32(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, got, g.ldc, acc)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("workers=%d %s: C[%d] = %v, Gemm32 gives %v", workers, g.name(), i, got[i], want[i])
						}
					}

					g64 := newGemmCase[float64](rng, tr.transA, tr.transB, s[0], s[1], s[2], ti, acc)
					want64 := append([]float64(nil), g64.c...)
					Gemm64(g64.transA, g64.transB, g64.m, g64.n, g64.k, g64.a, g64.lda, g64.b, g64.ldb, want64, g64.ldc, acc, make([]float64, GemmWork64(g64.m, g64.n, g64.k)))
					got64 := append([]float64(nil), g64.c...)
					p.Gemm64(g64.transA, g64.transB, g64.m, g64.n, g64.k, g64.a, g64.lda, g64.b, g64.ldb, got64, g64.ldc, acc)
					for i := range want64 {
						if math.Float64bits(got64[i]) != math.Float64bits(want64[i]) {
							t.Fatalf("workers=%d %s (float64): C[%d] = %v, Gemm64 gives %v", workers, g64.name(), i, got64[i], want64[i])
						}
					}
				}
			}
			p.Close()
			p.Close() // idempotent
		}
	})
}

// TestPoolSGD: the split update gives SGD32's (SGD64's) numbers on every
// element of the block, whatever the matrices' shapes and the workers.
func TestPoolSGD(t *testing.T) {
	mats := []Matrix{{512, 100}, {512, 1}, {7, 3000}, {10, 1}, {0, 5}, {3, 17}}
	n := 0
	for _, m := range mats {
		n += m.Rows * m.Cols
	}
	forEachKernelSet(t, func(t *testing.T) {
		for _, workers := range []int{1, 2, 3} {
			p := NewPool(workers, 0)
			rng := rand.New(rand.NewPCG(9, uint64(workers)))
			params, grads := make([]float32, n), make([]float32, n)
			params64, grads64 := make([]float64, n), make([]float64, n)
			for i := range params {
				params[i], grads[i] = rng.Float32()-0.5, rng.Float32()-0.5
				params64[i], grads64[i] = rng.Float64()-0.5, rng.Float64()-0.5
			}
			want, want64 := append([]float32(nil), params...), append([]float64(nil), params64...)
			SGD32(want, grads, 0.1, 0.01)
			SGD64(want64, grads64, 0.1, 0.01)
			p.SGD32(params, grads, 0.1, 0.01, mats)
			p.SGD64(params64, grads64, 0.1, 0.01, mats)
			for i := range want {
				if math.Float32bits(params[i]) != math.Float32bits(want[i]) || math.Float64bits(params64[i]) != math.Float64bits(want64[i]) {
					t.Fatalf("workers=%d: parameter %d = %v, %v; SGD gives %v, %v", workers, i, params[i], params64[i], want[i], want64[i])
				}
			}
			if got := p.updateShares(n); got != min(workers, n/updateMin) {
				t.Errorf("workers=%d: %d shares of %d parameters", workers, got, n)
			}
			mustPanic(t, "matrices short of the block", func() { p.SGD32(params, grads, 0.1, 0, mats[:2]) })
			mustPanic(t, "gradients short of the block", func() { p.SGD32(params, grads[1:], 0.1, 0, mats) })
			p.Close()
			mustPanic(t, "closed", func() { p.SGD32(params, grads, 0.1, 0, mats) })
		}
	})
}

func TestPoolAllocs(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		p := NewPool(2, 0)
		defer p.Close()
		const m, n, k = 130, 70, 90
		a32, b32, c32 := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		a64, b64, c64 := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
		if allocs := testing.AllocsPerRun(20, func() {
			p.Gemm32(false, true, m, n, k, a32, k, b32, k, c32, n, true)
		}); allocs != 0 {
			t.Errorf("Pool.Gemm32: %v allocations per call", allocs)
		}
		if allocs := testing.AllocsPerRun(20, func() {
			p.Gemm64(true, false, m, n, k, a64, m, b64, n, c64, n, false)
		}); allocs != 0 {
			t.Errorf("Pool.Gemm64: %v allocations per call", allocs)
		}
		mats := []Matrix{{64, 1024}, {64, 1}}
		params, grads := make([]float32, 64*1025), make([]float32, 64*1025)
		if allocs := testing.AllocsPerRun(20, func() {
			p.SGD32(params, grads, 0.1, 0, mats)
		}); allocs != 0 {
			t.Errorf("Pool.SGD32: %v allocations per call", allocs)
		}
	})
}

func TestPoolWorkspace(t *testing.T) {
	p := NewPool(2, GemmWork32(4, 4, 4))
	defer p.Close()
	a := make([]float32, 300*300)
	mustPanic(t, "small workspace", func() { p.Gemm32(false, false, 300, 300, 300, a, 300, a, 300, a, 300, false) })
	// A product that fits still runs.
	p.Gemm32(false, false, 2, 2, 2, a, 2, a, 2, a, 2, false)
}

// TestPoolTyped: NewPool32 and NewPool64 give the same bits as Gemm, share 0's
// workspace serves the caller's own GEMMs, and the other precision panics.
func TestPoolTyped(t *testing.T) {
	const m, n, k = 200, 130, 70
	rng := rand.New(rand.NewPCG(21, 22))
	g := newGemmCase[float32](rng, false, true, m, n, k, 0, false)
	want := append([]float32(nil), g.c...)
	Gemm32(g.transA, g.transB, m, n, k, g.a, g.lda, g.b, g.ldb, want, g.ldc, false, make([]float32, GemmWork32(m, n, k)))

	p := NewPool32(2, GemmWork32(m, n, k))
	defer p.Close()
	if len(p.Work32()) != GemmWork32(m, n, k) || p.Work64() != nil {
		t.Fatalf("NewPool32 workspaces: %d float32, %d float64", len(p.Work32()), len(p.Work64()))
	}
	got := append([]float32(nil), g.c...)
	p.Gemm32(g.transA, g.transB, m, n, k, g.a, g.lda, g.b, g.ldb, got, g.ldc, false)
	own := append([]float32(nil), g.c...)
	Gemm32(g.transA, g.transB, m, n, k, g.a, g.lda, g.b, g.ldb, own, g.ldc, false, p.Work32())
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(own[i]) != math.Float32bits(want[i]) {
			t.Fatalf("C[%d]: pool %v, with Work32 %v, Gemm32 %v", i, got[i], own[i], want[i])
		}
	}
	c64 := make([]float64, 4)
	mustPanic(t, "Gemm64 on NewPool32", func() { p.Gemm64(false, false, 2, 2, 2, c64, 2, c64, 2, c64, 2, false) })

	p64 := NewPool64(2, GemmWork64(8, 8, 8))
	defer p64.Close()
	c32 := make([]float32, 4)
	mustPanic(t, "Gemm32 on NewPool64", func() { p64.Gemm32(false, false, 2, 2, 2, c32, 2, c32, 2, c32, 2, false) })
	p64.Gemm64(false, false, 2, 2, 2, c64, 2, c64, 2, c64, 2, false)
	mustPanic(t, "NewPool32(0 work)", func() { NewPool32(1, 0) })
}

// TestPoolWork: PoolWork32 sizes every share; a pool sized by it runs the
// product (the share check would panic otherwise), and a 1024-row product
// split in two needs less per worker than the whole. (A share can need a
// little more than the whole: its blocks round differently.)
func TestPoolWork(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		// {124, 199, 64}: a weight's gradient (Aᵀ·B) splits by rows, whose
		// shares need more than the column split's (AVX-512: 19280 elements
		// against 16720, which PoolWork32 gave when it knew only the latter).
		for _, s := range [][3]int{{1024, 1024, 256}, {256, 1024, 1024}, {64, 512, 784}, {128, 784, 32}, {124, 199, 64}, {3, 5, 7}} {
			m, n, k := s[0], s[1], s[2]
			for _, workers := range []int{1, 2, 3} {
				need := PoolWork32(workers, m, n, k)
				if workers == 1 && need != GemmWork32(m, n, k) {
					t.Errorf("PoolWork32(1, %v) = %d, GemmWork32 = %d", s, need, GemmWork32(m, n, k))
				}
				p := NewPool32(workers, need)
				a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
				for _, tr := range transCombos {
					lda, ldb := k, n
					if tr.transA {
						lda = m
					}
					if tr.transB {
						ldb = k
					}
					p.Gemm32(tr.transA, tr.transB, m, n, k, a, lda, b, ldb, c, n, false)
				}
				p.Close()
				p64 := NewPool64(workers, PoolWork64(workers, m, n, k))
				a64, b64, c64 := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
				p64.Gemm64(true, true, m, n, k, a64, m, b64, k, c64, n, false)
				p64.Close()
			}
		}
		if a, b := PoolWork32(2, 1024, 1024, 256), GemmWork32(1024, 1024, 256); a >= b {
			t.Errorf("a 1024-row product split in two: %d per worker, not less than the whole's %d", a, b)
		}
	})
}

// TestPoolStartRace: a call right after NewPool counts its task before the
// workers' goroutines have started; they must still run it (a worker that
// read its task count only once started waited forever).
func TestPoolStartRace(t *testing.T) {
	const m, n, k = 64, 512, 128 // two shares or three
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for range 200 {
		p := NewPool32(3, PoolWork32(3, m, n, k))
		p.Gemm32(false, false, m, n, k, a, k, b, n, c, n, false)
		p.Gemm32(false, false, m, n, k, a, k, b, n, c, n, true)
		p.Close()
	}
}

// BenchmarkSpinWait times one spin of a waiting pool worker (see spins).
func BenchmarkSpinWait(b *testing.B) {
	for b.Loop() {
		spinWait()
	}
}

// TestPoolAdamMomentum: the split Adam and momentum steps give the one-core
// kernels' numbers on every element, on 1, 2 and 3 workers.
func TestPoolAdamMomentum(t *testing.T) {
	const rows, cols = 300, 250
	n := rows * cols
	forEachKernelSet(t, func(t *testing.T) {
		for _, workers := range []int{1, 2, 3} {
			p := NewPool(workers, 0)
			rng := rand.New(rand.NewPCG(19, uint64(workers)))
			vec := func() []float32 { return randomVector[float32](rng, n) }
			params, grads, m, v := vec(), vec(), vec(), vec()
			for i := range v {
				v[i] *= v[i]
			}
			want := [][]float32{append([]float32(nil), params...), grads, append([]float32(nil), m...), append([]float32(nil), v...)}
			s := AdamStep[float32]{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, StepSize: 0.001, Root2: 0.04, Decoupled: workers == 2, Decay: 0.9999}
			Adam32(want[0], want[1], want[2], want[3], s)
			p.Adam32(params, grads, m, v, s, rows)
			for k, got := range [][]float32{params, grads, m, v} {
				if i := same(got, want[k]); i >= 0 {
					t.Fatalf("Adam, workers=%d: operand %d [%d] = %v, Adam32 gives %v", workers, k, i, got[i], want[k][i])
				}
			}

			p64, g64, buf64 := randomVector[float64](rng, n), randomVector[float64](rng, n), randomVector[float64](rng, n)
			want64 := [][]float64{append([]float64(nil), p64...), g64, append([]float64(nil), buf64...)}
			ms := MomentumStep[float64]{LR: 0.1, Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01, First: workers == 3}
			Momentum64(want64[0], want64[1], want64[2], ms)
			p.Momentum64(p64, g64, buf64, ms, rows)
			for k, got := range [][]float64{p64, g64, buf64} {
				if i := same(got, want64[k]); i >= 0 {
					t.Fatalf("momentum, workers=%d: operand %d [%d] = %v, Momentum64 gives %v", workers, k, i, got[i], want64[k][i])
				}
			}
			mustPanic(t, "rows that do not divide the parameter", func() { p.Adam32(params, grads, m, v, s, 7) })
			if allocs := testing.AllocsPerRun(10, func() { p.Adam32(params, grads, m, v, s, rows) }); allocs != 0 {
				t.Errorf("Pool.Adam32: %v allocations per call", allocs)
			}
			p.Close()
		}
	})
}

// TestPoolFewerProcessors: with GOMAXPROCS below the pool's workers, the
// calling goroutine runs the shares that have no processor, with their
// workers' workspaces, and wakes no worker beyond GOMAXPROCS; the results
// are the whole pool's bits.
func TestPoolFewerProcessors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	forEachKernelSet(t, func(t *testing.T) {
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			procs = runtime.GOMAXPROCS(0) // 1 on wasm, whatever is asked
			const workers = 3
			// Each worker's workspace fits its share of the product, not the whole.
			const m, n, k = 300, 64, 200
			p := NewPool32(workers, PoolWork32(workers, m, n, k))
			if PoolWork32(workers, m, n, k) >= GemmWork32(m, n, k) {
				t.Fatalf("the shares' workspace (%d) is not below the whole product's (%d)", PoolWork32(workers, m, n, k), GemmWork32(m, n, k))
			}
			rng := rand.New(rand.NewPCG(31, uint64(procs)))
			g := newGemmCase[float32](rng, false, true, m, n, k, 0, false)
			want := append([]float32(nil), g.c...)
			Gemm32(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, want, g.ldc, false, make([]float32, GemmWork32(m, n, k)))
			got := append([]float32(nil), g.c...)
			p.Gemm32(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, got, g.ldc, false)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("GOMAXPROCS=%d: C[%d] = %v, Gemm32 gives %v", procs, i, got[i], want[i])
				}
			}
			params, grads := make([]float32, 3*updateMin), make([]float32, 3*updateMin)
			for i := range params {
				params[i], grads[i] = rng.Float32()-0.5, rng.Float32()-0.5
			}
			wantP := append([]float32(nil), params...)
			SGD32(wantP, grads, 0.1, 0.01)
			p.SGD32(params, grads, 0.1, 0.01, []Matrix{{3 * 64, updateMin / 64}})
			for i := range wantP {
				if math.Float32bits(params[i]) != math.Float32bits(wantP[i]) {
					t.Fatalf("GOMAXPROCS=%d: parameter %d = %v, SGD32 gives %v", procs, i, params[i], wantP[i])
				}
			}
			for i, w := range p.workers[1:] {
				tasks, want := w.seq.Load(), uint32(0)
				if i+1 < procs {
					want = 2 // the product and the update
				}
				if tasks != want {
					t.Errorf("GOMAXPROCS=%d: worker %d was given %d tasks, want %d", procs, i+1, tasks, want)
				}
			}
			p.Close()
		}
	})
}

// TestPoolClaimsUnstartedShares: a worker that never starts its share (here
// one with no goroutine at all, as a worker with no processor) does not hold
// the call up: the caller claims the share and runs it with the worker's
// workspace, with the same bits.
func TestPoolClaimsUnstartedShares(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
		if runtime.GOMAXPROCS(0) < 2 {
			t.Skip("GOMAXPROCS stays 1 here (wasm): the caller runs every share, no worker has one to claim")
		}
	}
	const m, n, k = 256, 96, 200
	work := PoolWork32(2, m, n, k)
	p := &Pool{workers: []*poolWorker{{work32: make([]float32, work)}, {work32: make([]float32, work), wake: make(chan struct{}, 1)}}}
	if parts, _ := p.plan(false, true, 14, 32, m, n, k); parts != 2 {
		t.Fatalf("the product is split in %d shares, want 2", parts)
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for call := 1; call <= 3; call++ {
		g := newGemmCase[float32](rng, false, true, m, n, k, 0, false)
		want := append([]float32(nil), g.c...)
		Gemm32(false, true, m, n, k, g.a, g.lda, g.b, g.ldb, want, g.ldc, false, make([]float32, GemmWork32(m, n, k)))
		got := append([]float32(nil), g.c...)
		returned := make(chan struct{})
		go func() {
			p.Gemm32(false, true, m, n, k, g.a, g.lda, g.b, g.ldb, got, g.ldc, false)
			close(returned)
		}()
		select {
		case <-returned:
		case <-time.After(time.Minute):
			t.Fatalf("call %d waits for a worker that never starts", call)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("call %d: C[%d] = %v, Gemm32 gives %v", call, i, got[i], want[i])
			}
		}
		if w := p.workers[1]; w.seq.Load() != uint32(call) || w.taken.Load() != uint32(call) {
			t.Fatalf("call %d: the worker's slot has task %d, taken %d", call, w.seq.Load(), w.taken.Load())
		}
	}
}
