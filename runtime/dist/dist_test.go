package dist

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestShardOf(t *testing.T) {
	for _, c := range []struct{ n, size int }{{32, 2}, {33, 2}, {7, 3}, {2, 4}, {0, 3}} {
		next := 0
		for rank := range c.size {
			lo, hi := ShardOf(c.n, rank, c.size)
			if lo != next || hi < lo || hi-lo > c.n/c.size+1 || hi-lo < c.n/c.size {
				t.Errorf("ShardOf(%d, %d, %d) = [%d, %d) after %d", c.n, rank, c.size, lo, hi, next)
			}
			next = hi
		}
		if next != c.n {
			t.Errorf("the shards of %d over %d ranks end at %d", c.n, c.size, next)
		}
	}
}

// model is a Model over two slices, as a generated package's blocks.
type model[T Float] struct{ params, grads []T }

func (m *model[T]) ParamBlock() []T { return m.params }
func (m *model[T]) GradBlock() []T  { return m.grads }

// TestSingle checks that a process alone keeps its numbers, and that
// ScaleGrads weighs them by its share.
func TestSingle(t *testing.T) {
	c := Single()
	if c.Rank() != 0 || c.Size() != 1 || c.Backend() != "single process" {
		t.Fatalf("Single: rank %d of %d, %s", c.Rank(), c.Size(), c.Backend())
	}
	m := &model[float64]{params: []float64{1, 2}, grads: []float64{3, 4}}
	if err := BroadcastParams(c, m); err != nil || m.params[1] != 2 {
		t.Errorf("BroadcastParams: %v, %v", err, m.params)
	}
	if err := AverageGrads(c, m); err != nil || m.grads[0] != 3 || m.grads[1] != 4 {
		t.Errorf("AverageGrads: %v, %v", err, m.grads)
	}
	if err := ScaleGrads(c, m, 1, 4); err != nil || m.grads[0] != 0.75 || m.grads[1] != 1 {
		t.Errorf("ScaleGrads(1 of 4): %v, %v", err, m.grads)
	}
	if err := ScaleGrads(c, m, 5, 4); err == nil {
		t.Errorf("ScaleGrads(5 of 4): no error")
	}
	if err := Broadcast(c, []float32{1}, 1); err == nil {
		t.Errorf("Broadcast from rank 1 of 1: no error")
	}
	if err := AllReduce(c, []float32{1}, Op(7)); err == nil {
		t.Errorf("AllReduce with Op(7): no error")
	}
}

// TestAutoAlone checks that a process started on its own trains alone and
// says so.
func TestAutoAlone(t *testing.T) {
	if Launcher() != "" {
		t.Skip("started by a launcher") // only when go test itself runs under mpirun
	}
	c, why := Auto()
	if c.Size() != 1 || !strings.Contains(why, "not started by mpirun") {
		t.Errorf("Auto alone: size %d, %q", c.Size(), why)
	}
}

// mpirun returns the command that starts n copies of this test binary,
// each running only the test named run, or fails the test when Open MPI
// is missing: CI installs it, as scripts/test.sh does.
func mpirun(t *testing.T, ctx context.Context, n int, run string, env ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("no mpirun: install Open MPI (apt-get install openmpi-bin; scripts/test.sh does) to test dist across processes")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-np", fmt.Sprint(n), "--oversubscribe"}
	if os.Geteuid() == 0 {
		args = append(args, "--allow-run-as-root")
	}
	args = append(args, self, "-test.run=^"+run+"$", "-test.count=1")
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), append([]string{"NNGEN_DIST_RANK_TEST=1", "UCX_ERROR_SIGNALS="}, env...)...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// TestMPI runs TestRankCollectives on 3 ranks under mpirun.
func TestMPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := mpirun(t, ctx, 3, "TestRankCollectives").CombinedOutput()
	if err != nil || strings.Count(string(out), "collectives ok") != 3 {
		t.Fatalf("mpirun -np 3: %v\n%s", err, out)
	}
}

