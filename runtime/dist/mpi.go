//go:build linux && (amd64 || arm64)

package dist

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/nngen/nngen/runtime/kernels"
)

// mpiLib holds the MPI entry points that dist calls, with Open MPI's C
// types: every handle (MPI_Comm, MPI_Datatype, MPI_Op) is a pointer, the
// address of one of the library's globals, and counts and ranks are C ints.
//
// MPICH and its derivatives (Intel MPI, Cray MPICH) define the handles as
// integer constants instead (MPI_COMM_WORLD is 0x44000000): dist does not
// support them.
type mpiLib struct {
	initThread  func(argc *int32, argv *uintptr, required int32, provided *int32) int32
	commRank    func(comm uintptr, rank *int32) int32
	commSize    func(comm uintptr, size *int32) int32
	allreduce   func(send uintptr, recv unsafe.Pointer, count int32, datatype, op, comm uintptr) int32
	bcast       func(buf unsafe.Pointer, count int32, datatype uintptr, root int32, comm uintptr) int32
	barrier     func(comm uintptr) int32
	finalize    func() int32
	errorString func(code int32, text *byte, length *int32) int32

	// The predefined handles: the addresses of Open MPI's globals.
	world, float, double, byte, sum uintptr
}

const (
	mpiThreadFunneled = 1 // MPI_THREAD_FUNNELED: MPI calls from the thread that called MPI_Init_thread only
	mpiInPlace        = 1 // MPI_IN_PLACE: Open MPI's is (void *) 1
	mpiLibrary        = "libmpi.so.40"
)

// loadMPI opens Open MPI: $NNGEN_LIBMPI when set, else libmpi.so.40 as
// Debian's libopenmpi3 and Open MPI's own builds install it.
func loadMPI() (*mpiLib, string, error) {
	name := os.Getenv("NNGEN_LIBMPI")
	if name == "" {
		name = mpiLibrary
	}
	// RTLD_GLOBAL: Open MPI's components, which it dlopens in MPI_Init,
	// resolve their symbols against libmpi's.
	lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, name, fmt.Errorf("dist: no %s (install Open MPI: apt-get install openmpi-bin)%s", name, detail(err))
	}
	m := &mpiLib{}
	funcs := []struct {
		name string
		fn   any
	}{
		{"MPI_Init_thread", &m.initThread},
		{"MPI_Comm_rank", &m.commRank},
		{"MPI_Comm_size", &m.commSize},
		{"MPI_Allreduce", &m.allreduce},
		{"MPI_Bcast", &m.bcast},
		{"MPI_Barrier", &m.barrier},
		{"MPI_Finalize", &m.finalize},
		{"MPI_Error_string", &m.errorString},
	}
	for _, f := range funcs {
		sym, err := purego.Dlsym(lib, f.name)
		if err != nil {
			return nil, name, fmt.Errorf("dist: %s has no %s%s", name, f.name, detail(err))
		}
		purego.RegisterFunc(f.fn, sym)
	}
	handles := []struct {
		name string
		h    *uintptr
	}{
		{"ompi_mpi_comm_world", &m.world},
		{"ompi_mpi_float", &m.float},
		{"ompi_mpi_double", &m.double},
		{"ompi_mpi_byte", &m.byte},
		{"ompi_mpi_op_sum", &m.sum},
	}
	for _, h := range handles {
		sym, err := purego.Dlsym(lib, h.name)
		if err != nil {
			return nil, name, fmt.Errorf("dist: %s has no %s: not Open MPI? (MPICH's integer handles are not supported)%s", name, h.name, detail(err))
		}
		*h.h = sym
	}
	return m, name, nil
}

// detail is ": " and the dynamic loader's message, or nothing when it has
// none: built with CGO_ENABLED=0, purego's dlerror may say nothing at all.
func detail(err error) string {
	if msg := strings.TrimSpace(err.Error()); msg != "" {
		return ": " + msg
	}
	return ""
}

// mpiComm is MPI_COMM_WORLD. MPI_Init_thread with MPI_THREAD_FUNNELED
// allows MPI calls from the thread that made it only, and goroutines move
// between threads: so one goroutine, locked to its thread, makes every MPI
// call, and the methods hand it their calls through a channel.
type mpiComm struct {
	lib     *mpiLib
	label   string
	mu      sync.Mutex // one collective at a time
	calls   chan func() int32
	results chan int32
	closed  bool
	size    int32
}

