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
	want := map[string][]string{"scale": {".u64", ".u64", ".f32"}, "count": {".u64"}}
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

func TestFakeDriver(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("nngen loads CUDA on linux/amd64 and linux/arm64 only, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	t.Setenv("NNGEN_LIBCUDA", fakeDriver(t))

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
	a = 0.5 // scalars are read at each launch
	must(p.Run(0))
	must(p.Download(unsafe.Pointer(&y), 1, unsafe.Sizeof(y)))
	if y[999] != 499.5 {
		t.Errorf("after a = 0.5: y[999] = %v", y[999])
	}

	var n int64
	must(p.Zero(2))
	must(p.Run(1))
	must(p.Run(1))
	must(p.Synchronize())
	must(p.Download(unsafe.Pointer(&n), 2, unsafe.Sizeof(n)))
	if n != 2 {
		t.Errorf("count ran %d times, want 2", n)
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
