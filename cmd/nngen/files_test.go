package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
)

// TestMain lets a test run the command in a process of its own: the test
// binary, started with NNGEN_TEST_ARGS set, is nngen.
func TestMain(m *testing.M) {
	if args := os.Getenv("NNGEN_TEST_ARGS"); args != "" {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// header is nngen's header for a file generated from source.
func header(source string) string {
	return codegen.HeaderPrefix + " " + codegen.Version + " from " + source + ". DO NOT EDIT.\n"
}

// listFolder returns the names under dir, slash-separated, folders with a
// trailing slash.
func listFolder(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			rel += "/"
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestBuildDeletesWhatItNoLongerWrites(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	if code, _, stderr := runCmd(t, dir, "build", "-tests", "-o", "mymodel", "model.nn"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// What -cuda writes, without needing a CUDA compiler for the test.
	os.Mkdir(filepath.Join(dir, "mymodel", "gpu"), 0o755)
	for _, name := range []string{"model.cu", "model.ptx", "model.nn.go"} {
		writeFile(t, filepath.Join(dir, "mymodel", "gpu", name), header("model.nn"))
	}
	if got := listFolder(t, filepath.Join(dir, "mymodel")); len(got) != 6 {
		t.Fatalf("before: %v", got)
	}
	code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	gpu := filepath.Join("mymodel", "gpu")
	want := "nngen: removed " + filepath.Join("mymodel", "model.nn_test.go") + ": it comes from -tests, which this build lacks\n" +
		"nngen: removed " + filepath.Join(gpu, "model.cu") + ": it comes from -cuda, which this build lacks\n" +
		"nngen: removed " + filepath.Join(gpu, "model.nn.go") + ": it comes from -cuda, which this build lacks\n" +
		"nngen: removed " + filepath.Join(gpu, "model.ptx") + ": it comes from -cuda, which this build lacks\n" +
		"nngen: removed the empty folder " + gpu + "\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
	if got := listFolder(t, filepath.Join(dir, "mymodel")); !slices.Equal(got, []string{"model.nn.go"}) {
		t.Errorf("left %v, want only model.nn.go", got)
	}
}

func TestBuildKeepsWhatItDidNotGenerate(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	out := filepath.Join(dir, "mymodel")
	os.MkdirAll(filepath.Join(out, "gpu"), 0o755)
	// Hand-written files, a link and files that Go ignores stay, even with
	// nngen's header; so does a gpu folder that still holds something.
	mine := map[string]string{
		"helpers.go":         "package mymodel\n",
		"model.nn_test.go.1": "notes\n",
		"_old.nn.go":         header("model.nn"),
		".hidden.nn.go":      header("model.nn"),
		"gpu/README":         "my notes\n",
	}
	for name, data := range mine {
		writeFile(t, filepath.Join(out, name), data)
	}
	writeFile(t, filepath.Join(dir, "elsewhere.go"), header("model.nn"))
	if err := os.Symlink(filepath.Join(dir, "elsewhere.go"), filepath.Join(out, "linked_test.go")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "gpu", "model.cu"), header("model.nn"))
	code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn")
	if code != 0 || stderr != "nngen: removed "+filepath.Join("mymodel", "gpu", "model.cu")+": it comes from -cuda, which this build lacks\n" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for name, data := range mine {
		if got, _ := os.ReadFile(filepath.Join(out, name)); string(got) != data {
			t.Errorf("%s changed or went", name)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, "linked_test.go")); err != nil {
		t.Error("the link went:", err)
	}
}

func TestBuildRefusesBesideAnotherModel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	writeFile(t, filepath.Join(dir, "other.nn"), strings.Replace(tutorial, "network MyModel", "network Other", 1))
	if code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "other.nn"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	before := state(t, dir)
	code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn")
	want := "nngen: " + filepath.Join("mymodel", "other.nn.go") + " was generated from other.nn, another model: delete it, or generate that model into its own folder (two models in one Go package do not compile)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and\n%s", code, stderr, want)
	}
	if after := state(t, dir); !maps.Equal(before, after) {
		t.Error("a refused build changed the folder")
	}
	code, stdout, stderr := runCmd(t, dir, "build", "-check", "-o", "mymodel", "model.nn")
	if code != 1 || !strings.HasSuffix(stderr, "is stale: it does not exist; run go generate (or nngen build) to create it\n"+want) || !strings.HasPrefix(stdout, "--- /dev/null\n") {
		t.Errorf("check: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestCheckReportsStaleFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	if code, _, stderr := runCmd(t, dir, "build", "-tests", "-o", "mymodel", "model.nn"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	os.Mkdir(filepath.Join(dir, "mymodel", "gpu"), 0o755)
	writeFile(t, filepath.Join(dir, "mymodel", "gpu", "model.cu"), header("model.nn")+"__global__ void k() {}\n")
	testFile, _ := os.ReadFile(filepath.Join(dir, "mymodel", "model.nn_test.go"))
	before := state(t, dir)
	code, stdout, stderr := runCmd(t, dir, "build", "-check", "-o", "mymodel", "model.nn")
	cu, tests := filepath.Join("mymodel", "gpu", "model.cu"), filepath.Join("mymodel", "model.nn_test.go")
	want := "nngen: " + tests + " was generated by nngen but this build does not write it: it comes from -tests; check with -tests if the go:generate line has it, else run go generate (or nngen build), which deletes it\n" +
		"nngen: " + cu + " was generated by nngen but this build does not write it: it comes from -cuda; check with -cuda if the go:generate line has it, else run go generate (or nngen build), which deletes it\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and\n%s", code, stderr, want)
	}
	// The diffs delete the files, as build would.
	wantDiff := string(unifiedDiff(tests+" (committed)", "/dev/null", testFile, nil)) +
		"--- " + cu + " (committed)\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-" + header("model.nn") + "-__global__ void k() {}\n"
	if stdout != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", stdout, wantDiff)
	}
	if after := state(t, dir); !maps.Equal(before, after) {
		t.Error("the check changed the folder")
	}
	if code, _, stderr := runCmd(t, dir, "build", "-check", "-tests", "-o", "mymodel", "model.nn"); code != 1 || strings.Contains(stderr, "-tests") {
		t.Errorf("check -tests: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestBuildWritesNothingWhenATargetIsBad checks every target before it
// writes a file: the first file, model.nn.go, is fine each time.
func TestBuildWritesNothingWhenATargetIsBad(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, out string)
		want  string
	}{{
		name:  "gpu is a file",
		setup: func(t *testing.T, out string) { writeFile(t, filepath.Join(out, "gpu"), "notes\n") },
		want:  "nngen: mymodel/gpu is not a folder, and nngen writes the gpu subpackage there: move it away\n",
	}, {
		name: "gpu is a link",
		setup: func(t *testing.T, out string) {
			os.Mkdir(filepath.Join(out, "real"), 0o755)
			os.Symlink("real", filepath.Join(out, "gpu"))
		},
		want: "nngen: mymodel/gpu is a symbolic link (to real); nngen writes the gpu subpackage only into a real folder: delete the link, or build into the folder it points to\n",
	}, {
		name:  "a target is a folder",
		setup: func(t *testing.T, out string) { os.MkdirAll(filepath.Join(out, "gpu", "model.cu"), 0o755) },
		want:  "nngen: mymodel/gpu/model.cu is a folder, where nngen writes a file: move it away\n",
	}, {
		name: "a target is a link",
		setup: func(t *testing.T, out string) {
			os.Mkdir(filepath.Join(out, "gpu"), 0o755)
			writeFile(t, filepath.Join(out, "kept.cu"), header("model.nn"))
			os.Symlink("../kept.cu", filepath.Join(out, "gpu", "model.cu"))
		},
		want: "nngen: mymodel/gpu/model.cu is a symbolic link (to ../kept.cu); nngen neither writes through a link nor replaces one: delete the link, or build into the folder that holds the file\n",
	}, {
		name: "a target is read-only",
		setup: func(t *testing.T, out string) {
			os.Mkdir(filepath.Join(out, "gpu"), 0o755)
			writeFile(t, filepath.Join(out, "gpu", "model.cu"), header("model.nn"))
			os.Chmod(filepath.Join(out, "gpu", "model.cu"), 0o444)
		},
		want: "nngen: mymodel/gpu/model.cu is read-only; nngen does not replace it: make it writable (chmod u+w), or delete it\n",
	}, {
		name: "a target was not generated",
		setup: func(t *testing.T, out string) {
			os.Mkdir(filepath.Join(out, "gpu"), 0o755)
			writeFile(t, filepath.Join(out, "gpu", "model.cu"), "// mine\n")
		},
		want: "nngen: mymodel/gpu/model.cu exists and was not generated by nngen; not overwriting it\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "mymodel")
			os.Mkdir(out, 0o755)
			tc.setup(t, out)
			files := []codegen.File{{Name: "model.nn.go", Data: []byte(header("model.nn"))}, {Name: "gpu/model.cu", Data: []byte(header("model.nn") + "// kernels\n")}}
			before := state(t, dir)
			t.Chdir(dir)
			var stderr bytes.Buffer
			err := write("mymodel", "model.nn", files, &stderr)
			if err == nil || "nngen: "+err.Error()+"\n" != filepath.FromSlash(tc.want) || stderr.Len() != 0 {
				t.Errorf("error %v, stderr %q; want %q", err, stderr.String(), tc.want)
			}
			if after := state(t, dir); !maps.Equal(before, after) {
				t.Errorf("a failed build changed the folder: %v", listFolder(t, dir))
			}
		})
	}
}

