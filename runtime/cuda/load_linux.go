//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"os"
	"strings"

	"github.com/ebitengine/purego"
)

// load opens the driver: $NNGEN_LIBCUDA when set, else libcuda.so.1 as
// the NVIDIA driver installs it, and looks up every entry point.
func load() (*driver, error) {
	path := os.Getenv("NNGEN_LIBCUDA")
	name := path
	if name == "" {
		name = "libcuda.so.1"
	}
	lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		if path != "" {
			return nil, fmt.Errorf("no CUDA driver at NNGEN_LIBCUDA=%s%s", path, detail(err))
		}
		return nil, fmt.Errorf("no libcuda.so.1 (the NVIDIA driver is not installed)%s", detail(err))
	}
	d := &driver{}
	if err := bind(lib, name, "driver too old?", d.symbols()); err != nil {
		return nil, err
	}
	return d, nil
}

// loadBLAS opens cuBLAS: $NNGEN_LIBCUBLAS when set, else libcublas.so.12
// (CUDA 12), else libcublas.so.11, and looks up every entry point. The
// driver is loaded first: cuBLAS runs on it.
func loadBLAS() (*blas, error) {
	path := os.Getenv("NNGEN_LIBCUBLAS")
	names := []string{"libcublas.so.12", "libcublas.so.11"}
	if path != "" {
		names = []string{path}
	}
	var last error
	for _, name := range names {
		lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			last = err
			continue
		}
		b := &blas{name: name}
		if err := bind(lib, name, "cuBLAS too old?", b.symbols()); err != nil {
			return nil, err
		}
		return b, nil
	}
	if path != "" {
		return nil, fmt.Errorf("no cuBLAS at NNGEN_LIBCUBLAS=%s%s", path, detail(last))
	}
	return nil, fmt.Errorf("no libcublas.so.12 or libcublas.so.11 (CUDA's cuBLAS is not installed)%s", detail(last))
}

// bind looks up each symbol in lib, opened as name, and closes lib if one
// is missing.
func bind(lib uintptr, name, hint string, symbols []struct {
	name string
	fn   any
}) error {
	for _, s := range symbols {
		sym, err := purego.Dlsym(lib, s.name)
		if err != nil {
			purego.Dlclose(lib)
			return fmt.Errorf("%s has no %s, which nngen needs (%s)%s", name, s.name, hint, detail(err))
		}
		purego.RegisterFunc(s.fn, sym)
	}
	return nil
}

// detail is ": " and the dynamic loader's message, or nothing when it has
// none: built with CGO_ENABLED=0, purego's dlerror may say nothing at all.
func detail(err error) string {
	if msg := strings.TrimSpace(err.Error()); msg != "" {
		return ": " + msg
	}
	return ""
}
