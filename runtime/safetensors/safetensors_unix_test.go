//go:build unix

package safetensors

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// A named pipe is refused by name, without waiting for a writer: loading
// reads nothing from it, and saving leaves it as it was rather than
// renaming a file over it.
func TestSafetensorsNamedPipe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pipe.safetensors")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip("cannot make a named pipe:", err)
	}
	want := path + " is a named pipe, not a regular file"
	params := model()
	if err := Load(path, params); err == nil || err.Error() != want {
		t.Errorf("loading: %v, want %s", err, want)
	}
	checkUntouched(t, "loading", params)
	if err := Save(path, params, nil); err == nil || err.Error() != want {
		t.Errorf("saving: %v, want %s", err, want)
	}
	if info, err := os.Lstat(path); err != nil || info.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("after saving, the pipe is %v, %v", info, err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"pipe.safetensors"}) {
		t.Errorf("after saving, the directory holds %q", names)
	}
}
