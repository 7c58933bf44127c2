package golden

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The tests here generate a few hundred packages and run their tests.
// go test ./... in a scratch module would link a test binary for each
// package, and vet each again after go vet has, so a module's packages are
// tested by one binary, a runner: each package's _test.go files are
// copied beside them as ordinary files behind the build tag nngenrunner,
// and a runner package imports every package and calls its tests. go vet
// still sees each package as nngen wrote it, test files included (the
// tagged copies are not in its build). The runner runs one package per
// process, in the package's directory, as go test would: a test's
// allocations are counted in a process of its own, and a gpu package
// loads its own fake driver.
//
// NNGEN_TEST_GOARCH=arm64 (or another GOARCH) builds the scratch modules
// for that architecture, with CGO_ENABLED=0, and runs their tests under
// qemu-user's qemu-aarch64-static (qemu-ARCH-static):
//
//	NNGEN_TEST_GOARCH=arm64 go test ./golden -run 'TestParity$'

// TestMain lets the tests of the package all run at once: they wait on
// the processes they start, which cpus keeps to the CPUs, so go test's
// -parallel, GOMAXPROCS by default, would leave CPUs idle. A -parallel
// given on the command line stands.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", "16")
	}
	os.Exit(m.Run())
}

// runnerTag is the build tag of the runner and of the copies of the test
// files it runs.
const runnerTag = "nngenrunner"

// testGOARCH is $NNGEN_TEST_GOARCH: the architecture the generated
// packages are built and run for, or "" for the host's.
var testGOARCH = os.Getenv("NNGEN_TEST_GOARCH")

// qemu is the qemu-user emulator that runs a binary built for
// NNGEN_TEST_GOARCH, as Debian's qemu-user-static names it.
func qemu() string {
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i386", "loong64": "loongarch64",
		"mips64le": "mips64el", "mipsle": "mipsel"}[testGOARCH]
	if arch == "" {
		arch = testGOARCH
	}
	return "qemu-" + arch + "-static"
}

// goCommand is the go command, run in dir as in a user's module, with env
// added to the environment. Under NNGEN_TEST_GOARCH it builds for that
// architecture, and go test runs the tests under qemu. It builds with
// -trimpath, so that the compiled packages do not depend on the scratch
// module's temporary directory: a generated package that is the same as
// in an earlier run comes from the build cache, as go test's own packages
// do, and only what a change to nngen changed is compiled again.
func goCommand(dir string, env []string, args ...string) *exec.Cmd {
	env = append([]string{"GOFLAGS=-mod=mod -trimpath", "GOWORK=off"}, env...)
	if testGOARCH != "" {
		env = append(env, "GOARCH="+testGOARCH, "CGO_ENABLED=0")
		if len(args) > 0 && args[0] == "test" && !slices.Contains(args, "-c") {
			args = slices.Concat([]string{"test", "-exec", qemu()}, args[1:])
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// goIn runs the go command in dir.
func goIn(dir string, args ...string) ([]byte, error) {
	return goCommand(dir, nil, args...).CombinedOutput()
}

// cpus hands the CPUs to the heavy processes that the tests of this
// package start (the runners', clang-16, g++), one each: the tests run in
// parallel. A CPU that frees goes to the waiting process with the highest
// priority, its expected work, so that the long finite-difference checks
// do not start last and end alone.
var cpus = &scheduler{free: runtime.NumCPU()}

type scheduler struct {
	mu      sync.Mutex
	free    int
	waiting []waiter // in the order they came
}

type waiter struct {
	priority int
	ready    chan struct{}
}

// acquire waits for a CPU.
func (s *scheduler) acquire(priority int) {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return
	}
	w := waiter{priority, make(chan struct{})}
	s.waiting = append(s.waiting, w)
	s.mu.Unlock()
	<-w.ready
}

// release hands the CPU to the first waiter of the highest priority.
func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.free++
		return
	}
	next := 0
	for i, w := range s.waiting {
		if w.priority > s.waiting[next].priority {
			next = i
		}
	}
	close(s.waiting[next].ready)
	s.waiting = slices.Delete(s.waiting, next, next+1)
}

// runner is the test binary of a scratch module: see the comment at the
// top of this file.
type runner struct {
	mod, name, bin string
	env, flags     []string            // for go test -c, and env for every process too
	tests          map[string][]string // by package directory: its tests, in go test's order
}