// TestRankCollectives is one rank of TestMPI: the collectives against the
// numbers each rank can work out alone.
func TestRankCollectives(t *testing.T) {
	if os.Getenv("NNGEN_DIST_RANK_TEST") == "" {
		t.Skip("a rank of TestMPI, run by it under mpirun")
	}
	c, why := Auto()
	defer c.Close()
	if c.Size() != 3 || !strings.HasPrefix(why, "MPI") {
		t.Fatalf("Auto under mpirun -np 3: size %d, %s", c.Size(), why)
	}
	r := float64(c.Rank())
	x32 := []float32{float32(r), 1, float32(r * r)}
	if err := AllReduce(c, x32, Sum); err != nil || x32[0] != 3 || x32[1] != 3 || x32[2] != 5 {
		t.Errorf("rank %v: all-reduce sum: %v, %v", r, err, x32)
	}
	x64 := []float64{r, 1, r * r}
	// The average is within two roundings of the sum divided by 3.
	if err := AllReduce(c, x64, Average); err != nil || x64[0] != 1 || x64[1] != 1 || math.Abs(x64[2]-5.0/3) > 4.5e-16 {
		t.Errorf("rank %v: all-reduce average: %v, %v", r, err, x64)
	}
	// A slice larger than one call's count, in three calls.
	maxCount = 2
	big := []float64{r, r + 1, r + 2, r + 3, r + 4}
	err := AllReduce(c, big, Sum)
	maxCount = math.MaxInt32
	if err != nil || big[0] != 3 || big[4] != 15 {
		t.Errorf("rank %v: all-reduce in chunks: %v, %v", r, err, big)
	}
	m := &model[float32]{params: []float32{float32(r) + 0.5, -float32(r)}, grads: []float32{float32(r), 2}}
	if err := BroadcastParams(c, m); err != nil || m.params[0] != 0.5 || m.params[1] != 0 {
		t.Errorf("rank %v: BroadcastParams: %v, %v", r, err, m.params)
	}
	// Shards of 2, 2 and 1 samples of a batch of 5, each gradient their mean.
	lo, hi := c.Shard(5)
	m.grads[0] = float32(lo+hi-1) / 2 // the mean of the sample indexes lo..hi-1
	if err := ScaleGrads(c, m, hi-lo, 5); err != nil || m.grads[0] != 2 {
		t.Errorf("rank %v: ScaleGrads: %v, %v", r, err, m.grads)
	}
	if err := c.Barrier(); err != nil {
		t.Errorf("rank %v: barrier: %v", r, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("rank %v: close: %v", r, err)
	}
	if err := c.Barrier(); !errors.Is(err, ErrClosed) {
		t.Errorf("rank %v: barrier after close: %v", r, err)
	}
	if !t.Failed() {
		fmt.Println("collectives ok")
	}
}

// TestPanicEndsJob checks that a rank that panics ends the job with an
// error while the other waits in an all-reduce, rather than leaving it
// waiting: mpirun sees a rank exit without MPI_Finalize and stops the rest.
func TestPanicEndsJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	out, err := mpirun(t, ctx, 2, "TestRankPanics").CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mpirun still ran after %v: a hang\n%s", time.Since(start), out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "rank 1 panics") {
		t.Fatalf("mpirun: %v, want a non-zero exit after rank 1's panic\n%s", err, out)
	}
	t.Logf("mpirun exited with %d after %v", exit.ExitCode(), time.Since(start).Round(time.Millisecond))
}

// TestRankPanics is one rank of TestPanicEndsJob: rank 1 panics before
// the all-reduce that rank 0 waits in.
func TestRankPanics(t *testing.T) {
	if os.Getenv("NNGEN_DIST_RANK_TEST") == "" {
		t.Skip("a rank of TestPanicEndsJob, run by it under mpirun")
	}
	c, _ := Auto()
	defer c.Close()
	if c.Rank() == 1 {
		panic("rank 1 panics")
	}
	err := AllReduce(c, []float32{1}, Sum)
	t.Fatalf("rank 0's all-reduce returned (%v) without rank 1", err)
}

// TestNCCLMissing checks the error of a machine without NCCL. The NCCL
// path itself is tested in examples/dataparallel (TestTwoRanksGPU), with a
// gpu model on the fake CUDA driver and testdata/fakenccl.cc.
func TestNCCLMissing(t *testing.T) {
	missing := t.TempDir() + "/libnccl.so.2"
	t.Setenv("NNGEN_LIBNCCL", missing)
	if _, err := NewNCCL(Single()); err == nil || !strings.Contains(err.Error(), "dist: no "+missing) {
		t.Errorf("NewNCCL without the library: %v", err)
	}
}
