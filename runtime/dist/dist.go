// Package dist trains a generated model on several processes at once, each
// on its share of every batch (data parallelism, as PyTorch's
// DistributedDataParallel): after Backward, the ranks average their
// gradients with an all-reduce, so that every rank takes the same Step
// from the same parameters, the Step that one process would take on the
// whole batch.
//
// The collectives come from an existing library loaded at run time with
// purego, no cgo: Open MPI (libmpi.so.40) for models on the CPU, and
// NVIDIA's NCCL (libnccl.so.2) for gpu models, set up over MPI. A program
// started without mpirun or srun gets a single-process Comm, whose
// collectives do nothing, so the same program trains alone.
//
//	c, why := dist.Auto() // MPI under mpirun, else one process; why says which
//	defer c.Close()
//	model := mymodel.New(seed)
//	dist.BroadcastParams(c, model) // rank 0's parameters everywhere
//	for each batch x, target of n samples {
//		lo, hi := c.Shard(n)                         // this rank's samples
//		model.BackwardBatch(x[lo:hi], target[lo:hi]) // their mean loss's gradient
//		dist.AverageGrads(c, model)                  // the whole batch's
//		model.Step()
//	}
//
// With a mean loss, each rank's gradient is the mean over its shard, and
// the average of the ranks' means is the mean over the batch when the
// shards are equal: use BackwardBatch on a shard, or compile the model for
// the per-rank batch. For unequal shards (the last batch of an epoch),
// ScaleGrads weighs each rank's mean by its share first.
//
// Batch statistics are not exact: batch norm in training mode normalises
// by each rank's shard, not the whole batch (PyTorch's DDP has the same
// limit without SyncBatchNorm), and its running statistics are each
// rank's own. Everything else (SGD with momentum, Adam, AdamW, weight
// decay) is the same computation as one process's, up to float rounding in
// the sum's order.
//
// See docs/distributed.md for the commands, the pitfalls and the numbers.
package dist

import (
	"errors"
	"fmt"
	"unsafe"
)

// Op is a reduction of an all-reduce.
type Op int

const (
	Sum     Op = iota // the sum over the ranks
	Average           // the mean over the ranks: the sum over Size(), within two roundings
)

