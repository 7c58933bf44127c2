package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func readPTX(t *testing.T) []byte {
	t.Helper()
	ptx, err := os.ReadFile("testdata/kernels.ptx")
	if err != nil {
		t.Fatal(err)
	}
	return ptx
}

func TestEntries(t *testing.T) {
	entries, err := Entries(readPTX(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"scale": {".u64", ".u64", ".f32"}, "count": {".u64"},
		"product": {".u64", ".u64", ".u64"}, "shift": {".u64"}, "batched": {".u64", ".u64", ".u64"}}
	if len(entries) != len(want) {
		t.Errorf("entries %v, want %v", entries, want)
	}
	for name, params := range want {
		if !slices.Equal(entries[name], params) {
			t.Errorf("%s: parameters %v, want %v", name, entries[name], params)
		}
	}
	if _, err := Entries([]byte(".version 7.0\n")); err == nil {
		t.Error("a PTX without kernels passed")
	}
	if _, err := Entries([]byte(".visible .entry k(\n.param .u64 k_param_0,\n")); err == nil {
		t.Error("a PTX cut off in a parameter list passed")
	}
}

// testSpec launches scale in phase 0 and count in phase 1.
func testSpec(t *testing.T) *Spec {
	return &Spec{
		PTX:     readPTX(t),
		Float:   4,
		Buffers: []Buffer{{Name: "x", Bytes: 4000}, {Name: "y", Bytes: 4000}, {Name: "n", Bytes: 8}},
		Phases: [][]Kernel{
			{{Name: "scale", Threads: 1000, Buffers: []int{1, 0}, Scalars: []int{0}}},
			{{Name: "count", Threads: 1, Buffers: []int{2}}},
		},
	}
}

func TestCheckPTX(t *testing.T) {
	if err := CheckPTX(testSpec(t)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		change func(s *Spec)
		want   string
	}{
		{"missing kernel", func(s *Spec) { s.Phases[1][0].Name = "counts" }, "the PTX has no kernel counts"},
		{"one buffer too many", func(s *Spec) { s.Phases[1][0].Buffers = []int{2, 2} }, "count takes (.u64) in the PTX but is launched with (.u64, .u64)"},
		{"scalar missing", func(s *Spec) { s.Phases[0][0].Scalars = nil }, "scale takes (.u64, .u64, .f32) in the PTX but is launched with (.u64, .u64)"},
		{"float64 scalars", func(s *Spec) { s.Float = 8 }, "launched with (.u64, .u64, .f64)"},
		{"bad float", func(s *Spec) { s.Float = 2 }, "Float is 2 bytes"},
		{"bad buffer", func(s *Spec) { s.Phases[1][0].Buffers = []int{3} }, "count uses buffer 3 of 3"},
	} {
		s := testSpec(t)
		tt.change(s)
		if err := CheckPTX(s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestNoDriver runs before anything loads a driver into the test process.
func TestNoDriver(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libcuda.so.1")
	t.Setenv("NNGEN_LIBCUDA", missing)
	_, err := Open(0)
	if err == nil || !strings.Contains(err.Error(), "no CUDA driver at NNGEN_LIBCUDA="+missing) {
		t.Errorf("Open with a missing NNGEN_LIBCUDA: %v", err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	// Without NNGEN_LIBCUDA: the driver's own library, which machines
	// without the NVIDIA driver lack (load, unlike Open, keeps nothing).
	t.Setenv("NNGEN_LIBCUDA", "")
	if _, err := load(); err != nil {
		if !strings.HasPrefix(err.Error(), "no libcuda.so.1 (the NVIDIA driver is not installed)") || strings.HasSuffix(err.Error(), ": ") {
			t.Errorf("load without a driver: %q", err)
		}
		t.Logf("no driver: %v", err)
	} else {
		t.Log("this machine has libcuda.so.1")
	}
}

// fakeDriver builds the fake libcuda.so.1 around testdata/kernels.cu.
func fakeDriver(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("g++"); err != nil {
		t.Fatal("the fake CUDA driver is built with g++: apt-get install g++ (.ci/run installs it)")
	}
	emulation, err := filepath.Abs("../../cudagen/emulation")
	if err != nil {
		t.Fatal(err)
	}
	kernels, err := filepath.Abs("testdata/kernels.cu")
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(t.TempDir(), "libcuda.so.1")
	out, err := exec.Command("g++", "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
		"-I", emulation, "-include", "nngen_emu.h", "-DNNGEN_MODEL=\""+kernels+"\"",
		filepath.Join(emulation, "fakecuda.cc"), "-o", lib).CombinedOutput()
	if err != nil {
		t.Fatalf("building the fake driver: %v\n%s", err, out)
	}
	return lib
}

// fakeBLAS builds the fake libcublas.so.12 (cudagen/emulation/fakecublas.cc).
func fakeBLAS(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../../cudagen/emulation/fakecublas.cc")
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(t.TempDir(), "libcublas.so.12")
	out, err := exec.Command("g++", "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
		src, "-o", lib).CombinedOutput()
	if err != nil {
		t.Fatalf("building the fake cuBLAS: %v\n%s", err, out)
	}
	return lib
}

// useFakes points the driver and cuBLAS at the fakes. The first test to
// load them keeps them for the process, as a program does.
func useFakes(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("nngen loads CUDA on linux/amd64 and linux/arm64 only, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	t.Setenv("NNGEN_LIBCUDA", fakeDriver(t))
	t.Setenv("NNGEN_LIBCUBLAS", fakeBLAS(t))
}

func TestFakeDriver(t *testing.T) {
	useFakes(t)

	// A driver that sees no GPU: cuInit says so.
	t.Setenv("NNGEN_FAKECUDA_DEVICES", "0")
	if _, err := Open(0); err == nil || !strings.Contains(err.Error(), "cuda: cuInit: no CUDA-capable device is detected (CUDA error 100)") {
		t.Fatalf("Open without a device: %v", err)
	}
	t.Setenv("NNGEN_FAKECUDA_DEVICES", "1")
	if _, err := Open(1); err == nil || !strings.Contains(err.Error(), "no CUDA device 1 (the driver sees 1)") {
		t.Errorf("Open(1): %v", err)
	}

	var a float32 = 3
	p, err := NewProgram(testSpec(t), []unsafe.Pointer{unsafe.Pointer(&a)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.DeviceName(), "fake") {
		t.Errorf("device name %q", p.DeviceName())
	}
	var x, y [1000]float32
	for i := range x {
		x[i] = float32(i)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// From several goroutines, and so threads: each call makes the context
	// current on its own thread, or the fake refuses it.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			must(p.Upload(0, unsafe.Pointer(&x), unsafe.Sizeof(x)))
		})
		wg.Wait()
	}
	must(p.Run(0))
	must(p.Download(unsafe.Pointer(&y), 1, unsafe.Sizeof(y)))
	for i := range y {
		if y[i] != 3*x[i] {
			t.Fatalf("y[%d] = %v, want %v", i, y[i], 3*x[i])
		}
	}
	// Scalars are read at each launch, and a CUDA graph, which holds the
	// values of its capture, replays only while they are the same: a = 3
	// ran eagerly, then each value for three runs (eager, captured,
	// replayed), then a value for one run only.
	for i, a1 := range []float32{0.5, 0.5, 0.5, 2, 2, 2, -1, 2} {
		a = a1
		must(p.Run(0))
		must(p.Download(unsafe.Pointer(&y), 1, unsafe.Sizeof(y)))
		if y[999] != a*999 {
			t.Fatalf("a = %v: y[999] = %v", a, y[999])
		}
		if graph := p.phased[0].graph != 0; graph != (i%3 != 0 && i < 6) {
			t.Errorf("run %d (a = %v): graph %v", i, a, graph)
		}
	}
	if p.phased[0].graph != 0 {
		t.Error("phase 0 kept a graph after its scalar changed")
	}

	// Phase 1's first run is eager, its second is captured into a CUDA
	// graph and launched, the next replay it.
	var n int64
	must(p.Zero(2))
	for range 4 {
		must(p.Run(1))
	}
	must(p.Synchronize())
	must(p.Download(unsafe.Pointer(&n), 2, unsafe.Sizeof(n)))
	if n != 4 {
		t.Errorf("count ran %d times, want 4", n)
	}
	if !p.Graphs() || p.phased[1].graph == 0 {
		t.Errorf("graphs %v; phase 1's graph %#x", p.Graphs(), p.phased[1].graph)
	}
	if p.Stream() == 0 {
		t.Error("the program runs on the default stream")
	}

	if err := p.Upload(2, unsafe.Pointer(&x), unsafe.Sizeof(x)); err == nil || !strings.Contains(err.Error(), "4000 bytes do not fit") {
		t.Errorf("an upload too large for its buffer: %v", err)
	}
	if err := p.Run(2); err == nil {
		t.Error("a phase that does not exist ran")
	}
	must(p.Close())
	if err := p.Run(0); err == nil {
		t.Error("a closed program ran")
	}

	// A spec whose kernel the PTX has but the module does not.
	spec := testSpec(t)
	spec.PTX = []byte(strings.ReplaceAll(string(spec.PTX), "count", "other"))
	spec.Phases[1][0].Name = "other"
	if _, err := NewProgram(spec, []unsafe.Pointer{unsafe.Pointer(&a)}); err == nil || !strings.Contains(err.Error(), "cuModuleGetFunction other: named symbol not found (CUDA error 500)") {
		t.Errorf("a kernel the module lacks: %v", err)
	}
}

// blasSpec adds to testSpec a phase of two GEMMs: product's, c = a·bᵀ,
// then shift adding 1; and batched's, two products of a 4×5 by one 5×3.
func blasSpec(t *testing.T) *Spec {
	s := testSpec(t)
	s.Buffers = append(s.Buffers, Buffer{Name: "a", Bytes: 160}, Buffer{Name: "b", Bytes: 60},
		Buffer{Name: "c", Bytes: 48}, Buffer{Name: "c2", Bytes: 96})
	s.Phases = append(s.Phases, []Kernel{
		{Name: "product", Threads: 12, Buffers: []int{5, 3, 4},
			GEMM: &GEMM{TransB: true, M: 4, N: 3, K: 5, A: 3, B: 4, C: 5, Alpha: 1,
				Then: []Kernel{{Name: "shift", Threads: 12, Buffers: []int{5}}}}},
		{Name: "batched", Threads: 24, Buffers: []int{6, 3, 4},
			GEMM: &GEMM{M: 4, N: 3, K: 5, A: 3, B: 4, C: 6, Batch: 2, StrideA: 20, StrideC: 12, Alpha: 1}},
	})
	return s
}

// TestBLAS runs the GEMMs of blasSpec through the fake cuBLAS and through
// their kernels (NNGEN_CUBLAS=off), with CUDA graphs and without: the same
// products, and the path each program says it takes.
func TestBLAS(t *testing.T) {
	useFakes(t)
	var a [40]float32
	var b [15]float32
	for i := range a {
		a[i] = float32(i%7) - 2.5
	}
	for i := range b {
		b[i] = float32(i%4)*0.5 - 1
	}
	var want [12]float32
	for i := range 4 {
		for j := range 3 {
			var s float32
			for k := range 5 {
				s += a[i*5+k] * b[j*5+k]
			}
			want[i*3+j] = s + 1
		}
	}
	var want2 [24]float32
	for p := range 2 {
		for i := range 4 {
			for j := range 3 {
				var s float32
				for k := range 5 {
					s += a[p*20+i*5+k] * b[k*3+j]
				}
				want2[p*12+i*3+j] = s
			}
		}
	}
	var scale float32 = 1
	for _, tt := range []struct{ cublas, graphs, blas string }{
		{"", "", "cuBLAS ("},
		{"", "off", "cuBLAS ("},
		{"off", "", "nngen's kernels (NNGEN_CUBLAS=off)"},
	} {
		t.Run("cublas="+tt.cublas+",graphs="+tt.graphs, func(t *testing.T) {
			t.Setenv("NNGEN_CUBLAS", tt.cublas)
			t.Setenv("NNGEN_CUDA_GRAPHS", tt.graphs)
			p, err := NewProgram(blasSpec(t), []unsafe.Pointer{unsafe.Pointer(&scale)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if !strings.HasPrefix(p.BLAS(), tt.blas) || p.Graphs() != (tt.graphs != "off") {
				t.Errorf("paths %q, want %q and graphs %v", p.Paths(), tt.blas, tt.graphs != "off")
			}
			for run := range 3 { // eager, captured, replayed
				var c [12]float32
				var c2 [24]float32
				if err := p.Upload(3, unsafe.Pointer(&a), unsafe.Sizeof(a)); err != nil {
					t.Fatal(err)
				}
				if err := p.Upload(4, unsafe.Pointer(&b), unsafe.Sizeof(b)); err != nil {
					t.Fatal(err)
				}
				if err := p.Run(2); err != nil {
					t.Fatal(err)
				}
				if err := p.Download(unsafe.Pointer(&c), 5, unsafe.Sizeof(c)); err != nil {
					t.Fatal(err)
				}
				if err := p.Download(unsafe.Pointer(&c2), 6, unsafe.Sizeof(c2)); err != nil {
					t.Fatal(err)
				}
				for i := range c {
					if d := c[i] - want[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("run %d: c[%d] = %v, want %v", run, i, c[i], want[i])
					}
				}
				for i := range c2 {
					if d := c2[i] - want2[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("run %d: c2[%d] = %v, want %v", run, i, c2[i], want2[i])
					}
				}
				a[0]++ // a graph reads the buffers, not values captured
				want[0], want[1], want[2] = want[0]+b[0], want[1]+b[5], want[2]+b[10]
				for j := range 3 {
					want2[j] += b[j]
				}
			}
		})
	}

	// A GEMM that does not fit its buffers is refused before it runs.
	spec := blasSpec(t)
	spec.Phases[2][0].GEMM.K = 6
	if _, err := NewProgram(spec, []unsafe.Pointer{unsafe.Pointer(&scale)}); err == nil || !strings.Contains(err.Error(), "does not fit its") {
		t.Errorf("a GEMM too large for its buffers: %v", err)
	}
	// An epilogue kernel is checked against the PTX as any launch.
	spec = blasSpec(t)
	spec.Phases[2][0].GEMM.Then[0].Buffers = []int{5, 5}
	if err := CheckPTX(spec); err == nil || !strings.Contains(err.Error(), "shift takes (.u64) in the PTX") {
		t.Errorf("an epilogue launched with a parameter too many: %v", err)
	}
	// Without the library: the reason Program.BLAS gives.
	t.Setenv("NNGEN_LIBCUBLAS", filepath.Join(t.TempDir(), "libcublas.so.12"))
	if _, err := loadBLAS(); err == nil || !strings.Contains(err.Error(), "no cuBLAS at NNGEN_LIBCUBLAS=") {
		t.Errorf("loadBLAS with a missing NNGEN_LIBCUBLAS: %v", err)
	}
	t.Setenv("NNGEN_LIBCUBLAS", "")
	if _, err := loadBLAS(); err != nil {
		t.Logf("no cuBLAS: %v", err)
		if !strings.HasPrefix(err.Error(), "no libcublas.so.12 or libcublas.so.11") {
			t.Errorf("loadBLAS without cuBLAS: %q", err)
		}
	}
}