// newRunner copies the test files of the packages in the directories pkgs
// (relative to mod) behind the build tag, and writes the runner package
// name, which build builds with go test -c, flags and env.
func newRunner(t *testing.T, mod, name string, pkgs []string, env []string, flags ...string) *runner {
	t.Helper()
	r := &runner{mod: mod, name: name, bin: filepath.Join(mod, name+".test"), env: env, flags: flags, tests: map[string][]string{}}
	var src bytes.Buffer
	fmt.Fprintf(&src, "//go:build %s\n\n// Package %s runs the tests of the packages of this module,\n// one package per process: golden's runner_test.go wrote it.\npackage %s\n\nimport (\n\t\"os\"\n\t\"testing\"\n\n", runnerTag, name, name)
	for i, pkg := range pkgs {
		fmt.Fprintf(&src, "\tp%d %q\n", i, "scratch/"+filepath.ToSlash(pkg))
	}
	src.WriteString(")\n\ntype test struct {\n\tname string\n\tf    func(*testing.T)\n}\n\nvar packages = map[string][]test{\n")
	for i, pkg := range pkgs {
		tests := copyTests(t, filepath.Join(mod, pkg))
		if len(tests) == 0 {
			t.Fatalf("%s has no tests", pkg)
		}
		r.tests[pkg] = tests
		fmt.Fprintf(&src, "\t%q: {", pkg)
		for _, test := range tests {
			fmt.Fprintf(&src, "{%q, p%d.%s}, ", test, i, test)
		}
		src.WriteString("},\n")
	}
	src.WriteString(`}

// TestPackage runs the tests of the package in $NNGEN_RUNNER_PACKAGE, in
// go test's order; the process runs in the package's directory.
func TestPackage(t *testing.T) {
	tests, ok := packages[os.Getenv("NNGEN_RUNNER_PACKAGE")]
	if !ok {
		t.Fatalf("no package %q in the runner", os.Getenv("NNGEN_RUNNER_PACKAGE"))
	}
	for _, test := range tests {
		t.Run(test.name, test.f)
	}
}
`)
	write(t, filepath.Join(mod, name, "runner_test.go"), src.Bytes())
	return r
}

