//go:build linux && (amd64 || arm64)

package dist

import (
	"fmt"
	"os"

	"github.com/ebitengine/purego"
)

// loadNCCL opens NCCL: $NNGEN_LIBNCCL when set (tests point it at a fake),
// else libnccl.so.2 as NVIDIA's packages install it.
func loadNCCL() (*ncclLib, error) {
	name := os.Getenv("NNGEN_LIBNCCL")
	if name == "" {
		name = "libnccl.so.2"
	}
	lib, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("dist: no %s (install NVIDIA's libnccl2)%s", name, detail(err))
	}
	l := &ncclLib{}
	for _, f := range []struct {
		name string
		fn   any
	}{
		{"ncclGetUniqueId", &l.getUniqueID},
		{"ncclCommInitRank", &l.commInitRank},
		{"ncclAllReduce", &l.allReduce},
		{"ncclGroupStart", &l.groupStart},
		{"ncclGroupEnd", &l.groupEnd},
		{"ncclCommDestroy", &l.commDestroy},
		{"ncclGetErrorString", &l.getErrorString},
	} {
		sym, err := purego.Dlsym(lib, f.name)
		if err != nil {
			return nil, fmt.Errorf("dist: %s has no %s (NCCL older than 2.10?)%s", name, f.name, detail(err))
		}
		purego.RegisterFunc(f.fn, sym)
	}
	return l, nil
}