// openMPI initialises MPI on a goroutine of its own and returns
// MPI_COMM_WORLD's rank and size.
func openMPI() (*Comm, error) {
	lib, name, err := loadMPI()
	if err != nil {
		return nil, err
	}
	m := &mpiComm{lib: lib, label: "MPI (" + name + ")", calls: make(chan func() int32), results: make(chan int32)}
	go m.serve()
	var provided, rank, size int32
	if err := m.do("MPI_Init_thread", func() int32 {
		return lib.initThread(nil, nil, mpiThreadFunneled, &provided)
	}); err != nil {
		return nil, err
	}
	if provided < mpiThreadFunneled {
		return nil, fmt.Errorf("dist: MPI provides thread level %d, below MPI_THREAD_FUNNELED", provided)
	}
	if err := m.do("MPI_Comm_rank", func() int32 { return lib.commRank(lib.world, &rank) }); err != nil {
		return nil, err
	}
	if err := m.do("MPI_Comm_size", func() int32 { return lib.commSize(lib.world, &size) }); err != nil {
		return nil, err
	}
	m.size = size
	return &Comm{rank: int(rank), size: int(size), b: m}, nil
}

// serve makes the MPI calls, on one OS thread, until MPI_Finalize; the
// thread ends with the goroutine, locked.
func (m *mpiComm) serve() {
	runtime.LockOSThread()
	for call := range m.calls {
		m.results <- call()
	}
}

// do runs call on the MPI goroutine and turns its MPI error code into an
// error naming what.
func (m *mpiComm) do(what string, call func() int32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.calls <- call
	code := <-m.results
	if code == 0 {
		return nil
	}
	text := make([]byte, 256) // MPI_MAX_ERROR_STRING
	var n int32
	var msg string
	m.calls <- func() int32 { return m.lib.errorString(code, &text[0], &n) }
	if <-m.results == 0 && n > 0 && int(n) <= len(text) {
		msg = ": " + string(text[:n])
	}
	return fmt.Errorf("dist: %s failed with MPI error %d%s", what, code, msg)
}

func (m *mpiComm) name() string { return m.label }

func (m *mpiComm) allReduce(p unsafe.Pointer, count int, float64s bool, op Op) error {
	dtype := m.lib.float
	if float64s {
		dtype = m.lib.double
	}
	if err := m.do("MPI_Allreduce", func() int32 {
		return m.lib.allreduce(mpiInPlace, p, int32(count), dtype, m.lib.sum, m.lib.world)
	}); err != nil {
		return err
	}
	if op == Average {
		if float64s {
			scale(unsafe.Slice((*float64)(p), count), m.size)
		} else {
			scale(unsafe.Slice((*float32)(p), count), m.size)
		}
	}
	return nil
}

// scale turns the sum of size ranks' numbers into their mean, x/size, as
// x − ((size−1)/size)·x with the vector kernels' axpy: 4 MiB in 0.06 ms on
// the 2-core test machine, where a Go loop took 0.35 to 0.9 ms (and one
// dividing by size 1.3), as long as MPI's all-reduce itself. With a fused
// multiply-add (amd64's kernels) it is exactly x/size for a power of two,
// and within two roundings of it otherwise.
func scale[T float32 | float64](x []T, size int32) {
	switch x := any(x).(type) {
	case []float32:
		kernels.Axpy32(-float32(size-1)/float32(size), x, x)
	case []float64:
		kernels.Axpy64(-float64(size-1)/float64(size), x, x)
	}
}

func (m *mpiComm) broadcast(p unsafe.Pointer, bytes int, root int) error {
	return m.do("MPI_Bcast", func() int32 {
		return m.lib.bcast(p, int32(bytes), m.lib.byte, int32(root), m.lib.world)
	})
}

func (m *mpiComm) barrier() error {
	return m.do("MPI_Barrier", func() int32 { return m.lib.barrier(m.lib.world) })
}

func (m *mpiComm) close() error {
	err := m.do("MPI_Finalize", func() int32 { return m.lib.finalize() })
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.calls)
	}
	return err
}