// TestBuildWritesNothingWhenWritingFails makes the second temporary file
// fail (its name is too long) after the first was written.
func TestBuildWritesNothingWhenWritingFails(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "mymodel")
	os.Mkdir(out, 0o755)
	writeFile(t, filepath.Join(out, "model.nn.go"), header("model.nn")+"// old\n")
	long := strings.Repeat("x", 240) + ".go"
	files := []codegen.File{{Name: "model.nn.go", Data: []byte(header("model.nn") + "// new\n")}, {Name: "gpu/" + long, Data: []byte(header("model.nn"))}}
	before := state(t, dir)
	var stderr bytes.Buffer
	err := write(out, "model.nn", files, &stderr)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot write "+filepath.Join(out, "gpu", long)+": ") {
		t.Fatalf("error %v", err)
	}
	if after := state(t, dir); !maps.Equal(before, after) || !slices.Equal(listFolder(t, out), []string{"model.nn.go"}) {
		t.Errorf("a failed build changed the folder: %v", listFolder(t, dir))
	}
	// Into a folder that does not exist yet, the folder goes too.
	if err := write(filepath.Join(dir, "new"), "model.nn", files, &stderr); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
		t.Error("a failed build left the folder it created")
	}
}

func TestBuildIntoUnwritableGPUFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write anywhere")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "mymodel")
	os.MkdirAll(filepath.Join(out, "gpu"), 0o755)
	os.Chmod(filepath.Join(out, "gpu"), 0o555)
	defer os.Chmod(filepath.Join(out, "gpu"), 0o755)
	files := []codegen.File{{Name: "model.nn.go", Data: []byte(header("model.nn"))}, {Name: "gpu/model.cu", Data: []byte(header("model.nn"))}}
	var stderr bytes.Buffer
	err := write(out, "model.nn", files, &stderr)
	if err == nil || err.Error() != "cannot write "+filepath.Join(out, "gpu", "model.cu")+": permission denied" {
		t.Errorf("error %v", err)
	}
	if got := listFolder(t, out); !slices.Equal(got, []string{"gpu/"}) {
		t.Errorf("the folder holds %v", got)
	}
	// Deleting there fails as well, before anything changes.
	os.Chmod(filepath.Join(out, "gpu"), 0o755)
	writeFile(t, filepath.Join(out, "gpu", "model.cu"), header("model.nn"))
	os.Chmod(filepath.Join(out, "gpu"), 0o555)
	err = write(out, "model.nn", files[:1], &stderr)
	if err == nil || err.Error() != "cannot delete "+filepath.Join(out, "gpu", "model.cu")+": permission denied" {
		t.Errorf("error %v", err)
	}
	if got := listFolder(t, out); !slices.Equal(got, []string{"gpu/", "gpu/model.cu"}) {
		t.Errorf("the folder holds %v", got)
	}
}

func TestBuildThroughLinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	// The output folder may be a link: nngen writes into the folder it names.
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	os.Symlink("real", filepath.Join(dir, "mymodel"))
	if code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "real", "model.nn.go"))
	if err != nil {
		t.Fatal(err)
	}
	// A file that is a link to the right contents is current.
	os.Rename(filepath.Join(dir, "real", "model.nn.go"), filepath.Join(dir, "kept.go"))
	os.Symlink("../kept.go", filepath.Join(dir, "real", "model.nn.go"))
	if code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn"); code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, dir, "build", "-check", "-o", "mymodel", "model.nn"); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	// To other contents, it stays a link and what it points to stays too.
	code, _, stderr := runCmd(t, dir, "build", "-infer", "-o", "mymodel", "model.nn")
	if code != 1 || !strings.Contains(stderr, "model.nn.go is a symbolic link (to ../kept.go); nngen neither writes through a link nor replaces one") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "kept.go")); !bytes.Equal(got, generated) {
		t.Error("the build wrote through the link")
	}
	if target, err := os.Readlink(filepath.Join(dir, "real", "model.nn.go")); err != nil || target != "../kept.go" {
		t.Error("the link changed:", target, err)
	}
}

// TestBuildRemovesDeadTemporaryFiles leaves what a build killed before its
// renames leaves, and some look-alikes that must stay.
func TestBuildRemovesDeadTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	out := filepath.Join(dir, "mymodel")
	os.MkdirAll(filepath.Join(out, "gpu"), 0o755)
	dead := []string{".model.nn.go.nngen-tmp-123", ".model.nn_test.go.nngen-tmp-9", "gpu/.model.cu.nngen-tmp-77", ".model.nn.go.tmp4567"}
	kept := []string{".model.nn.go.tmpfile", ".notes.tmp12", "model.nn.go.nngen-tmp-5", "gpu/keep.txt"}
	for _, name := range slices.Concat(dead, kept) {
		writeFile(t, filepath.Join(out, name), "// Code gen")
	}
	code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range dead {
		if !strings.Contains(stderr, "nngen: removed "+filepath.Join("mymodel", name)+", left by a build that was interrupted\n") {
			t.Errorf("no report of %s in:\n%s", name, stderr)
		}
	}
	want := slices.Concat([]string{"gpu/"}, kept, []string{"model.nn.go"})
	slices.Sort(want)
	if got := listFolder(t, out); !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}

