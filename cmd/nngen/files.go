package main

// What a build does to its output folder: which files it writes, which it
// refuses to touch, which it deletes, and in what order, so that a failed
// build changes nothing and an interrupted one leaves as little as the
// operating system allows.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/nngen/nngen"
)

// tempInfix marks nngen's temporary files: NAME is written to
// .NAME.nngen-tmp-RANDOM beside it, then renamed. The go command ignores
// names that start with a dot, so a leftover one never joins the package.
const tempInfix = ".nngen-tmp-"

// deadTempAge is how old a temporary file must be before a build that could
// not lock the folder takes it for the leftover of a dead build. Writing
// takes milliseconds, so an hour is generous.
const deadTempAge = time.Hour

// errFolderReplaced says that the output folder was deleted or replaced
// while this build waited for its lock; the build locks it again.
var errFolderReplaced = errors.New("the output folder was replaced while nngen waited for its lock")

// write puts files, built from the model named source, into dir, and
// deletes the files that an earlier build of that model wrote there but
// this one does not (model.nn_test.go after -tests is dropped, the gpu
// folder after -cuda is), reporting each on stderr. It holds a lock on dir
// meanwhile, so that builds into one folder take turns, and first deletes
// the temporary files of builds that died.
func write(dir, source string, files []nngen.File, stderr io.Writer) error {
	for {
		created, err := makeFolder(dir)
		if err != nil {
			return err
		}
		release, locked, err := lockFolder(dir, true)
		if errors.Is(err, errFolderReplaced) || errors.Is(err, fs.ErrNotExist) { // deleted by a build that failed
			continue
		}
		if err != nil {
			return err
		}
		err = writeLocked(dir, source, files, locked, stderr)
		if err != nil && created {
			os.Remove(dir) // a failed build leaves no empty folder behind; builds waiting for the lock notice and lock again
		}
		release()
		return err
	}
}

func writeLocked(dir, source string, files []nngen.File, locked bool, stderr io.Writer) error {
	for _, name := range removeDeadTemps(dir, files, locked) {
		fmt.Fprintf(stderr, "nngen: removed %s, left by a build that was interrupted\n", name)
	}
	p, err := makePlan(dir, source, files)
	if err != nil {
		return err
	}
	removed, err := p.apply(dir)
	for _, msg := range removed {
		fmt.Fprintln(stderr, "nngen: removed", msg)
	}
	return err
}

// makeFolder creates the output folder if it does not exist.
func makeFolder(dir string) (created bool, err error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, os.MkdirAll(dir, 0o755)
	case err != nil:
		return false, err
	case !info.IsDir():
		return false, fmt.Errorf("%s is not a folder; -o names the folder to write the package into", dir)
	}
	return false, nil
}

// A plan is what a build changes in its output folder.
type plan struct {
	write  []nngen.File // new or changed files
	remove []staleFile  // this model's files that the build no longer writes
}

// makePlan works out what writing files into dir takes, changing nothing.
// It refuses, listing every reason at once, to replace anything but a
// regular, writable file that nngen generated; to write through a
// symbolic link or to replace one; to write into a gpu folder that is not
// a real folder; and to leave another model's files beside the package.
func makePlan(dir, source string, files []nngen.File) (plan, error) {
	var p plan
	var errs []error
	badFolder := map[string]bool{}
	for _, f := range files {
		sub := path.Dir(f.Name)
		if sub == "." || badFolder[sub] {
			continue
		}
		folder := filepath.Join(dir, sub)
		info, err := os.Lstat(folder)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(folder)
			err = fmt.Errorf("%s is a symbolic link (to %s); nngen writes the %s subpackage only into a real folder: delete the link, or build into the folder it points to", folder, target, sub)
		case !info.IsDir():
			err = fmt.Errorf("%s is not a folder, and nngen writes the %s subpackage there: move it away", folder, sub)
		}
		if err != nil {
			errs = append(errs, err)
			badFolder[sub] = true
		}
	}
	for _, f := range files {
		if badFolder[path.Dir(f.Name)] {
			continue
		}
		change, err := needsWrite(filepath.Join(dir, f.Name), f.Data)
		if err != nil {
			errs = append(errs, err)
		} else if change {
			p.write = append(p.write, f)
		}
	}
	stale, err := findStale(dir, source, files)
	if err != nil {
		errs = append(errs, err)
	}
	for _, s := range stale {
		switch {
		case !s.ours:
			errs = append(errs, errors.New(s.otherModel()))
		case s.readOnly:
			errs = append(errs, fmt.Errorf("%s is read-only; nngen does not delete it: make it writable (chmod u+w), or delete it", s.path))
		default:
			p.remove = append(p.remove, s)
		}
	}
	return p, errors.Join(errs...)
}

