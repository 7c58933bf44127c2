// Package cuda runs the CUDA kernels that nngen generates, through the
// NVIDIA driver API loaded at run time with purego: no cgo, no CUDA toolkit
// at build time, and a program that still starts, and can fall back to the
// CPU, on a machine without the driver or a GPU.
//
// Generated gpu packages (nngen build -cuda) describe their device memory
// and kernel launches in a Spec, and drive a Program made from it. The
// driver is libcuda.so.1, or the library named by $NNGEN_LIBCUDA (tests
// point it at a fake that runs the kernels on the CPU). Device 0 is used;
// CUDA_VISIBLE_DEVICES picks which GPU that is. The matrix products that
// a Spec describes as GEMMs run through cuBLAS, libcublas.so.12 (or .11,
// or $NNGEN_LIBCUBLAS), loaded the same way, where it is installed, and
// in nngen's own kernels where it is not; a Program runs on a stream of
// its own and replays its phases as CUDA graphs.
//
// A CUDA context is current per OS thread, and goroutines move between
// threads, so every call here locks its goroutine to its thread and makes
// the device's primary context current before it talks to the driver.
package cuda

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// Error is a failed driver call.
type Error struct {
	Call    string // the entry point, and what it was for
	Code    int    // the CUresult
	Message string // the driver's description of the code
}

func (e *Error) Error() string {
	return fmt.Sprintf("cuda: %s: %s (CUDA error %d)", e.Call, e.Message, e.Code)
}

var (
	mu       sync.Mutex
	drv      *driver // loaded once it has worked; a failure is retried
	contexts = map[int]*Context{}
)

// Context is a device's primary context, shared by every Program on it.
type Context struct {
	d    *driver
	ctx  uintptr
	name string
}

// Open returns the primary context of the given device, loading and
// initialising the driver on first use. Its error says why there is no
// GPU to use: no driver, no device, or a driver that failed to start.
func Open(device int) (*Context, error) {
	mu.Lock()
	defer mu.Unlock()
	if c := contexts[device]; c != nil {
		return c, nil
	}
	d := drv
	if d == nil {
		var err error
		if d, err = load(); err != nil {
			return nil, err
		}
		if err := d.check("cuInit", d.cuInit(0)); err != nil {
			return nil, err
		}
		drv = d
	}
	var count int32
	if err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&count)); err != nil {
		return nil, err
	}
	if device < 0 || device >= int(count) {
		return nil, fmt.Errorf("cuda: no CUDA device %d (the driver sees %d)", device, count)
	}
	var dev int32
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&dev, int32(device))); err != nil {
		return nil, err
	}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
		return nil, err
	}
	c := &Context{d: d, name: cString(&name[0])}
	if err := d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&c.ctx, dev)); err != nil {
		return nil, err
	}
	contexts[device] = c
	return c, nil
}

// Name is the device's name, as the driver reports it.
func (c *Context) Name() string { return c.name }