// build builds the runner's test binary.
func (r *runner) build() error {
	args := slices.Concat([]string{"test", "-c", "-tags=" + runnerTag, "-o", r.bin}, r.flags, []string{"./" + r.name})
	if out, err := goCommand(r.mod, r.env, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// concurrently calls the functions at once, and fails the test with their
// errors: go vet and the builds of a module, which do not wait on one
// another, keep both CPUs busy through each other's single-threaded
// stretches (loading packages, linking).
func concurrently(t *testing.T, fs ...func() error) {
	t.Helper()
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// copyTests writes each _test.go file of the package in dir again as an
// ordinary file behind the runner's build tag, and returns the package's
// tests in the order go test runs them: by file, then as declared. A
// TestMain is not run; the runner's caller gives the process the
// environment it would set up.
func copyTests(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var tests []string
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, data, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.Name.Name, "_test") {
			t.Fatalf("%s: the runner cannot run an external test package", path)
		}
		for _, c := range f.Comments {
			if c.Pos() < f.Package && strings.Contains(c.Text(), "go:build") {
				t.Fatalf("%s has build constraints of its own, which the runner's would replace", path)
			}
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil {
				continue
			}
			name := fn.Name.Name
			switch {
			case name == "TestMain":
			case isTestName(name, "Test"):
				tests = append(tests, name)
			case isTestName(name, "Fuzz"), isTestName(name, "Example"):
				t.Fatalf("%s: the runner does not run %s", path, name)
			}
		}
		// The line directive keeps the positions in messages those of
		// the test file.
		copied := strings.TrimSuffix(filepath.Base(path), "_test.go") + "_" + runnerTag + ".go"
		header := fmt.Sprintf("//go:build %s\n\n//line %s:1\n", runnerTag, filepath.Base(path))
		write(t, filepath.Join(dir, copied), slices.Concat([]byte(header), data))
	}
	return tests
}

// isTestName reports whether name is one go test runs for prefix: the
// prefix alone, or followed by anything but a lower-case letter.
func isTestName(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(name[len(prefix):])
	return len(name) == len(prefix) || !unicode.IsLower(r)
}

// need fails the test unless every package of the runner has the tests.
func (r *runner) need(t *testing.T, tests ...string) {
	t.Helper()
	for pkg, have := range r.tests {
		for _, test := range tests {
			if !slices.Contains(have, test) {
				t.Fatalf("%s has no %s; its tests: %s", pkg, test, strings.Join(have, ", "))
			}
		}
	}
}

// result is what a package's tests did in the runner.
type result struct {
	pkg    string
	output string
	err    error
	took   time.Duration
}

// passed reports whether every one of the package's tests passed.
func (r *runner) passed(res result) bool {
	if res.err != nil {
		return false
	}
	for _, test := range r.tests[res.pkg] {
		if !strings.Contains(res.output, "--- PASS: TestPackage/"+test+" ") {
			return false
		}
	}
	return true
}

// run runs the tests of every package in pkgs, each in a process of its
// own, with env(pkg) added to the runner's environment (env may be nil),
// the costliest first by cost (nil: all alike), which is also their
// priority for cpus; it returns the results in that order. Under
// NNGEN_TEST_GOARCH the processes run under qemu.
func (r *runner) run(t *testing.T, pkgs []string, cost map[string]int, env func(pkg string) []string) []result {
	t.Helper()
	pkgs = slices.Clone(pkgs)
	slices.SortStableFunc(pkgs, func(a, b string) int { return cmp.Compare(cost[b], cost[a]) })
	args := []string{"-test.run=^TestPackage$", "-test.v", "-test.count=1", "-test.paniconexit0"}
	if deadline, ok := t.Deadline(); ok {
		// A process that hangs stops, with its goroutines' stacks, before
		// this test's own timeout.
		args = append(args, fmt.Sprintf("-test.timeout=%v", max(time.Until(deadline)-time.Minute, time.Minute).Round(time.Second)))
	}
	results := make([]result, len(pkgs))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		cpus.acquire(cost[pkg])
		wg.Add(1)
		go func() {
			defer func() { cpus.release(); wg.Done() }()
			name, argv := r.bin, args
			if testGOARCH != "" {
				name, argv = qemu(), slices.Concat([]string{r.bin}, args)
			}
			cmd := exec.Command(name, argv...)
			cmd.Dir = filepath.Join(r.mod, pkg)
			cmd.Env = slices.Concat(os.Environ(), r.env, []string{"NNGEN_RUNNER_PACKAGE=" + pkg})
			// The finite differences check a sample of each parameter
			// (evenly spread; the replay still compares every element with
			// PyTorch's): 4096 elements on the host, which covers every
			// element of all but the GEMM-sized traces, whose full check
			// took half a minute each; 64 under qemu, where every element
			// of the largest traces would take hours. NNGEN_FD_ELEMENTS=0
			// checks every element.
			fd := "4096"
			if testGOARCH != "" {
				fd = "64"
			}
			if v, ok := os.LookupEnv("NNGEN_FD_ELEMENTS"); ok {
				fd = v
			}
			cmd.Env = append(cmd.Env, "NNGEN_FD_ELEMENTS="+fd)
			if env != nil {
				cmd.Env = append(cmd.Env, env(pkg)...)
			}
			start := time.Now()
			out, err := cmd.CombinedOutput()
			results[i] = result{pkg: pkg, output: string(out), err: err, took: time.Since(start)}
		}()
	}
	wg.Wait()
	return results
}

// report logs, for every package, the lines of its output that contain
// one of show, and "ok" or "FAIL" with its time; it fails the test for a
// package whose tests did not all pass, with the package's output.
func (r *runner) report(t *testing.T, results []result, show ...string) {
	t.Helper()
	for _, res := range results {
		for _, line := range strings.Split(res.output, "\n") {
			for _, s := range show {
				if strings.Contains(line, s) {
					t.Log(res.pkg + ": " + strings.TrimSpace(line))
					break
				}
			}
		}
		if r.passed(res) {
			t.Logf("ok  \tscratch/%s\t%.3fs", res.pkg, res.took.Seconds())
			continue
		}
		t.Errorf("FAIL\tscratch/%s\t%.3fs: %v (tests %s)\n%s", res.pkg, res.took.Seconds(), res.err,
			strings.Join(r.tests[res.pkg], ", "), res.output)
	}
}