// needsWrite reports whether the file at path must be written to hold
// data: false when it holds data already. An error says why nngen may not
// replace it.
func needsWrite(path string, data []byte) (bool, error) {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, err
	case info.Mode()&fs.ModeSymlink != 0:
		// A link to the right contents needs no write: -check accepts it,
		// so build does too.
		if old, err := readRegular(path); err == nil && bytes.Equal(old, data) {
			return false, nil
		}
		target, _ := os.Readlink(path)
		return false, fmt.Errorf("%s is a symbolic link (to %s); nngen neither writes through a link nor replaces one: delete the link, or build into the folder that holds the file", path, target)
	case info.IsDir():
		return false, fmt.Errorf("%s is a folder, where nngen writes a file: move it away", path)
	case !info.Mode().IsRegular():
		return false, fmt.Errorf("%s is not a regular file; not replacing it", path)
	}
	old, err := os.ReadFile(path)
	switch {
	case err != nil:
		return false, err
	case !bytes.HasPrefix(old, []byte(nngen.HeaderPrefix)):
		return false, fmt.Errorf("%s exists and was not generated by nngen; not overwriting it", path)
	case bytes.Equal(old, data):
		return false, nil
	case info.Mode().Perm()&0o200 == 0:
		return false, fmt.Errorf("%s is read-only; nngen does not replace it: make it writable (chmod u+w), or delete it", path)
	}
	return true, nil
}

// readRegular reads the file at path, following links, when it is a
// regular file: reading a named pipe would wait forever.
func readRegular(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return os.ReadFile(path)
}

// apply carries out p in dir, in two phases. First each new file goes to a
// temporary file beside its target, synced to disk; and every folder that
// loses a file shows that nngen may delete there. A failure in this phase
// (a full disk, a folder nngen may not write) deletes the temporary files
// and leaves the package as it was. Then the stale files are deleted and
// the temporary files renamed over their targets, back to back, and the
// folders synced: after a crash each file is whole, old or new. Only a
// build killed during those few system calls leaves a package part old,
// part new, with the temporary files it had not renamed yet; the next build
// deletes those and finishes the job.
//
// It returns what it deleted, for the report.
func (p plan) apply(dir string) (removed []string, err error) {
	if len(p.write) == 0 && len(p.remove) == 0 {
		return nil, nil
	}
	temps := make([]string, len(p.write))
	var newFolders []string
	defer func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
		if err != nil {
			for _, folder := range newFolders {
				os.Remove(folder)
			}
		}
	}()
	touched := map[string]bool{} // the folders that writeTemp or probe showed writable
	for i, f := range p.write {
		target := filepath.Join(dir, f.Name)
		folder := filepath.Dir(target)
		if !touched[folder] {
			touched[folder] = true
			if _, err := os.Lstat(folder); errors.Is(err, fs.ErrNotExist) {
				if err := os.Mkdir(folder, 0o755); err != nil {
					return nil, err
				}
				newFolders = append(newFolders, folder)
			}
		}
		if temps[i], err = writeTemp(target, f.Data); err != nil {
			return nil, err
		}
	}
	for _, s := range p.remove {
		if folder := filepath.Dir(s.path); !touched[folder] {
			touched[folder] = true
			if err := probe(folder); err != nil {
				return nil, fmt.Errorf("cannot delete %s: %w", s.path, err)
			}
		}
	}

	// From here on the package changes: no checks, only the changes.
	emptied := map[string]bool{}
	for _, s := range p.remove {
		if err := os.Remove(s.path); err != nil {
			return removed, interrupted(dir, err)
		}
		removed = append(removed, s.path+": "+s.why())
		emptied[filepath.Dir(s.path)] = true
	}
	for i, f := range p.write {
		if err := os.Rename(temps[i], filepath.Join(dir, f.Name)); err != nil {
			return removed, interrupted(dir, err)
		}
		temps[i] = ""
	}
	touched[filepath.Clean(dir)] = true // it loses the gpu folder, or holds new files
	for folder := range emptied {
		if folder != filepath.Clean(dir) && os.Remove(folder) == nil { // only when nothing else is left in it
			removed = append(removed, "the empty folder "+folder)
			delete(touched, folder)
		}
	}
	for folder := range touched {
		syncFolder(folder)
	}
	return removed, nil
}

// interrupted explains a failure in the middle of changing the package.
func interrupted(dir string, err error) error {
	return fmt.Errorf("%w\nthe package in %s is now part old, part new: fix that, then run nngen build again", err, dir)
}

// writeTemp writes data to a new temporary file beside target, synced to
// disk, and returns its name.
func writeTemp(target string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+tempInfix+"*")
	if err != nil {
		return "", cannotWrite(target, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", cannotWrite(target, err)
	}
	return f.Name(), nil
}

