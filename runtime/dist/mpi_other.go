//go:build !(linux && (amd64 || arm64))

package dist

import (
	"fmt"
	"runtime"
)

// openMPI fails: dist loads MPI with purego, which it uses on linux/amd64
// and linux/arm64 only.
func openMPI() (*Comm, error) {
	return nil, fmt.Errorf("dist: MPI is loaded on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
}

// loadNCCL fails, as openMPI does.
func loadNCCL() (*ncclLib, error) {
	return nil, fmt.Errorf("dist: NCCL is loaded on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
}
