package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

// Pool runs GEMMs split across workers. The workers are goroutines started
// once by NewPool, each with its own workspace; a call stores each worker's
// share in its fixed task struct and counts it in an atomic the worker
// watches while it spins between tasks (or leaves a token on its channel
// when it has parked), computes the first share itself, claims the shares
// that no worker has started by then, and waits for the others, spinning
// first, then on a WaitGroup. It allocates nothing.
//
// A call splits C into bands of rows (or of columns, when C is wider than
// tall) on tile boundaries, and every band runs the single-core Gemm on its
// part. Each element of C is summed in the same order as by Gemm32 or
// Gemm64 (that order depends on k only; see gemm.go), so the results are
// bit-identical to theirs with the same kernel set.
//
// A Pool serves one call at a time; concurrent calls wait for each other.
type Pool struct {
	mu      sync.Mutex
	workers []*poolWorker
	done    sync.WaitGroup // the current call's shares
	pending atomic.Int32   // the shares of the current call not yet done
	exited  sync.WaitGroup // the worker goroutines
	closed  bool
}

type poolWorker struct {
	wake   chan struct{} // a token (buffer 1) wakes the parked worker; closed by Close
	seq    atomic.Uint32 // incremented by the caller for every task
	taken  atomic.Uint32 // the last task run or being run, by the worker or the caller (claim)
	task   gemmTask
	work64 []float64
	work32 []float32 // the same memory as work64 from NewPool
}

// gemmTask is one worker's share of a call: a Gemm on a band of C, or
// (op set) a convolution's kernel on a band of samples or channels, the
// arrays in a, b and c (runConv's a, b and out) and bias.
type gemmTask struct {
	ks             *kernelSet
	double         bool
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	accumulate     bool
	a32, b32, c32  []float32
	a64, b64, c64  []float64

	op     convOp
	conv   Conv
	lo, hi int
	bias32 []float32
	bias64 []float64

	// An update (mats set): share lo of hi of every matrix's rows in a32
	// (or a64), the parameters, from b32 (b64), their gradients, with the
	// optimizer's state in c32 and d32 (c64, d64).
	update     updateOp
	mats       []Matrix
	one        [1]Matrix // mats of an update of one parameter
	nr         int       // the band unit: the kernel's tile width
	d32        []float32
	d64        []float64
	lr32, wd32 float32
	lr64, wd64 float64
	adam32     AdamStep[float32]
	adam64     AdamStep[float64]
	mom32      MomentumStep[float32]
	mom64      MomentumStep[float64]
}

// updateOp is the optimizer of an update task.
type updateOp uint8

const (
	sgdUpdate updateOp = iota
	adamUpdate
	momentumUpdate
)

// poolMinFlops is the least work worth a share: waking a worker costs
// microseconds, in which the kernels do about a million flops.
const poolMinFlops = 1 << 20

// NewPool starts a pool of workers (runtime.GOMAXPROCS(0) when workers ≤ 0)
// whose workspaces hold maxWork elements each, float32 or float64; a call
// panics when a share needs more than that (GemmWork32 or GemmWork64 of the
// share's size). maxWork ≤ 0 gives workspaces large enough for any shape.
// NewPool32 and NewPool64 make workspaces of one precision, half the memory.
func NewPool(workers int, maxWork int) *Pool {
	if maxWork <= 0 {
		const huge = 1 << 30 // the block sizes bound the work for any size above them
		maxWork = max(GemmWork32(huge, huge, huge), GemmWork64(huge, huge, huge))
	}
	return newPool(workers, func(w *poolWorker) {
		w.work64 = make([]float64, maxWork)
		w.work32 = unsafe.Slice((*float32)(unsafe.Pointer(&w.work64[0])), maxWork)
	})
}

// NewPool32 is NewPool for Gemm32 only (Gemm64 panics): float32 workspaces of
// maxWork elements, which must be positive.
func NewPool32(workers int, maxWork int) *Pool {
	checkPoolWork(maxWork)
	return newPool(workers, func(w *poolWorker) { w.work32 = make([]float32, maxWork) })
}

