package dist

import (
	"fmt"

	"github.com/nngen/nngen/runtime/cuda"
)

// GPUModel is what a generated gpu package's Model offers for NCCL: the
// Program holding its device memory (its stream and device), and the
// buffers of its gradients.
type GPUModel interface {
	Program() *cuda.Program
	GradBuffers() []int
}

// NCCL is a communicator of NVIDIA's NCCL over the ranks of an MPI Comm,
// one GPU each: it all-reduces a gpu model's gradients in device memory,
// on the model's stream, without copying them to the host.
type NCCL struct {
	lib        *ncclLib
	comm       uintptr
	rank, size int
}

// NCCL's enums, as nccl.h numbers them.
const (
	ncclFloat32 = 7
	ncclFloat64 = 8
	ncclAvg     = 4 // NCCL 2.10 and later
)

// NewNCCL starts NCCL on the ranks of c: rank 0 makes the unique id
// (ncclGetUniqueId), c broadcasts it, and every rank joins with
// ncclCommInitRank on its device 0, the GPU that CUDA_VISIBLE_DEVICES
// gives it. The library is libnccl.so.2, or $NNGEN_LIBNCCL. Each rank
// needs a GPU of its own: NCCL refuses two ranks on one device. Every
// rank must call it, as a collective.
func NewNCCL(c *Comm) (*NCCL, error) {
	lib, err := loadNCCL()
	if err != nil {
		return nil, err
	}
	var id ncclUniqueID
	if c.rank == 0 {
		if err := lib.check("ncclGetUniqueId", lib.getUniqueID(&id)); err != nil {
			return nil, err
		}
	}
	if err := Broadcast(c, id.internal[:], 0); err != nil {
		return nil, err
	}
	n := &NCCL{lib: lib, rank: c.rank, size: c.size}
	if err := lib.check("ncclCommInitRank", lib.commInitRank(&n.comm, int32(c.size), id, int32(c.rank))); err != nil {
		return nil, err
	}
	return n, nil
}

// ncclUniqueID is NCCL's ncclUniqueId, which ncclCommInitRank takes by
// value.
type ncclUniqueID struct{ internal [128]byte }

// AverageGrads sets m's gradients, on every rank, to their average over
// the ranks, in device memory: an in-place ncclAllReduce of each gradient
// buffer on m's stream, grouped into one launch. The all-reduce is queued
// behind the kernels of Backward, and Step's kernels queue behind it.
func (n *NCCL) AverageGrads(m GPUModel) error {
	p := m.Program()
	dtype := int32(ncclFloat32)
	if p.Float() == 8 {
		dtype = ncclFloat64
	}
	if err := n.lib.check("ncclGroupStart", n.lib.groupStart()); err != nil {
		return err
	}
	var first error
	for _, b := range m.GradBuffers() {
		addr, bytes, err := p.Buffer(b)
		if err == nil {
			err = n.lib.check("ncclAllReduce", n.lib.allReduce(addr, addr, uintptr(bytes/p.Float()), dtype, ncclAvg, n.comm, p.Stream()))
		}
		if err != nil {
			first = err
			break
		}
	}
	// The group ends even after a failure: NCCL needs its ncclGroupEnd.
	if err := n.lib.check("ncclGroupEnd", n.lib.groupEnd()); first == nil {
		first = err
	}
	return first
}

// Close frees the NCCL communicator (ncclCommDestroy); the MPI Comm stays.
func (n *NCCL) Close() error {
	if n.comm == 0 {
		return nil
	}
	err := n.lib.check("ncclCommDestroy", n.lib.commDestroy(n.comm))
	n.comm = 0
	return err
}

// ncclLib holds NCCL's entry points, with nccl.h's C types: results and
// enums are C ints, a communicator and a stream are pointers, counts size_t.
type ncclLib struct {
	getUniqueID    func(id *ncclUniqueID) int32
	commInitRank   func(comm *uintptr, nranks int32, id ncclUniqueID, rank int32) int32
	allReduce      func(send, recv uint64, count uintptr, datatype, op int32, comm, stream uintptr) int32
	groupStart     func() int32
	groupEnd       func() int32
	commDestroy    func(comm uintptr) int32
	getErrorString func(result int32) string
}

// check turns an ncclResult_t into an error naming the call.
func (l *ncclLib) check(call string, result int32) error {
	if result == 0 {
		return nil
	}
	return fmt.Errorf("dist: %s: %s (NCCL error %d)", call, l.getErrorString(result), result)
}
