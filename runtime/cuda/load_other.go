//go:build !(linux && (amd64 || arm64))

package cuda

import (
	"fmt"
	"runtime"
)

// load fails: nngen loads the CUDA driver with purego, which it uses on
// linux/amd64 and linux/arm64 only.
func load() (*driver, error) {
	return nil, fmt.Errorf("nngen runs CUDA on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
}

// loadBLAS fails as load does.
func loadBLAS() (*blas, error) {
	return nil, fmt.Errorf("nngen runs cuBLAS on linux/amd64 and linux/arm64, not %s/%s", runtime.GOOS, runtime.GOARCH)
}
