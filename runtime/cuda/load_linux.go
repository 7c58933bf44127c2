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
	for _, s := range d.symbols() {
		sym, err := purego.Dlsym(lib, s.name)
		if err != nil {
			purego.Dlclose(lib)
			return nil, fmt.Errorf("%s has no %s, which nngen needs (driver too old?)%s", name, s.name, detail(err))
		}
		purego.RegisterFunc(s.fn, sym)
	}
	return d, nil
}

// detail is ": " and the dynamic loader's message, or nothing when it has
// none: built with CGO_ENABLED=0, purego's dlerror may say nothing at all.
func detail(err error) string {
	if msg := strings.TrimSpace(err.Error()); msg != "" {
		return ": " + msg
	}
	return ""
}