// TestConcurrentBuilds starts builds with different flags into one folder,
// each in its own process, all at once: the folder must end up holding
// exactly what one of them writes, and no temporary file.
func TestConcurrentBuilds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	variants := [][]string{{}, {"-tests"}, {"-infer"}, {"-infer", "-tests"}}
	var outputs []map[string]string
	for i, flags := range variants {
		out := fmt.Sprintf("variant%d", i)
		args := slices.Concat([]string{"build", "-pkg", "mymodel", "-o", out}, flags, []string{"model.nn"})
		if code, _, stderr := runCmd(t, dir, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		outputs = append(outputs, contents(t, filepath.Join(dir, out)))
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var cmds []*exec.Cmd
		for i := range 8 {
			args := slices.Concat([]string{"build", "-pkg", "mymodel", "-o", "mymodel"}, variants[(i+round)%len(variants)], []string{"model.nn"})
			cmd := exec.Command(exe)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "NNGEN_TEST_ARGS="+strings.Join(args, " "))
			cmds = append(cmds, cmd)
		}
		for _, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for _, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("a build failed: %v", err)
			}
		}
		got := contents(t, filepath.Join(dir, "mymodel"))
		if !slices.ContainsFunc(outputs, func(want map[string]string) bool { return maps.Equal(got, want) }) {
			t.Fatalf("round %d: the folder holds a mix of builds: %v", round, slices.Sorted(maps.Keys(got)))
		}
	}
}

// state maps each name under dir to what it is: a folder, a link and its
// target, or a file with its time and contents.
func state(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries := map[string]string{}
	for _, name := range listFolder(t, dir) {
		path := filepath.Join(dir, name)
		info, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			entries[name] = "link to " + target
		case info.IsDir():
			entries[name] = "folder " + info.Mode().String()
		default:
			data, _ := os.ReadFile(path)
			entries[name] = fmt.Sprint(info.Mode(), info.ModTime(), "\n", string(data))
		}
	}
	return entries
}

