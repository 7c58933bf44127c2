//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package main

// lockFolder cannot lock a folder on this system: builds into one folder
// do not take turns, and a build deletes only the temporary files older
// than deadTempAge.
func lockFolder(dir string, exclusive bool) (release func(), locked bool, err error) {
	return func() {}, false, nil
}

// syncFolder does nothing here: a folder cannot be opened for syncing.
func syncFolder(folder string) {}