// NewPool64 is NewPool for Gemm64 only (Gemm32 panics).
func NewPool64(workers int, maxWork int) *Pool {
	checkPoolWork(maxWork)
	return newPool(workers, func(w *poolWorker) { w.work64 = make([]float64, maxWork) })
}

func checkPoolWork(maxWork int) {
	if maxWork <= 0 {
		panic("kernels: NewPool32/NewPool64: the workspace size must be positive")
	}
}

func newPool(workers int, alloc func(w *poolWorker)) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	p := &Pool{workers: make([]*poolWorker, workers)}
	for i := range p.workers {
		w := &poolWorker{}
		alloc(w)
		p.workers[i] = w
		if i > 0 { // the caller computes share 0
			w.wake = make(chan struct{}, 1)
			p.exited.Add(1)
			go p.serve(w)
		}
	}
	return p
}

// Work32 is the float32 workspace of share 0, which the calling goroutine
// computes. A model that also runs GEMMs of its own (Gemm32) can use it as
// their work slice rather than allocate another: they never overlap a call
// of the pool from the same goroutine.
func (p *Pool) Work32() []float32 { return p.workers[0].work32 }

// Work64 is Work32 for float64.
func (p *Pool) Work64() []float64 { return p.workers[0].work64 }

// Workers is the number of workers, the calling goroutine included.
func (p *Pool) Workers() int { return len(p.workers) }

// Close stops the worker goroutines. The pool must not be used after.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.workers[1:] {
		close(w.wake)
	}
	p.exited.Wait()
}

// serve runs the worker's tasks: each time its seq moves, it runs the task
// the caller stored before, unless the caller has claimed it first. Between
// tasks it spins, then parks on wake; a token left from a task it found
// while spinning makes a spurious wake, after which it parks again.
//
// A worker whose last task the caller claimed came too late for it: other
// goroutines want the processors, such as other models' callers. Until it
// runs a task again it calls runtime.Gosched every yieldEvery spins (about
// 10 µs), so that a goroutine readied on its processor (another model's
// caller that a worker released) waits that long, not the whole spin. Two
// W3 models training side by side on two cores: 2.5 ms a step each before
// callers claimed late shares, 0.77 ms with the claims, 0.72 ms with the
// yields too. A worker that keeps up does not yield: in one model on two
// cores, yielding on every spin made the transformer's step 2-3% slower.
func (p *Pool) serve(w *poolWorker) {
	defer p.exited.Done()
	var last uint32 // seq starts at 0, before this goroutine runs: a task may be counted already
	late := false
	for {
		for i := 0; w.seq.Load() == last && i < spins; i++ {
			spinWait()
			if late && i%yieldEvery == yieldEvery-1 {
				runtime.Gosched()
			}
		}
		if w.seq.Load() == last {
			if _, ok := <-w.wake; !ok {
				return
			}
			if w.seq.Load() == last {
				continue
			}
		}
		last = w.seq.Load()
		late = !p.claim(w, last)
	}
}

// claim runs task seq of worker w's slot, on the calling goroutine with
// w's workspace, unless the worker or the pool's caller has claimed it:
// each task is run once, by whichever comes first. It reports whether it
// ran the task.
func (p *Pool) claim(w *poolWorker, seq uint32) bool {
	if !w.taken.CompareAndSwap(seq-1, seq) {
		return false
	}
	w.task.run(w)
	p.pending.Add(-1)
	p.done.Done()
	return true
}

// yieldEvery is the spinWaits (about 10 µs) between a late worker's calls
// of runtime.Gosched (serve).
const yieldEvery = 50