// contents maps each file's name under dir to its contents.
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, name := range listFolder(t, dir) {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		files[name] = string(data)
	}
	return files
}

func TestFlagAfterModelFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "model.nn", "-o", "out"}, "nngen build: flags must come before the model file: found \"-o\" after model.nn; write nngen build -o out model.nn\n"},
		{[]string{"build", "-infer", "model.nn", "-optimizer", "adam(lr=1e-3)", "-o", "my dir"},
			"nngen build: flags must come before the model file: found \"-optimizer\" after model.nn; write nngen build -infer -optimizer 'adam(lr=1e-3)' -o 'my dir' model.nn\n"},
		{[]string{"graph", "model.nn", "-backward"}, "nngen graph: flags must come before the model file: found \"-backward\" after model.nn; write nngen graph -backward model.nn\n"},
	} {
		code, stdout, stderr := runCmd(t, dir, tc.args...)
		if code != 2 || stdout != "" || stderr != tc.want {
			t.Errorf("nngen %v: exit %d, stderr:\n%s\nwant 2 and\n%s", tc.args, code, stderr, tc.want)
		}
	}
	// Moving the flags in front gives no working command: say why, then the usage.
	code, _, stderr := runCmd(t, dir, "build", "a.nn", "b.nn", "-infer")
	if code != 2 || !strings.HasPrefix(stderr, "nngen build: flags must come before the model file: found \"-infer\" after a.nn\nusage: nngen build [flags]") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	// Two files and no flag: the usage alone.
	if code, _, stderr := runCmd(t, dir, "build", "a.nn", "b.nn"); code != 2 || !strings.HasPrefix(stderr, "usage: nngen build [flags]") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestBuildCUDAFolder runs -cuda for real: into a gpu that is a file, then
// with and without -cuda.
func TestBuildCUDAFolder(t *testing.T) {
	_, clangErr := exec.LookPath("clang-16")
	if _, nvccErr := exec.LookPath("nvcc"); clangErr != nil && nvccErr != nil {
		t.Skip("-cuda needs clang-16 or nvcc")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/user\n\ngo 1.26\n\nrequire github.com/nngen/nngen v0.1.0\n")
	writeFile(t, filepath.Join(dir, "model.nn"), tutorial)
	os.Mkdir(filepath.Join(dir, "mymodel"), 0o755)
	writeFile(t, filepath.Join(dir, "mymodel", "gpu"), "notes\n")
	gpu := filepath.Join("mymodel", "gpu")
	code, _, stderr := runCmd(t, dir, "build", "-cuda", "-o", "mymodel", "model.nn")
	if want := "nngen: " + gpu + " is not a folder, and nngen writes the gpu subpackage there: move it away\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and\n%s", code, stderr, want)
	}
	if got := listFolder(t, filepath.Join(dir, "mymodel")); !slices.Equal(got, []string{"gpu"}) {
		t.Errorf("a failed build wrote %v", got)
	}

	os.Remove(filepath.Join(dir, gpu))
	if code, _, stderr := runCmd(t, dir, "build", "-cuda", "-o", "mymodel", "model.nn"); code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"gpu/", "gpu/model.cu", "gpu/model.nn.go", "gpu/model.ptx", "model.nn.go"}
	if got := listFolder(t, filepath.Join(dir, "mymodel")); !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
	code, _, stderr = runCmd(t, dir, "build", "-check", "-o", "mymodel", "model.nn")
	if code != 1 || strings.Count(stderr, "it comes from -cuda; check with -cuda if the go:generate line has it") != 3 {
		t.Errorf("check without -cuda: exit %d, stderr:\n%s", code, stderr)
	}
	if code, _, stderr := runCmd(t, dir, "build", "-o", "mymodel", "model.nn"); code != 0 || !strings.HasSuffix(stderr, "nngen: removed the empty folder "+gpu+"\n") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := listFolder(t, filepath.Join(dir, "mymodel")); !slices.Equal(got, []string{"model.nn.go"}) {
		t.Errorf("left %v", got)
	}
}
