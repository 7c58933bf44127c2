// Package cuda runs the CUDA kernels that nngen generates, through the
// NVIDIA driver API loaded at run time with purego: no cgo, no CUDA toolkit
// at build time, and a program that still starts, and can fall back to the
// CPU, on a machine without the driver or a GPU.
//
// Generated gpu packages (nngen build -cuda) describe their device memory
// and kernel launches in a Spec, and drive a Program made from it. The
// driver is libcuda.so.1, or the library named by $NNGEN_LIBCUDA (tests
// point it at a fake that runs the kernels on the CPU). Device 0 is used;
// CUDA_VISIBLE_DEVICES picks which GPU that is.
//
// A CUDA context is current per OS thread, and goroutines move between
// threads, so every call here locks its goroutine to its thread and makes
// the device's primary context current before it talks to the driver.
package cuda

import (
	"fmt"
	"runtime"
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
}

// blockSize is the number of threads per block: a multiple of the warp
// size, and small enough for any kernel's registers.
const blockSize = 256

// Program is a Spec loaded onto a device: the module, the buffers, and the
// launches ready to go. Its methods return the driver's errors; a Program
// is not safe for concurrent use.
type Program struct {
	ctx      *Context
	module   uintptr
	pointers []uint64 // each buffer's device address; kernel parameters point here
	bytes    []int
	phases   [][]launch
	float    int // the Spec's Float
}

type launch struct {
	name        string
	function    uintptr
	grid, block uint32
	params      []unsafe.Pointer
}

// NewProgram loads spec onto device 0 and allocates its buffers (their
// contents undefined until uploaded or zeroed). scalars points to the
// variables whose values the kernels' scalar parameters take at each
// launch, such as a model's learning rate field: they must stay valid, and
// of the Spec's Float type, for the Program's life.
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
	p := &Program{ctx: c, pointers: make([]uint64, len(spec.Buffers)), bytes: make([]int, len(spec.Buffers)), float: spec.Float}
	defer func() {
		if err != nil {
			p.free()
		}
	}()
	image := append(append([]byte(nil), spec.PTX...), 0)
	if err := d.check("cuModuleLoadData", d.cuModuleLoadData(&p.module, &image[0])); err != nil {
		return nil, err
	}
	for i, b := range spec.Buffers {
		if err := d.check("cuMemAlloc "+b.Name, d.cuMemAlloc(&p.pointers[i], uintptr(b.Bytes))); err != nil {
			return nil, err
		}
		p.bytes[i] = b.Bytes
	}
	functions := map[string]uintptr{}
	for _, phase := range spec.Phases {
		var launches []launch
		for _, k := range phase {
			f, ok := functions[k.Name]
			if !ok {
				name := append([]byte(k.Name), 0)
				if err := d.check("cuModuleGetFunction "+k.Name, d.cuModuleGetFunction(&f, p.module, &name[0])); err != nil {
					return nil, err
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
					return nil, fmt.Errorf("cuda: kernel %s takes scalar %d of %d", k.Name, s, len(scalars))
				}
				l.params = append(l.params, scalars[s])
			}
			launches = append(launches, l)
		}
		p.phases = append(p.phases, launches)
	}
	return p, nil
}

// DeviceName is the name of the device the Program runs on.
func (p *Program) DeviceName() string { return p.ctx.name }

// Device, Stream, Float and Buffer are for libraries that work on a
// Program's memory in place, such as NCCL's all-reduce of the gradients
// across processes (runtime/dist).

// Device is the ordinal of the device the Program runs on, as the CUDA
// runtime and NCCL count the devices that CUDA_VISIBLE_DEVICES leaves: 0.
func (p *Program) Device() int { return 0 }

// Stream is the CUDA stream the Program launches its kernels on: 0, the
// default stream. Work another library queues on it runs in order with
// the Program's launches.
func (p *Program) Stream() uintptr { return 0 }

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

// Run launches the kernels of a phase, in order. Launches are
// asynchronous: a kernel's failure shows in the next call that waits for
// the device (a Download, or Synchronize).
func (p *Program) Run(phase int) error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	if phase < 0 || phase >= len(p.phases) {
		return fmt.Errorf("cuda: no phase %d (the program has %d; closed?)", phase, len(p.phases))
	}
	d := p.ctx.d
	for i := range p.phases[phase] {
		l := &p.phases[phase][i]
		var params *unsafe.Pointer
		if len(l.params) > 0 {
			params = &l.params[0]
		}
		if err := d.check("cuLaunchKernel "+l.name, d.cuLaunchKernel(l.function, l.grid, 1, 1, l.block, 1, 1, 0, 0, params, nil)); err != nil {
			return err
		}
	}
	return nil
}

// Upload copies bytes bytes from host memory at src to the start of buffer.
func (p *Program) Upload(buffer int, src unsafe.Pointer, bytes uintptr) error {
	if err := p.fits("upload to", buffer, bytes); err != nil {
		return err
	}
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	return p.ctx.d.check("cuMemcpyHtoD", p.ctx.d.cuMemcpyHtoD(p.pointers[buffer], src, bytes))
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
	return p.ctx.d.check("cuMemcpyDtoH", p.ctx.d.cuMemcpyDtoH(dst, p.pointers[buffer], bytes))
}

// Zero sets every byte of buffer to 0 (0.0 in either float type).
func (p *Program) Zero(buffer int) error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	return p.ctx.d.check("cuMemsetD8", p.ctx.d.cuMemsetD8(p.pointers[buffer], 0, uintptr(p.bytes[buffer])))
}

// Synchronize waits for every launch so far, returning the first failure.
func (p *Program) Synchronize() error {
	if err := p.ctx.enter(); err != nil {
		return err
	}
	defer p.ctx.exit()
	return p.ctx.d.check("cuCtxSynchronize", p.ctx.d.cuCtxSynchronize())
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