// probe shows that files can be created, and so deleted, in folder.
func probe(folder string) error {
	f, err := os.CreateTemp(folder, ".probe"+tempInfix+"*")
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// cannotWrite names the target, not the temporary file, in an error.
func cannotWrite(target string, err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	return fmt.Errorf("cannot write %s: %w", target, err)
}

// removeDeadTemps deletes the temporary files that builds which died left
// in dir and its gpu folder, and returns their names. A build holding the
// folder's lock knows that every one there is dead; without the lock, only
// those older than deadTempAge are taken. Besides its own marker it knows
// the names that nngen v0.1.0 used, .NAME.tmpDIGITS for a NAME that the
// build writes.
func removeDeadTemps(dir string, files []nngen.File, locked bool) []string {
	written := map[string]bool{}
	for _, f := range files {
		written[f.Name] = true
	}
	var removed []string
	for _, sub := range []string{".", nngen.CUDADir} {
		folder := filepath.Join(dir, sub)
		if info, err := os.Lstat(folder); err != nil || !info.IsDir() {
			continue
		}
		entries, _ := os.ReadDir(folder)
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), ".")
			if !ok || !e.Type().IsRegular() {
				continue
			}
			stem, digits, legacy := cutLast(name, ".tmp")
			legacy = legacy && written[path.Join(sub, stem)] && digits != "" && strings.Trim(digits, "0123456789") == ""
			if !strings.Contains(name, tempInfix) && !legacy {
				continue
			}
			if info, err := e.Info(); err != nil || !locked && time.Since(info.ModTime()) < deadTempAge {
				continue
			}
			if os.Remove(filepath.Join(folder, e.Name())) == nil {
				removed = append(removed, filepath.Join(folder, e.Name()))
			}
		}
	}
	return removed
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// A staleFile is a file in the output folder that nngen generated but that
// this build does not write.
type staleFile struct {
	name     string // in the output folder, slash-separated: "model.nn_test.go", "gpu/model.cu"
	path     string // the output folder joined with name, as messages show it
	source   string // the model that its header names
	ours     bool   // generated from this build's model, so build deletes it
	readOnly bool
}

// flag is the build flag that writes such a file; "" when none explains it.
func (s staleFile) flag() string {
	switch {
	case strings.HasPrefix(s.name, nngen.CUDADir+"/"):
		return "-cuda"
	case strings.HasSuffix(s.name, "_test.go"):
		return "-tests"
	}
	return ""
}

// why says why build deleted the file.
func (s staleFile) why() string {
	if flag := s.flag(); flag != "" {
		return "it comes from " + flag + ", which this build lacks"
	}
	return "generated from " + s.source + ", but this build does not write it"
}

// stale says why -check reports the file, and what to do.
func (s staleFile) stale() string {
	if !s.ours {
		return s.otherModel()
	}
	if flag := s.flag(); flag != "" {
		return fmt.Sprintf("%s was generated by nngen but this build does not write it: it comes from %s; check with %s if the go:generate line has it, else run go generate (or nngen build), which deletes it", s.path, flag, flag)
	}
	return fmt.Sprintf("%s was generated by nngen from %s but this build does not write it; run go generate (or nngen build), which deletes it", s.path, s.source)
}

func (s staleFile) otherModel() string {
	if s.source == "" {
		return fmt.Sprintf("%s was generated by nngen, but not by this build: delete it", s.path)
	}
	return fmt.Sprintf("%s was generated from %s, another model: delete it, or generate that model into its own folder (two models in one Go package do not compile)", s.path, s.source)
}

// findStale lists the files in dir, and in its gpu folder, that nngen
// generated but that are not among files, the output of a build of the
// model named source. Names that start with "." or "_" are passed over:
// the go command ignores them, and nngen's temporary files are among them.
// So are links, which build never deletes, and files it cannot read.
func findStale(dir, source string, files []nngen.File) ([]staleFile, error) {
	written := map[string]bool{}
	for _, f := range files {
		written[f.Name] = true
	}
	var stale []staleFile
	for _, sub := range []string{".", nngen.CUDADir} {
		folder := filepath.Join(dir, sub)
		stat := os.Stat // the output folder may be a link; its gpu folder counts only when it is a real one, as for writing
		if sub != "." {
			stat = os.Lstat
		}
		info, err := stat(folder)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !info.IsDir() {
			continue
		}
		if err != nil {
			return nil, err
		}
		entries, err := os.ReadDir(folder)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			name := path.Join(sub, e.Name())
			if written[name] || !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
				continue
			}
			from, generated := generatedFrom(filepath.Join(folder, e.Name()))
			if !generated {
				continue
			}
			s := staleFile{name: name, path: filepath.Join(dir, name), source: from, ours: from == source}
			if info, err := e.Info(); err == nil {
				s.readOnly = info.Mode().Perm()&0o200 == 0
			}
			stale = append(stale, s)
		}
	}
	return stale, nil
}

// generatedFrom reads the first line of the file at path and, when it is
// nngen's header ("// Code generated by nngen v0.1.0 from model.nn. DO NOT
// EDIT."), returns the model it names, "" if it names none. generated is
// false for any other file, and for one that cannot be read.
func generatedFrom(path string) (source string, generated bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	line, _ := bufio.NewReaderSize(f, 1024).ReadSlice('\n')
	rest, ok := bytes.CutPrefix(line, []byte(nngen.HeaderPrefix))
	if !ok {
		return "", false
	}
	_, from, _ := bytes.Cut(rest, []byte(" from "))
	return strings.TrimSuffix(strings.TrimSpace(string(from)), ". DO NOT EDIT."), true
}
