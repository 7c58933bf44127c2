package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nngen/nngen"
)

// TestVersionGuard builds a generated package against an nnrt that no
// longer defines SupportPackageIsVersion1 (as an incompatible one
// would not): the build must fail at compile time, pointing at the
// generated line whose comment says to regenerate.
func TestVersionGuard(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a generated package; skipped with -short")
	}
	t.Parallel()
	// A copy of nngen's runtime packages whose nnrt moved on to version 2.
	fake := t.TempDir()
	write(t, filepath.Join(fake, "go.mod"), []byte("module github.com/nngen/nngen\n\ngo 1.26\n"))
	var sources []string
	for _, pattern := range []string{"nnrt/*.go", "kernels/*.go", "kernels/*.s", "safetensors/*.go"} {
		files, _ := filepath.Glob(filepath.Join("..", "runtime", pattern))
		sources = append(sources, files...)
	}
	for _, src := range sources {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("SupportPackageIsVersion1"), []byte("SupportPackageIsVersion2"))
		write(t, filepath.Join(fake, "runtime", filepath.Base(filepath.Dir(src)), filepath.Base(src)), data)
	}
	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), []byte("module user\n\ngo 1.26\n\nrequire github.com/nngen/nngen v0.0.0\n\nreplace github.com/nngen/nngen => "+fake+"\n"))
	src, err := os.ReadFile("../examples/tutorial/model.nn")
	if err != nil {
		t.Fatal(err)
	}
	files, err := nngen.Build("model.nn", src, nngen.Options{Package: "mymodel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		write(t, filepath.Join(mod, "mymodel", f.Name), f.Data)
	}
	out, err := goIn(mod, "build", "./...")
	if err == nil {
		t.Fatal("a package generated for nnrt version 1 built against version 2")
	}
	if !strings.Contains(string(out), "undefined: nnrt.SupportPackageIsVersion1") {
		t.Fatalf("the build failed, but not at the version guard:\n%s", out)
	}
	line := string(files[0].Data)
	if !strings.Contains(line, "// The build fails here when package nnrt is not the one this code was generated for: regenerate with a matching nngen.\nconst _ = nnrt.SupportPackageIsVersion1") {
		t.Error("the guard lacks the comment that tells users to regenerate")
	}
}
