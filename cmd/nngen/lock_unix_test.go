//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLockFolder(t *testing.T) {
	dir := t.TempDir()
	release, locked, err := lockFolder(dir, true)
	if err != nil || !locked {
		t.Fatalf("locked %v, error %v", locked, err)
	}
	got := make(chan bool)
	go func() {
		release, locked, _ := lockFolder(dir, false)
		got <- locked
		release()
	}()
	select {
	case <-got:
		t.Fatal("a check took the lock that a build holds")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if !<-got {
		t.Error("the check did not get the lock")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("locking left %d files", len(entries))
	}

	// A folder deleted while a build waited for its lock is no lock at all.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	release, _, _ = lockFolder(sub, true)
	errs := make(chan error)
	go func() {
		_, _, err := lockFolder(sub, true)
		errs <- err
	}()
	time.Sleep(50 * time.Millisecond)
	os.Remove(sub)
	release()
	if err := <-errs; err != errFolderReplaced {
		t.Errorf("error %v, want errFolderReplaced", err)
	}
}
