//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package main

import (
	"os"
	"syscall"
)

// lockFolder waits for, then takes, a lock on the folder dir: exclusive
// for a build, shared for a check. Builds into one folder thus take turns,
// a check never sees one half done, and a build holding the lock knows
// that every temporary file there belongs to a build that died. The lock
// is flock(2) on the folder itself, so no lock file is left behind, and
// the kernel drops it when the process dies, however it dies. locked is
// false where the file system cannot lock (some network file systems):
// the build goes on without.
func lockFolder(dir string, exclusive bool) (release func(), locked bool, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return func() {}, false, nil
	}
	// A build that created the folder and then failed deletes it while it
	// holds the lock; the lock then guards a folder that is gone.
	held, err := f.Stat()
	now, statErr := os.Stat(dir)
	if err != nil || statErr != nil || !os.SameFile(held, now) {
		f.Close()
		return nil, false, errFolderReplaced
	}
	return func() { f.Close() }, true, nil // closing the folder releases the lock
}

// syncFolder makes the renames and deletions in folder durable. It is
// called once the build has changed the package; a file system that
// cannot sync a folder is no reason to report a failure then.
func syncFolder(folder string) {
	if f, err := os.Open(folder); err == nil {
		f.Sync()
		f.Close()
	}
}
