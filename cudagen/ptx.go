package cudagen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// Arch is the GPU architecture the PTX targets: Ampere (A100). The driver
// compiles PTX for the GPU it finds, so newer ones (Hopper, ...) run it too.
const Arch = "sm_80"

// ClangArgs compile CUDA to PTX with Debian's clang, with no CUDA
// installation: -nocudainc and -nocudalib leave out CUDA's headers and
// libdevice, which is why model.cu spells out what it needs. Reads stdin,
// writes stdout.
var ClangArgs = []string{"-x", "cuda", "--cuda-device-only", "-nocudainc", "-nocudalib",
	"--cuda-gpu-arch=" + Arch, "-O3", "-S", "-o", "-", "-"}

// CompilePTX compiles model.cu to PTX with clang-16 when it is on the PATH,
// else with nvcc; the PTX starts with model.cu's first line, nngen's
// header. clang-16's output is deterministic, so the PTX can be committed
// and checked to be current.
func CompilePTX(cu []byte) ([]byte, error) {
	header, _, _ := bytes.Cut(cu, []byte("\n"))
	var ptx []byte
	var err error
	if clang, lookErr := exec.LookPath("clang-16"); lookErr == nil {
		ptx, err = run(exec.Command(clang, ClangArgs...), cu)
	} else if nvcc, lookErr := exec.LookPath("nvcc"); lookErr == nil {
		ptx, err = nvccPTX(nvcc, cu)
	} else {
		return nil, errors.New("cudagen: compiling the CUDA kernels to PTX needs clang-16 (Debian and Ubuntu: apt-get install clang-16) or CUDA's nvcc on the PATH")
	}
	if err != nil {
		return nil, err
	}
	return slices.Concat(header, []byte("\n"), ptx), nil
}

func run(cmd *exec.Cmd, stdin []byte) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cudagen: %s: %v\n%s", filepath.Base(cmd.Path), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// nvccPTX compiles with nvcc, which reads and writes files.
func nvccPTX(nvcc string, cu []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "nngen-ptx")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src, out := filepath.Join(dir, "model.cu"), filepath.Join(dir, "model.ptx")
	if err := os.WriteFile(src, cu, 0o644); err != nil {
		return nil, err
	}
	if _, err := run(exec.Command(nvcc, "-ptx", "-arch="+Arch, "-O3", "-o", out, src), nil); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}