// enter locks the goroutine to its thread and makes the context current
// there; every successful enter is followed by exit.
func (c *Context) enter() error {
	runtime.LockOSThread()
	if err := c.d.check("cuCtxSetCurrent", c.d.cuCtxSetCurrent(c.ctx)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

func (c *Context) exit() { runtime.UnlockOSThread() }

// check turns a CUresult into an error naming the call.
func (d *driver) check(call string, code int32) error {
	if code == 0 {
		return nil
	}
	var msg *byte
	text := "unknown error"
	if d.cuGetErrorString(code, &msg) == 0 && msg != nil {
		text = cString(msg)
	}
	return &Error{Call: call, Code: int(code), Message: text}
}

// Spec describes a generated model's device side: the PTX of its kernels,
// its device buffers, and the kernels each of its methods launches.
type Spec struct {
	PTX []byte
	// Float is the size in bytes of the model's numbers, 4 or 8: the
	// kernels' scalar parameters have that type.
	Float   int
	Buffers []Buffer
	// Phases lists, for each phase (forward, backward, step, as the
	// generated code numbers them), the kernels it launches in order.
	Phases [][]Kernel
}

// Buffer is one device allocation: an input, a parameter, a gradient,
// optimizer state, or a scratch slot.
type Buffer struct {
	Name  string
	Bytes int
}

// Kernel is one launch of a kernel of the PTX.
type Kernel struct {
	Name string
	// Threads is how many threads the kernel needs; each checks its index
	// against it, so the launch may round up to whole blocks.
	Threads int
	// Buffers are the kernel's pointer parameters, as indexes into
	// Spec.Buffers; Scalars follow them, as indexes into the scalars given
	// to NewProgram, passed by value.
	Buffers []int
	Scalars []int
	// GEMM, when set, is the kernel's matrix product: where cuBLAS is
	// loaded, it runs instead of the kernel, between its Before and Then
	// kernels; elsewhere the kernel runs (see Program.BLAS).
	GEMM *GEMM
}

// blockSize is the number of threads per block: a multiple of the warp
// size, and small enough for any kernel's registers.
const blockSize = 256

// Program is a Spec loaded onto a device: the module, the buffers, and the
// launches ready to go, on a stream of its own. Its methods return the
// driver's errors; a Program is not safe for concurrent use.
type Program struct {
	ctx      *Context
	module   uintptr
	stream   uintptr
	pointers []uint64 // each buffer's device address; kernel parameters point here
	bytes    []int
	phases   [][]launch

	blas   *blas   // nil: nngen's kernels compute the products
	handle uintptr // the cuBLAS handle, on the stream
	noBLAS string  // why blas is nil
	graphs bool    // whether phases replay as CUDA graphs
	phased []phaseState
	float  int // the Spec's Float
}

type launch struct {
	name        string
	function    uintptr
	grid, block uint32
	params      []unsafe.Pointer
	gemm        *gemmCall // the product through cuBLAS, between the launches before and then
	before      []launch
	then        []launch
}

// phaseState is what Run keeps of a phase for its CUDA graph. A graph
// holds the values its launches' scalars had when it was captured, so Run
// replays it only while they keep those values: when one changes, the
// phase runs eagerly, and is captured again once two runs in a row see
// the same values.
type phaseState struct {
	graph   uintptr          // the instantiated graph (CUgraphExec), or 0
	scalars []unsafe.Pointer // the scalars its launches read
	seen    []uint64         // their values at the last run (the capture's, with a graph)
	now     []uint64         // their values at this run
	ranOnce bool             // whether seen holds a run's values
}

// NewProgram loads spec onto device 0, allocates its buffers (their
// contents undefined until uploaded or zeroed) and creates its stream, on
// which every launch and copy runs in order. scalars points to the
// variables whose values the kernels' scalar parameters take at each
// launch, such as a model's learning rate field: they must stay valid, and
// of the Spec's Float type, for the Program's life.
//
// The matrix products with a GEMM run through cuBLAS when it loads (see
// BLAS); $NNGEN_CUBLAS=off keeps them in nngen's kernels. Each phase is
// captured as a CUDA graph and replayed (see Run); $NNGEN_CUDA_GRAPHS=off
// launches every kernel each time instead.
func NewProgram(spec *Spec, scalars []unsafe.Pointer) (_ *Program, err error) {
	if err := CheckPTX(spec); err != nil {
		return nil, err
	}
	c, err := Open(0)
	if err != nil {
		return nil, err
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	d := c.d
	p := &Program{ctx: c, float: spec.Float, pointers: make([]uint64, len(spec.Buffers)), bytes: make([]int, len(spec.Buffers))}
	defer func() {
		if err != nil {
			p.free()
		}
	}()
	image := append(append([]byte(nil), spec.PTX...), 0)
	if err := d.check("cuModuleLoadData", d.cuModuleLoadData(&p.module, &image[0])); err != nil {
		return nil, err
	}
	// Non-blocking: the stream does not wait for the legacy default
	// stream, which other libraries in the process may use.
	if err := d.check("cuStreamCreate", d.cuStreamCreate(&p.stream, streamNonBlocking)); err != nil {
		return nil, err
	}
	for i, b := range spec.Buffers {
		if err := d.check("cuMemAlloc "+b.Name, d.cuMemAlloc(&p.pointers[i], uintptr(b.Bytes))); err != nil {
			return nil, err
		}
		p.bytes[i] = b.Bytes
	}
	if err := p.openBLAS(); err != nil {
		return nil, err
	}
	v := os.Getenv("NNGEN_CUDA_GRAPHS")
	p.graphs = v != "off" && v != "0"
	functions := map[string]uintptr{}
	var prepare func(k Kernel) (launch, error)
	prepare = func(k Kernel) (launch, error) {
		f, ok := functions[k.Name]
		if !ok {
			name := append([]byte(k.Name), 0)
			if err := d.check("cuModuleGetFunction "+k.Name, d.cuModuleGetFunction(&f, p.module, &name[0])); err != nil {
				return launch{}, err
			}
			functions[k.Name] = f
		}
		l := launch{name: k.Name, function: f, block: uint32(min(k.Threads, blockSize))}
		l.grid = uint32((k.Threads + int(l.block) - 1) / int(l.block))
		for _, b := range k.Buffers {
			l.params = append(l.params, unsafe.Pointer(&p.pointers[b]))
		}
		for _, s := range k.Scalars {
			if s < 0 || s >= len(scalars) {
				return launch{}, fmt.Errorf("cuda: kernel %s takes scalar %d of %d", k.Name, s, len(scalars))
			}
			l.params = append(l.params, scalars[s])
		}
		if k.GEMM != nil {
			g, err := newGEMMCall(k.Name, k.GEMM, spec.Float, p.pointers, p.bytes)
			if err != nil {
				return launch{}, err
			}
			l.gemm = g
			for _, before := range k.GEMM.Before {
				b, err := prepare(before)
				if err != nil {
					return launch{}, err
				}
				l.before = append(l.before, b)
			}
			for _, then := range k.GEMM.Then {
				t, err := prepare(then)
				if err != nil {
					return launch{}, err
				}
				l.then = append(l.then, t)
			}
		}
		return l, nil
	}
	for _, phase := range spec.Phases {
		var launches []launch
		var state phaseState
		var read func(k Kernel)
		read = func(k Kernel) {
			for _, s := range k.Scalars {
				if !slices.Contains(state.scalars, scalars[s]) {
					state.scalars = append(state.scalars, scalars[s])
				}
			}
			if k.GEMM != nil {
				for _, k := range slices.Concat(k.GEMM.Before, k.GEMM.Then) {
					read(k)
				}
			}
		}
		for _, k := range phase {
			l, err := prepare(k)
			if err != nil {
				return nil, err
			}
			launches = append(launches, l)
			read(k)
		}
		state.seen, state.now = make([]uint64, len(state.scalars)), make([]uint64, len(state.scalars))
		p.phases = append(p.phases, launches)
		p.phased = append(p.phased, state)
	}
	return p, nil
}

// openBLAS creates the Program's cuBLAS handle on its stream, or notes
// why the products stay in nngen's kernels; the context is current.
func (p *Program) openBLAS() error {
	b, err := openBLAS()
	if err != nil {
		p.noBLAS = err.Error()
		return nil
	}
	if err := b.check("cublasCreate", b.cublasCreate(&p.handle)); err != nil {
		return err
	}
	p.blas = b
	if err := b.check("cublasSetStream", b.cublasSetStream(p.handle, p.stream)); err != nil {
		return err
	}
	// Exact float32 products, as PyTorch's default (no TF32) and the CPU
	// path: the parity checks hold on either path.
	return b.check("cublasSetMathMode", b.cublasSetMathMode(p.handle, cublasDefaultMath))
}

// DeviceName is the name of the device the Program runs on.
func (p *Program) DeviceName() string { return p.ctx.name }

// Device, Stream, Float and Buffer are for libraries that work on a
// Program's memory in place, such as NCCL's all-reduce of the gradients
// across processes (runtime/dist).

// Device is the ordinal of the device the Program runs on, as the CUDA
// runtime and NCCL count the devices that CUDA_VISIBLE_DEVICES leaves: 0.
func (p *Program) Device() int { return 0 }

// Float is the size in bytes of the Program's numbers, the Spec's Float.
func (p *Program) Float() int { return p.float }

// Buffer returns the device address of a buffer and its size in bytes;
// the address is 0 once the Program is closed.
func (p *Program) Buffer(buffer int) (address uint64, bytes int, err error) {
	if buffer < 0 || buffer >= len(p.pointers) {
		return 0, 0, fmt.Errorf("cuda: no buffer %d (the program has %d)", buffer, len(p.pointers))
	}
	return p.pointers[buffer], p.bytes[buffer], nil
}

// BLAS says what computes the matrix products: "cuBLAS (library)", or
// "nngen's kernels (" and why cuBLAS is not used ")".
func (p *Program) BLAS() string {
	if p.blas != nil {
		return "cuBLAS (" + p.blas.name + ")"
	}
	return "nngen's kernels (" + p.noBLAS + ")"
}

// Graphs reports whether the Program replays its phases as CUDA graphs.
func (p *Program) Graphs() bool { return p.graphs }

// Paths says how the Program runs, for a reason such as Auto's: BLAS, and
// whether CUDA graphs replay the phases.
func (p *Program) Paths() string {
	if p.graphs {
		return p.BLAS() + ", CUDA graphs"
	}
	return p.BLAS() + ", no CUDA graphs (NNGEN_CUDA_GRAPHS=off)"
}

// Stream is the Program's CUDA stream (a CUstream), on which it launches
// and copies in order: work of other libraries (NCCL) ordered on it runs
// between the Program's calls.
func (p *Program) Stream() uintptr { return p.stream }

// Run launches the kernels of a phase, in order, on the Program's stream.
// Launches are asynchronous: a kernel's failure shows in the next call
// that waits for the device (a Download, or Synchronize).
//
// With CUDA graphs, a phase's first run is eager, as libraries such as
// cuBLAS want before a capture; its second is captured into a graph and
// launched, and the next ones replay it: one launch for the phase. A graph
// holds its scalars' values (a learning rate) as they were at the capture,
// so when one has changed the phase runs eagerly instead, and is captured
// again once two runs in a row see the same values.
func (p *Program) Run(phase int) error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	if phase < 0 || phase >= len(p.phases) {
		return fmt.Errorf("cuda: no phase %d (the program has %d; closed?)", phase, len(p.phases))
	}
	if !p.graphs {
		return p.launch(p.phases[phase])
	}
	st := &p.phased[phase]
	d := p.ctx.d
	for i, s := range st.scalars {
		st.now[i] = p.scalarBits(s)
	}
	same := st.ranOnce && slices.Equal(st.now, st.seen)
	copy(st.seen, st.now)
	switch {
	case same && st.graph != 0:
	case same: // the values of the last run again: capture them
		if err := p.capture(phase); err != nil {
			return err
		}
	default: // the first run, or new values: eagerly, and forget the graph
		st.ranOnce = true
		if st.graph != 0 {
			if err := d.check("cuGraphExecDestroy", d.cuGraphExecDestroy(st.graph)); err != nil {
				return err
			}
			st.graph = 0
		}
		return p.launch(p.phases[phase])
	}
	return d.check("cuGraphLaunch", d.cuGraphLaunch(st.graph, p.stream))
}

// scalarBits is the scalar at s as bits, to compare: a float of the
// Spec's Float type.
func (p *Program) scalarBits(s unsafe.Pointer) uint64 {
	if p.float == 8 {
		return *(*uint64)(s)
	}
	return uint64(*(*uint32)(s))
}

// capture records the launches of a phase into a CUDA graph and
// instantiates it; nothing runs. Thread-local capture: the goroutine is
// locked to its thread, and other threads' CUDA calls are not ours.
func (p *Program) capture(phase int) error {
	d := p.ctx.d
	if err := d.check("cuStreamBeginCapture", d.cuStreamBeginCapture(p.stream, captureThreadLocal)); err != nil {
		return err
	}
	launched := p.launch(p.phases[phase])
	var graph uintptr
	ended := d.check("cuStreamEndCapture", d.cuStreamEndCapture(p.stream, &graph))
	if graph != 0 {
		defer d.cuGraphDestroy(graph) // the instantiated graph is independent of it
	}
	if launched != nil {
		return launched
	}
	if ended != nil {
		return ended
	}
	return d.check("cuGraphInstantiate", d.cuGraphInstantiateWithFlags(&p.phased[phase].graph, graph, 0))
}

// launch launches each kernel, or its product through cuBLAS where the
// Program has it; the context is current.
func (p *Program) launch(launches []launch) error {
	d := p.ctx.d
	for i := range launches {
		l := &launches[i]
		if l.gemm != nil && p.blas != nil {
			if err := p.launch(l.before); err != nil {
				return err
			}
			if err := l.gemm.run(p.blas, p.handle); err != nil {
				return err
			}
			if err := p.launch(l.then); err != nil {
				return err
			}
			continue
		}
		var params *unsafe.Pointer
		if len(l.params) > 0 {
			params = &l.params[0]
		}
		if err := d.check("cuLaunchKernel "+l.name, d.cuLaunchKernel(l.function, l.grid, 1, 1, l.block, 1, 1, 0, p.stream, params, nil)); err != nil {
			return err
		}
	}
	return nil
}

// The driver's constants.
const (
	streamNonBlocking  = 1 // CU_STREAM_NON_BLOCKING
	captureThreadLocal = 1 // CU_STREAM_CAPTURE_MODE_THREAD_LOCAL
)

// Upload copies bytes bytes from host memory at src to the start of buffer.
func (p *Program) Upload(buffer int, src unsafe.Pointer, bytes uintptr) error {
	if err := p.fits("upload to", buffer, bytes); err != nil {
		return err
	}
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	// From pageable memory the driver stages src before it returns, so
	// the caller may reuse it; the copy runs in order on the stream.
	return p.ctx.d.check("cuMemcpyHtoDAsync", p.ctx.d.cuMemcpyHtoDAsync(p.pointers[buffer], src, bytes, p.stream))
}

// Download copies the first bytes bytes of buffer to host memory at dst,
// after every kernel launched before it has finished.
func (p *Program) Download(dst unsafe.Pointer, buffer int, bytes uintptr) error {
	if err := p.fits("download from", buffer, bytes); err != nil {
		return err
	}
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	d := p.ctx.d
	if err := d.check("cuMemcpyDtoHAsync", d.cuMemcpyDtoHAsync(dst, p.pointers[buffer], bytes, p.stream)); err != nil {
		return err
	}
	return d.check("cuStreamSynchronize", d.cuStreamSynchronize(p.stream))
}

// Zero sets every byte of buffer to 0 (0.0 in either float type).
func (p *Program) Zero(buffer int) error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	if buffer < 0 || buffer >= len(p.bytes) {
		return fmt.Errorf("cuda: zero buffer %d of %d", buffer, len(p.bytes))
	}
	return p.ctx.d.check("cuMemsetD8Async", p.ctx.d.cuMemsetD8Async(p.pointers[buffer], 0, uintptr(p.bytes[buffer]), p.stream))
}

// Synchronize waits for every launch so far, returning the first failure.
func (p *Program) Synchronize() error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	return p.ctx.d.check("cuStreamSynchronize", p.ctx.d.cuStreamSynchronize(p.stream))
}