// Gemm32 is Gemm32 split across the pool's workers, with their workspaces.
func (p *Pool) Gemm32(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	p.gemm32(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func (p *Pool) gemm32(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ks := current()
	g := ks.sgemmFor(m) // bands of its tiles, which the shares' own choices keep
	parts, rows := p.plan(transA, transB, g.mr, g.nr, m, n, k)
	for i := 0; i < parts; i++ {
		t := &p.workers[i].task
		*t = gemmTask{ks: ks, transA: transA, transB: transB, m: m, n: n, k: k,
			lda: lda, ldb: ldb, ldc: ldc, accumulate: accumulate, a32: a, b32: b, c32: c}
		t.share(parts, i, rows, g.mr, g.nr)
		if need := ks.work32(transA, transB, t.m, t.n, t.k); need > len(p.workers[i].work32) {
			panicPoolWork(need, len(p.workers[i].work32))
		}
	}
	p.dispatch(parts)
}

// Gemm64 is Gemm64 split across the pool's workers, with their workspaces.
func (p *Pool) Gemm64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, accumulate bool) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	p.gemm64(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func (p *Pool) gemm64(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, c []float64, ldc int, accumulate bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ks := current()
	parts, rows := p.plan(transA, transB, ks.dgemm.mr, ks.dgemm.nr, m, n, k)
	for i := 0; i < parts; i++ {
		t := &p.workers[i].task
		*t = gemmTask{ks: ks, double: true, transA: transA, transB: transB, m: m, n: n, k: k,
			lda: lda, ldb: ldb, ldc: ldc, accumulate: accumulate, a64: a, b64: b, c64: c}
		t.share(parts, i, rows, ks.dgemm.mr, ks.dgemm.nr)
		if _, _, _, need := ks.dgemm.layout(t.m, t.n, t.k); need > len(p.workers[i].work64) {
			panicPoolWork(need, len(p.workers[i].work64))
		}
	}
	p.dispatch(parts)
}

// Matrix is one parameter of a block that a Pool updates: Rows rows of
// Cols numbers, its first axis and the product of the others (a linear
// layer's weight is its output features × its inputs, a bias Rows × 1).
type Matrix struct{ Rows, Cols int }

// updateMin is the least parameters worth splitting an update for: it
// streams them at tens of bytes per nanosecond, so a share below this is
// not worth a worker's wake-up.
const updateMin = 1 << 15

// SGD32 is SGD32 on a block of parameters laid back to back as mats
// describes, split across the pool's workers by bands of each matrix's
// rows: the bands a Pool gives each worker in the products that use those
// rows (the columns of X·Wᵀ, the rows of a weight's gradient), so each
// worker updates the weights it holds in its cache and reads next.
func (p *Pool) SGD32(params, grads []float32, lr, weightDecay float32, mats []Matrix) {
	checkLengths(len(params), len(grads))
	checkMatrices(mats, len(params))
	p.update(len(params), gemmTask{mats: mats, a32: params, b32: grads, lr32: lr, wd32: weightDecay})
}

// SGD64 is SGD32 for float64.
func (p *Pool) SGD64(params, grads []float64, lr, weightDecay float64, mats []Matrix) {
	checkLengths(len(params), len(grads))
	checkMatrices(mats, len(params))
	p.update(len(params), gemmTask{double: true, mats: mats, a64: params, b64: grads, lr64: lr, wd64: weightDecay})
}

// Adam32 is Adam32 on one parameter of rows rows (its first axis), split
// across the pool's workers by bands of those rows as SGD32 splits them.
func (p *Pool) Adam32(params, grads, m, v []float32, s AdamStep[float32], rows int) {
	checkLengths(len(params), len(grads))
	checkLengths(len(params), len(m))
	checkLengths(len(params), len(v))
	p.update(len(params), gemmTask{update: adamUpdate, one: checkRows(rows, len(params)), a32: params, b32: grads, c32: m, d32: v, adam32: s})
}

// Adam64 is Adam32 for float64.
func (p *Pool) Adam64(params, grads, m, v []float64, s AdamStep[float64], rows int) {
	checkLengths(len(params), len(grads))
	checkLengths(len(params), len(m))
	checkLengths(len(params), len(v))
	p.update(len(params), gemmTask{double: true, update: adamUpdate, one: checkRows(rows, len(params)), a64: params, b64: grads, c64: m, d64: v, adam64: s})
}

// Momentum32 is Momentum32 on one parameter of rows rows, split across the
// pool's workers by bands of those rows as SGD32 splits them.
func (p *Pool) Momentum32(params, grads, buf []float32, s MomentumStep[float32], rows int) {
	checkLengths(len(params), len(grads))
	checkLengths(len(params), len(buf))
	p.update(len(params), gemmTask{update: momentumUpdate, one: checkRows(rows, len(params)), a32: params, b32: grads, c32: buf, mom32: s})
}

// Momentum64 is Momentum32 for float64.
func (p *Pool) Momentum64(params, grads, buf []float64, s MomentumStep[float64], rows int) {
	checkLengths(len(params), len(grads))
	checkLengths(len(params), len(buf))
	p.update(len(params), gemmTask{double: true, update: momentumUpdate, one: checkRows(rows, len(params)), a64: params, b64: grads, c64: buf, mom64: s})
}

// update runs an update of total numbers across the workers: each gets
// task with its share (lo of hi), the kernel set and its band unit, and
// the task's one matrix where it has no mats.
func (p *Pool) update(total int, task gemmTask) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := p.updateShares(total)
	task.ks = current()
	task.nr = task.ks.sgemm.nr
	if task.double {
		task.nr = task.ks.dgemm.nr
	}
	for i := 0; i < parts; i++ {
		t := &p.workers[i].task
		*t = task
		t.lo, t.hi = i, parts
		if t.mats == nil {
			t.mats = t.one[:]
		}
	}
	p.dispatch(parts)
}

// checkRows is the one matrix of n numbers in rows rows, or a panic.
func checkRows(rows, n int) [1]Matrix {
	if rows <= 0 || n%rows != 0 {
		panic(fmt.Sprintf("kernels: %d numbers in %d rows", n, rows))
	}
	return [1]Matrix{{rows, n / rows}}
}

func (p *Pool) updateShares(total int) int {
	if p.closed {
		panic("kernels: Pool used after Close")
	}
	return max(1, min(len(p.workers), total/updateMin))
}

// checkMatrices panics unless mats covers a block of n numbers.
func checkMatrices(mats []Matrix, n int) {
	total := 0
	for _, m := range mats {
		if m.Rows < 0 || m.Cols < 0 {
			panic(fmt.Sprintf("kernels: a matrix of %d×%d", m.Rows, m.Cols))
		}
		total += m.Rows * m.Cols
	}
	if total != n {
		panic(fmt.Sprintf("kernels: matrices of %d numbers for a block of %d", total, n))
	}
}

// updateShare runs share i of parts of an update: for every matrix, its
// band of rows on multiples of nr, as a product with a column per row splits
// its columns; x and y are the optimizer's state (Adam's moments,
// momentum's buffer in x).
func updateShare[T nnrt.Float](v *vecSet[T], op updateOp, mats []Matrix, i, parts, nr int, params, grads, x, y []T, lr, weightDecay T, adam AdamStep[T], mom MomentumStep[T]) {
	off := 0
	for _, m := range mats {
		lo, hi := band(m.Rows, nr, parts, i)
		if a, b := off+lo*m.Cols, off+hi*m.Cols; a < b {
			switch op {
			case sgdUpdate:
				v.sgd(lr, weightDecay, params[a:b], grads[a:b])
			case adamUpdate:
				v.adam(adam, params[a:b], grads[a:b], x[a:b], y[a:b])
			case momentumUpdate:
				v.momentum(mom, params[a:b], grads[a:b], x[a:b])
			}
		}
		off += m.Rows * m.Cols
	}
}

// ConvForward32 is ConvForward32 split across the pool's workers by
// samples, with their workspaces (ConvWork32(c) each).
func (p *Pool) ConvForward32(c Conv, y, x, w, b []float32) {
	c.check(len(x), len(w), len(y))
	p.conv32(convForwardOp, c, y, x, w, b)
}

// ConvForwardReLU32 is ConvForwardReLU32 split across the pool's workers.
func (p *Pool) ConvForwardReLU32(c Conv, y, x, w, b []float32) {
	c.check(len(x), len(w), len(y))
	p.conv32(convForwardReLUOp, c, y, x, w, b)
}

// ConvInputGrad32 is ConvInputGrad32 split across the pool's workers by
// samples.
func (p *Pool) ConvInputGrad32(c Conv, dx, dy, w []float32) {
	c.check(len(dx), len(w), len(dy))
	p.conv32(convInputGradOp, c, dx, dy, w, nil)
}

// ConvWeightGrad32 is ConvWeightGrad32 split across the pool's workers by
// output channels: each sums over every sample, in the order one core
// does, so the result does not depend on the number of workers.
func (p *Pool) ConvWeightGrad32(c Conv, dw, dy, x []float32) {
	c.check(len(x), len(dw), len(dy))
	p.conv32(convWeightGradOp, c, dw, dy, x, nil)
}

// ConvForward64 is ConvForward64 split across the pool's workers.
func (p *Pool) ConvForward64(c Conv, y, x, w, b []float64) {
	c.check(len(x), len(w), len(y))
	p.conv64(convForwardOp, c, y, x, w, b)
}

// ConvForwardReLU64 is ConvForwardReLU64 split across the pool's workers.
func (p *Pool) ConvForwardReLU64(c Conv, y, x, w, b []float64) {
	c.check(len(x), len(w), len(y))
	p.conv64(convForwardReLUOp, c, y, x, w, b)
}

// ConvInputGrad64 is ConvInputGrad64 split across the pool's workers.
func (p *Pool) ConvInputGrad64(c Conv, dx, dy, w []float64) {
	c.check(len(dx), len(w), len(dy))
	p.conv64(convInputGradOp, c, dx, dy, w, nil)
}

// ConvWeightGrad64 is ConvWeightGrad64 split across the pool's workers.
func (p *Pool) ConvWeightGrad64(c Conv, dw, dy, x []float64) {
	c.check(len(x), len(dw), len(dy))
	p.conv64(convWeightGradOp, c, dw, dy, x, nil)
}

func (p *Pool) conv32(op convOp, c Conv, out, a, b, bias []float32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts, total := p.convPlan(op, c)
	need := ConvWork32(c)
	for i := 0; i < parts; i++ {
		if need > len(p.workers[i].work32) {
			panicPoolWork(need, len(p.workers[i].work32))
		}
		lo, hi := band(total, 1, parts, i)
		p.workers[i].task = gemmTask{ks: current(), op: op, conv: c, lo: lo, hi: hi, c32: out, a32: a, b32: b, bias32: bias}
	}
	p.dispatch(parts)
}

func (p *Pool) conv64(op convOp, c Conv, out, a, b, bias []float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts, total := p.convPlan(op, c)
	need := ConvWork64(c)
	for i := 0; i < parts; i++ {
		if need > len(p.workers[i].work64) {
			panicPoolWork(need, len(p.workers[i].work64))
		}
		lo, hi := band(total, 1, parts, i)
		p.workers[i].task = gemmTask{ks: current(), double: true, op: op, conv: c, lo: lo, hi: hi, c64: out, a64: a, b64: b, bias64: bias}
	}
	p.dispatch(parts)
}

// convPlan is the shares of a convolution's kernel on this pool, and what
// they split: samples, or output channels for the weight gradient (whole
// on the direct loops).
func (p *Pool) convPlan(op convOp, c Conv) (parts, total int) {
	if p.closed {
		panic("kernels: Pool used after Close")
	}
	total = c.N
	if op == convWeightGradOp {
		total = c.K
		if c.direct() {
			return 1, total
		}
	}
	flops := 2 * c.N * c.K * c.P() * c.Q() * c.taps()
	return max(1, min(len(p.workers), total, flops/poolMinFlops)), total
}

// plan picks the number of shares and whether to split rows (else columns)
// for a call on this pool.
func (p *Pool) plan(transA, transB bool, mr, nr, m, n, k int) (parts int, rows bool) {
	if p.closed {
		panic("kernels: Pool used after Close")
	}
	return planShares(len(p.workers), transA, transB, mr, nr, m, n, k)
}

// planShares splits the longer side of C into at most one share per worker
// and per tile, and one share per poolMinFlops of work. A weight's gradient
// (Aᵀ·B, a row per output feature) is split by rows where it has a tile of
// rows per worker: each worker then writes the rows of the gradient whose
// weights it multiplies in the forward pass (a band of the columns of
// X·Wᵀ) and updates (Pool.SGD32), so those weights stay in its cache.
// With at most fewRows rows it is split by the longer side as any product:
// split by rows, each worker would pack all of B (k×n, the larger operand
// by far) for a band of few rows. The transformer's weight gradients, 64
// rows (its model width) by 192 or 256 over 512 positions, summed as one
// product and then transposed into the gradient: its train step on two
// cores, alternating, 2.44-2.66 ms by rows, 2.36-2.50 by columns.
func planShares(workers int, transA, transB bool, mr, nr, m, n, k int) (parts int, rows bool) {
	rows = m >= n || transA && !transB && m >= workers*mr && m > fewRows
	tiles := (n + nr - 1) / nr
	if rows {
		tiles = (m + mr - 1) / mr
	}
	flops := 2 * m * n * k
	parts = min(workers, tiles, max(1, flops/poolMinFlops))
	if k == 0 {
		parts = 1 // nothing to split: Gemm only clears C
	}
	return max(parts, 1), rows
}

// PoolWork32 is the workspace (elements) that every worker of a pool of
// the given size (runtime.GOMAXPROCS(0) when workers ≤ 0) needs for its
// share of an m×n×k Pool.Gemm32, with any kernel set and transposes: GemmWork32 of the
// largest share, less than GemmWork32(m, n, k) when the product is split.
// A generated model sizes its pool with the most over its pooled products
// and GemmWork32 of those it runs itself with Work32.
func PoolWork32(workers, m, n, k int) int {
	most := 0
	for _, ks := range kernelSets {
		g := ks.sgemmFor(m)
		forShares(workers, g.mr, g.nr, m, n, k, func(m, n, k int) {
			most = max(most, GemmWork32(m, n, k))
		})
	}
	return most
}

// PoolWork64 is PoolWork32 for Pool.Gemm64.
func PoolWork64(workers, m, n, k int) int {
	most := 0
	for _, ks := range kernelSets {
		forShares(workers, ks.dgemm.mr, ks.dgemm.nr, m, n, k, func(m, n, k int) {
			most = max(most, GemmWork64(m, n, k))
		})
	}
	return most
}

// forShares calls f with the size of every share of an m×n×k product split
// as a pool of workers splits it with tiles of mr×nr, for any transposes (a
// weight's gradient, Aᵀ·B, may split by rows where another would split
// by columns).
func forShares(workers, mr, nr, m, n, k int, f func(m, n, k int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, transA := range []bool{false, true} {
		parts, rows := planShares(workers, transA, false, mr, nr, m, n, k)
		for i := 0; i < parts; i++ {
			t := gemmTask{m: m, n: n, k: k}
			t.share(parts, i, rows, mr, nr)
			f(t.m, t.n, t.k)
		}
	}
}

// share narrows the task to band i of parts, on tile boundaries.
func (t *gemmTask) share(parts, i int, rows bool, mr, nr int) {
	if parts == 1 {
		return
	}
	if rows {
		lo, hi := band(t.m, mr, parts, i)
		t.m = hi - lo
		offA := lo * t.lda // row lo of A
		if t.transA {
			offA = lo // column lo of the stored k×m A
		}
		t.a32, t.a64 = tail(t.a32, offA), tail(t.a64, offA)
		t.c32, t.c64 = tail(t.c32, lo*t.ldc), tail(t.c64, lo*t.ldc)
		return
	}
	lo, hi := band(t.n, nr, parts, i)
	t.n = hi - lo
	offB := lo // column lo of B
	if t.transB {
		offB = lo * t.ldb // row lo of the stored n×k B
	}
	t.b32, t.b64 = tail(t.b32, offB), tail(t.b64, offB)
	t.c32, t.c64 = tail(t.c32, lo), tail(t.c64, lo)
}

// band is share i of parts of total, split on multiples of unit.
func band(total, unit, parts, i int) (lo, hi int) {
	units := (total + unit - 1) / unit
	lo = min(total, units*i/parts*unit)
	hi = min(total, units*(i+1)/parts*unit)
	return lo, hi
}

// tail is s[off:], or nil for a nil s (the other precision's slices).
func tail[T float32 | float64](s []T, off int) []T {
	if s == nil {
		return nil
	}
	return s[off:]
}

// spins is how many times a worker waiting for its next task, or a caller
// waiting for the workers' shares, spin-waits (spinWait: spinPauses PAUSE
// instructions, about 0.2 µs in all, BenchmarkSpinWait) before it parks:
// about 400 µs, as the Gosched loop it replaced spun. Waking a
// parked goroutine costs tens of microseconds on a virtual machine, as
// long as a whole share of a 3-million-multiply-add product; the GEMMs of
// a training step come microseconds apart, so a worker that spins catches
// the next at once. Spinning with runtime.Gosched instead took the
// scheduler's lock thousands of times per step, a fifth of the samples of
// the 784-128-10 train step on two cores, which then ran slower than on one.
const spins = 2000

// spinPauses is the PAUSE instructions per spinWait on amd64.
const spinPauses = 8

// dispatch runs shares 1..parts-1 on the workers and share 0 here: it
// counts the task in the worker's seq, which a spinning worker sees, and
// leaves a token in its wake channel for a parked one.
//
// Only as many shares as GOMAXPROCS get a goroutine: the calling goroutine
// runs the others after share 0, each with its worker's workspace, so the
// shares and their bits stay those of the whole pool. GOMAXPROCS may drop
// after the pool starts (runtime.GOMAXPROCS, or the runtime following a
// container's CPU limit), and goroutines that spin for a processor they
// cannot have would take turns with the caller at the scheduler's pace: a
// two-worker pool under GOMAXPROCS=1 made W3's train step 5x slower.
//
// A worker that has not started its share by the time the caller has run
// its own has no processor: another goroutine holds it, such as another
// model's caller. The caller then claims that share and runs it itself,
// rather than wait for the worker.
func (p *Pool) dispatch(parts int) {
	awake := min(parts, runtime.GOMAXPROCS(0))
	p.done.Add(awake - 1)
	p.pending.Store(int32(awake - 1))
	for _, w := range p.workers[1:awake] {
		w.seq.Add(1)
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w := p.workers[0]
	w.task.run(w)
	for _, w := range p.workers[awake:parts] {
		w.task.run(w)
	}
	for _, w := range p.workers[1:awake] {
		p.claim(w, w.seq.Load())
	}
	for i := 0; p.pending.Load() > 0 && i < spins; i++ {
		spinWait()
	}
	p.done.Wait()
}

func (t *gemmTask) run(w *poolWorker) {
	switch {
	case t.mats != nil && t.double:
		updateShare(&t.ks.v64, t.update, t.mats, t.lo, t.hi, t.nr, t.a64, t.b64, t.c64, t.d64, t.lr64, t.wd64, t.adam64, t.mom64)
	case t.mats != nil:
		updateShare(&t.ks.v32, t.update, t.mats, t.lo, t.hi, t.nr, t.a32, t.b32, t.c32, t.d32, t.lr32, t.wd32, t.adam32, t.mom32)
	case t.op != noConv && t.double:
		runConv(t.ks, t.op, t.conv, t.lo, t.hi, t.c64, t.a64, t.b64, t.bias64, w.work64)
	case t.op != noConv:
		runConv(t.ks, t.op, t.conv, t.lo, t.hi, t.c32, t.a32, t.b32, t.bias32, w.work32)
	case t.double:
		gemm64(t.ks, t.transA, t.transB, t.m, t.n, t.k, t.a64, t.lda, t.b64, t.ldb, t.c64, t.ldc, t.accumulate, w.work64)
	default:
		gemm32(t.ks, t.transA, t.transB, t.m, t.n, t.k, t.a32, t.lda, t.b32, t.ldb, t.c32, t.ldc, t.accumulate, w.work32)
	}
	*t = gemmTask{} // keep no reference to the caller's matrices
}

//go:noinline
func panicPoolWork(need, have int) {
	panic(fmt.Sprintf("kernels: Pool: a share needs %d elements of workspace, the pool has %d (NewPool maxWork)", need, have))
}
