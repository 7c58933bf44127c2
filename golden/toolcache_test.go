package golden

import (
	"crypto/sha256"
	"strings"

	"encoding/hex"
	"fmt"
	"github.com/nngen/nngen"
	"github.com/nngen/nngen/cudagen"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// toolCache keeps what g++ and clang-16 make of generated CUDA code (the
// fake drivers, the PTX), by the hash of everything that goes into it,
// as the go command's build cache keeps compiled packages: a run whose
// kernels are unchanged since an earlier one copies them instead of
// compiling them again. It lives in the user's cache directory
// (nngen/golden); NNGEN_GOLDEN_CACHE=off turns it off, for timing a run
// from scratch. Entries unused for a week are removed.
var toolCache = sync.OnceValue(func() string {
	if os.Getenv("NNGEN_GOLDEN_CACHE") == "off" {
		return ""
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	dir := filepath.Join(base, "nngen", "golden")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 7*24*time.Hour {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return dir
})

// toolVersion is the first line of `tool --version`, part of every key of
// what the tool makes.
var toolVersion = sync.OnceValues(func() (map[string]string, error) {
	versions := map[string]string{}
	for _, tool := range []string{"g++", "clang-16"} {
		out, err := exec.Command(tool, "--version").Output()
		if err != nil {
			continue // needTools reports it where it is needed
		}
		versions[tool] = string(out)
	}
	return versions, nil
})

// cacheKey hashes the parts that make a tool's output.
func cacheKey(tool string, parts ...[]byte) string {
	versions, _ := toolVersion()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", tool, versions[tool])
	for _, p := range parts {
		fmt.Fprintf(h, "%d\x00", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cached returns the bytes cached under key, or runs make and caches
// what it returns.
func cached(key string, make func() ([]byte, error)) ([]byte, error) {
	dir := toolCache()
	if dir == "" {
		return make()
	}
	entry := filepath.Join(dir, key)
	if data, err := os.ReadFile(entry); err == nil {
		now := time.Now()
		os.Chtimes(entry, now, now)
		return data, nil
	}
	data, err := make()
	if err != nil {
		return nil, err
	}
	if tmp, err := os.CreateTemp(dir, key+".tmp*"); err == nil { // else no cache, but the data
		_, werr := tmp.Write(data)
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), entry) != nil {
			os.Remove(tmp.Name())
		}
	}
	return data, nil
}

// cachedPTX is nngen.CompilePTX through the cache.
func cachedPTX(files []nngen.File) ([]nngen.File, error) {
	for _, f := range files {
		if f.Name == cudagen.CUFile {
			ptx, err := cached(cacheKey("clang-16", []byte(strings.Join(cudagen.ClangArgs, " ")), f.Data), func() ([]byte, error) {
				with, err := nngen.CompilePTX([]nngen.File{f})
				if err != nil {
					return nil, err
				}
				return with[1].Data, nil
			})
			if err != nil {
				return nil, err
			}
			return append(files, nngen.File{Name: cudagen.PTXFile, Data: ptx}), nil
		}
	}
	return nngen.CompilePTX(files) // its error
}

// emulationSources are the emulation's files, which every fake driver
// compiles.
var emulationSources = sync.OnceValues(func() ([]byte, error) {
	files, err := filepath.Glob("../cudagen/emulation/*")
	if err != nil {
		return nil, err
	}
	var all []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		all = fmt.Appendf(all, "%s %d\n", filepath.Base(f), len(data))
		all = append(all, data...)
	}
	return all, nil
})