func (o Op) String() string {
	switch o {
	case Sum:
		return "sum"
	case Average:
		return "average"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Float is the element type of a model's numbers.
type Float interface{ ~float32 | ~float64 }

// Model is what every generated CPU model with a loss offers: its
// parameters, and their gradients, as one slice each over the Model's
// fields (they lie back to back; see ParamBlock in a generated package).
type Model[T Float] interface {
	ParamBlock() []T
	GradBlock() []T
}

// Comm is a communicator: the processes (ranks) that train together. Its
// methods may be called from any goroutine, one collective at a time per
// process; every rank must call the same collectives in the same order, or
// the job waits forever, as with MPI itself.
type Comm struct {
	rank, size int
	b          backend
}

// backend is the collective library behind a Comm. Counts fit a C int:
// Comm splits larger slices.
type backend interface {
	name() string
	allReduce(p unsafe.Pointer, count int, float64s bool, op Op) error
	broadcast(p unsafe.Pointer, bytes int, root int) error
	barrier() error
	close() error
}

// Single returns the communicator of a process that trains alone: rank 0
// of 1, its collectives leave the data as it is.
func Single() *Comm { return &Comm{rank: 0, size: 1, b: single{}} }

type single struct{}

func (single) name() string                                  { return "single process" }
func (single) allReduce(unsafe.Pointer, int, bool, Op) error { return nil }
func (single) broadcast(unsafe.Pointer, int, int) error      { return nil }
func (single) barrier() error                                { return nil }
func (single) close() error                                  { return nil }

// Rank is this process's index, from 0 to Size()-1.
func (c *Comm) Rank() int { return c.rank }

// Size is the number of processes.
func (c *Comm) Size() int { return c.size }

// Backend names the library behind c: "single process" or "MPI (...)".
func (c *Comm) Backend() string { return c.b.name() }

// Close ends c's part in the job (MPI_Finalize). Every rank must close
// its Comm before it exits: mpirun takes a rank that exits without it for
// a failed one and ends the job with an error.
//
// Call it with defer c.Close() in main. When it runs because the rank is
// panicking, it panics on instead of closing: MPI_Finalize waits for the
// other ranks, which may wait in a collective for this one, and the job
// would hang; a rank that dies without it makes mpirun stop the others
// and exit with an error.
func (c *Comm) Close() error {
	if p := recover(); p != nil {
		panic(p)
	}
	return c.b.close()
}

// Barrier returns once every rank has called it.
func (c *Comm) Barrier() error { return c.b.barrier() }

// maxCount is the most numbers one library call takes: its counts are C
// ints.
var maxCount = 1<<31 - 1

// AllReduce sets x, on every rank, to op over the ranks' x, in place. All
// ranks must pass slices of one length.
func AllReduce[T Float](c *Comm, x []T, op Op) error {
	if op != Sum && op != Average {
		return fmt.Errorf("dist: all-reduce with %v", op)
	}
	var zero T
	wide := unsafe.Sizeof(zero) == 8
	for len(x) > 0 {
		n := min(len(x), maxCount)
		if err := c.b.allReduce(unsafe.Pointer(&x[0]), n, wide, op); err != nil {
			return err
		}
		x = x[n:]
	}
	return nil
}

// Broadcast sets x, on every rank, to root's x. All ranks must pass
// slices of one length.
func Broadcast[T Float | byte](c *Comm, x []T, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("dist: broadcast from rank %d of %d", root, c.size)
	}
	if len(x) == 0 {
		return nil
	}
	bytes := unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), len(x)*int(unsafe.Sizeof(x[0])))
	for len(bytes) > 0 {
		n := min(len(bytes), maxCount)
		if err := c.b.broadcast(unsafe.Pointer(&bytes[0]), n, root); err != nil {
			return err
		}
		bytes = bytes[n:]
	}
	return nil
}

// BroadcastParams sets m's parameters, on every rank, to rank 0's, so
// that the ranks start from the same model whatever seed each used.
// Buffers (batch norm's running statistics) are not parameters and stay
// each rank's own.
func BroadcastParams[T Float](c *Comm, m Model[T]) error {
	return Broadcast(c, m.ParamBlock(), 0)
}

// AverageGrads sets m's gradients, on every rank, to their average over
// the ranks: with a mean loss and equal shards, the gradient of the whole
// batch. It is one all-reduce over the contiguous gradient block.
func AverageGrads[T Float](c *Comm, m Model[T]) error {
	return AllReduce(c, m.GradBlock(), Average)
}

// ScaleGrads sets m's gradients, on every rank, to the mean over the
// whole batch when each rank's gradient is the mean over its own local
// samples of a batch of global samples in all: each rank's mean, weighed
// by local/global, summed over the ranks. It is exact for shards of any
// size, the last and smaller batch of an epoch included; with a sum loss,
// pass local = global to sum the gradients.
func ScaleGrads[T Float](c *Comm, m Model[T], local, global int) error {
	if local < 0 || global <= 0 || local > global {
		return fmt.Errorf("dist: %d samples of a batch of %d", local, global)
	}
	g := m.GradBlock()
	if local != global {
		w := T(float64(local) / float64(global))
		for i := range g {
			g[i] *= w
		}
	}
	return AllReduce(c, g, Sum)
}

// Shard returns this rank's part of n items, [lo, hi): consecutive ranks
// take consecutive parts, whose sizes differ by at most one (the first
// n%Size ranks take one more).
func (c *Comm) Shard(n int) (lo, hi int) { return ShardOf(n, c.rank, c.size) }

// ShardOf is Shard for the given rank of size.
func ShardOf(n, rank, size int) (lo, hi int) {
	each, extra := n/size, n%size
	lo = rank*each + min(rank, extra)
	hi = lo + each
	if rank < extra {
		hi++
	}
	return lo, hi
}

// ErrClosed is returned by a collective on a closed Comm.
var ErrClosed = errors.New("dist: the communicator is closed")
