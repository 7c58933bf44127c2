package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nngen/nngen/runtime/dist"
)

// TestMain runs main instead of the tests in the ranks that mpirun starts
// from this test binary, with the arguments in NNGEN_DATAPARALLEL_ARGS.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("NNGEN_DATAPARALLEL_ARGS"); ok {
		os.Args = append(os.Args[:1], strings.Fields(args)...)
		main()
		return
	}
	os.Exit(m.Run())
}

var stepLoss = regexp.MustCompile(`(?m)^step (\d+) loss (\S+)$`)

// losses parses the loss curve that -steps prints.
func losses(t *testing.T, out string) []float64 {
	t.Helper()
	var curve []float64
	for i, m := range stepLoss.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || m[1] != strconv.Itoa(i+1) {
			t.Fatalf("step line %q: %v", m[0], err)
		}
		curve = append(curve, v)
	}
	return curve
}

// alone trains in this process, as `go run .` does, and returns what rank
// 0 prints.
func alone(t *testing.T, args ...string) string {
	t.Helper()
	cfg, err := parse(args)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(cfg, dist.Single(), &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// mpirun runs this binary's main on 2 ranks with args, and returns what
// they print; it fails the test when Open MPI is missing (CI installs it,
// as scripts/test.sh does), when the job fails, or when it runs a minute.
func mpirun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("no mpirun: install Open MPI (apt-get install openmpi-bin; scripts/test.sh does) to test training on 2 ranks")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmdArgs := []string{"-np", "2", "--oversubscribe"}
	if os.Geteuid() == 0 {
		cmdArgs = append(cmdArgs, "--allow-run-as-root")
	}
	cmd := exec.CommandContext(ctx, path, append(cmdArgs, self)...)
	cmd.Env = append(os.Environ(), append(env, "NNGEN_DATAPARALLEL_ARGS="+strings.Join(args, " "))...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mpirun -np 2 dataparallel %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(string(out), "rank 0 of 2, started by mpirun") {
		t.Errorf("rank 0 did not say that it runs with a second rank:\n%s", out)
	}
	return string(out)
}

// sameCurve checks that two loss curves of 20 steps agree within tol,
// relative.
func sameCurve(t *testing.T, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != 20 || len(want) != 20 {
		t.Fatalf("%d and %d steps, want 20", len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*math.Abs(want[i]) {
			t.Errorf("step %d: loss %.9f on 2 ranks, %.9f alone", i+1, got[i], want[i])
		}
	}
}

var differ = regexp.MustCompile(`differ by (\S+) of the largest`)

// checkVerified checks -verify's report: the parameters of the ranks and
// those of one process on the whole batch, within tol.
func checkVerified(t *testing.T, out string, tol float64) {
	t.Helper()
	m := differ.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no comparison of the parameters:\n%s", out)
	}
	d, err := strconv.ParseFloat(m[1], 64)
	if err != nil || d > tol {
		t.Errorf("the parameters differ by %s, beyond %g", m[1], tol)
	}
	t.Logf("parameters after 20 steps: %s relative difference", m[1])
}

// TestTwoRanks trains 20 steps on 2 ranks, each on half of every batch,
// with SGD and momentum and with Adam: rank 0's parameters must equal
// those of one process trained on the whole batches (which rank 0 trains
// alongside, -verify) within float32 rounding, and the loss curve the one
// the example prints alone.
func TestTwoRanks(t *testing.T) {
	for _, optimizer := range []string{"sgd", "adam"} {
		t.Run(optimizer, func(t *testing.T) {
			args := []string{"-optimizer", optimizer, "-steps", "20", "-verify", "-tolerance", "1e-6"}
			out := mpirun(t, nil, args...)
			checkVerified(t, out, 1e-6)
			sameCurve(t, losses(t, out), losses(t, alone(t, args...)), 1e-6)
		})
	}
}

// TestTwoRanksGPU is TestTwoRanks on the GPU path: gpumodel on the fake
// CUDA driver (its kernels run on the CPU), the gradients all-reduced in
// "device" memory by the fake NCCL, against one process on the CPU.
func TestTwoRanksGPU(t *testing.T) {
	libcuda, libnccl := fakeLibraries(t)
	args := []string{"-gpu", "-steps", "20", "-verify", "-tolerance", "1e-6"}
	out := mpirun(t, []string{"NNGEN_LIBCUDA=" + libcuda, "NNGEN_LIBNCCL=" + libnccl}, args...)
	checkVerified(t, out, 1e-6)
	sameCurve(t, losses(t, out), losses(t, alone(t, "-steps", "20")), 1e-6)
}

// fakeLibraries builds the fake libcuda.so.1 around gpumodel's kernels
// and the fake libnccl.so.2 with g++.
func fakeLibraries(t *testing.T) (libcuda, libnccl string) {
	t.Helper()
	if _, err := exec.LookPath("g++"); err != nil {
		t.Fatal("the fake CUDA driver and NCCL are built with g++: apt-get install g++ (scripts/test.sh does)")
	}
	abs := func(path string) string {
		p, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	emulation, dir := abs("../../cudagen/emulation"), t.TempDir()
	libcuda, libnccl = filepath.Join(dir, "libcuda.so.1"), filepath.Join(dir, "libnccl.so.2")
	for _, args := range [][]string{
		{"-I", emulation, "-include", "nngen_emu.h", fmt.Sprintf("-DNNGEN_MODEL=%q", abs("gpumodel/gpu/model.cu")),
			filepath.Join(emulation, "fakecuda.cc"), "-o", libcuda},
		{abs("../../runtime/dist/testdata/fakenccl.cc"), "-o", libnccl},
	} {
		args = append([]string{"-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden"}, args...)
		if out, err := exec.Command("g++", args...).CombinedOutput(); err != nil {
			t.Fatalf("g++ %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return libcuda, libnccl
}

// TestAlone checks the example started without mpirun: the epochs' loss
// and accuracy, and -verify's comparison with itself, exact.
func TestAlone(t *testing.T) {
	out := alone(t, "-epochs", "2")
	if !regexp.MustCompile(`(?m)^epoch 2 loss 0\.\d+ held-out accuracy [89]\d\.\d\d%$`).MatchString(out) {
		t.Errorf("2 epochs: no second epoch's line with a loss below 1 and an accuracy of 80%% or more:\n%s", out)
	}
	out = alone(t, "-optimizer", "sgd", "-steps", "3", "-verify")
	if len(losses(t, out)) != 3 || !strings.Contains(out, "differ by 0 of the largest") {
		t.Errorf("-steps 3 -verify alone:\n%s", out)
	}
	if _, err := newTrainer("rmsprop", 1); err == nil {
		t.Errorf("-optimizer rmsprop: no error")
	}
}