func (p *Program) fits(what string, buffer int, bytes uintptr) error {
	if buffer < 0 || buffer >= len(p.bytes) || bytes > uintptr(p.bytes[buffer]) {
		return fmt.Errorf("cuda: %s buffer %d: %d bytes do not fit", what, buffer, bytes)
	}
	return nil
}

// Close frees the Program's device memory and module.
func (p *Program) Close() error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	return p.free()
}

// free releases what the Program holds; the context is current.
func (p *Program) free() error {
	d := p.ctx.d
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for i := range p.phased {
		if g := p.phased[i].graph; g != 0 {
			keep(d.check("cuGraphExecDestroy", d.cuGraphExecDestroy(g)))
			p.phased[i].graph = 0
		}
	}
	p.phased = nil
	if p.handle != 0 {
		keep(p.blas.check("cublasDestroy", p.blas.cublasDestroy(p.handle)))
		p.handle, p.blas = 0, nil
	}
	if p.stream != 0 {
		// Waits for the stream's work before the memory goes.
		keep(d.check("cuStreamSynchronize", d.cuStreamSynchronize(p.stream)))
		keep(d.check("cuStreamDestroy", d.cuStreamDestroy(p.stream)))
		p.stream = 0
	}
	for i, ptr := range p.pointers {
		if ptr != 0 {
			keep(d.check("cuMemFree", d.cuMemFree(ptr)))
			p.pointers[i] = 0
		}
	}
	if p.module != 0 {
		keep(d.check("cuModuleUnload", d.cuModuleUnload(p.module)))
		p.module = 0
	}
	p.phases = nil
	return first
}
