package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/nngen/nngen/runtime/nnrt"
)

// Save writes params' values (Param.Value, named by Param.Name
// with Param.Shape) to path as safetensors, with dtype F32 for float32
// models and F64 for float64, plus the given metadata (may be nil). Tensors
// are written in the order given. The file is written to a temporary file
// in the same directory, synced, and renamed over path, so a crash never
// leaves a half-written checkpoint. A path that exists must be a regular
// file: the rename would replace a device or a pipe, not write to it.
func Save[T nnrt.Float](path string, params []nnrt.Param[T], metadata map[string]string) error {
	return save(path, paramEntries(params), metadata)
}

func save(path string, params []modelTensor, metadata map[string]string) (err error) {
	// Check everything before creating a file, so that bad params leave
	// nothing behind.
	header, err := safetensorsHeader(params, metadata)
	if err != nil {
		return err
	}
	// An existing checkpoint keeps its permissions; a new one gets the
	// usual 0644 rather than CreateTemp's 0600.
	mode := fs.FileMode(0o644)
	if info, err := os.Stat(path); err == nil {
		if err := regular(path, info); err != nil {
			return err
		}
		mode = info.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(f.Name())
		}
	}()
	if err := writeSafetensors(f, header, params); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the directory is synced too. Some
	// systems cannot sync a directory; the file itself is already safe.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Write is Save to a writer (no atomicity).
func Write[T nnrt.Float](w io.Writer, params []nnrt.Param[T], metadata map[string]string) error {
	return write(w, paramEntries(params), metadata)
}

func write(w io.Writer, params []modelTensor, metadata map[string]string) error {
	header, err := safetensorsHeader(params, metadata)
	if err != nil {
		return err
	}
	return writeSafetensors(w, header, params)
}

// safetensorsHeader checks params and metadata and returns the header
// that writes them: the length, the JSON and the padding that starts the
// data at a multiple of 8 bytes, as the safetensors library does, so that
// readers can map the file and use the data in place.
func safetensorsHeader(params []modelTensor, metadata map[string]string) ([]byte, error) {
	var errs []error
	var b bytes.Buffer
	b.Write(make([]byte, 8))
	b.WriteByte('{')
	if len(metadata) > 0 {
		b.WriteString(`"` + safetensorsMetadataKey + `":{`)
		for i, key := range slices.Sorted(maps.Keys(metadata)) {
			if !utf8.ValidString(key) || !utf8.ValidString(metadata[key]) {
				errs = append(errs, fmt.Errorf("metadata %q: not valid UTF-8", key))
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, key)
			b.WriteByte(':')
			writeJSONString(&b, metadata[key])
		}
		b.WriteString("},")
	}
	seen := make(map[string]bool, len(params))
	var offset uint64
	for i, p := range params {
		switch {
		case p.name == safetensorsMetadataKey:
			errs = append(errs, fmt.Errorf("%s: a tensor cannot have the name of the metadata", p.name))
		case !utf8.ValidString(p.name):
			errs = append(errs, fmt.Errorf("%q: the name is not valid UTF-8", p.name))
		case seen[p.name]:
			errs = append(errs, fmt.Errorf("%s: two params have this name", p.name))
		}
		seen[p.name] = true
		if n, ok := elements(p.shape); !ok || n != uint64(p.n) {
			errs = append(errs, fmt.Errorf("%s: the value has %d elements, not the number its shape %v holds", p.name, p.n, p.shape))
		}
		if len(p.shape) > maxSafetensorsRank {
			errs = append(errs, fmt.Errorf("%s: shape has %d dimensions, more than the %d a file may have", p.name, len(p.shape), maxSafetensorsRank))
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, p.name)
		b.WriteString(`:{"dtype":"` + p.dtype + `","shape":[`)
		for j, d := range p.shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + uint64(p.n)*safetensorsElementSize[p.dtype]
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	if len(metadata) > 0 && len(params) == 0 {
		b.Truncate(b.Len() - 1) // the comma after the metadata
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len()-8 > maxSafetensorsHeader {
		errs = append(errs, fmt.Errorf("the header would take %d bytes, over the format's limit of %d", b.Len()-8, maxSafetensorsHeader))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	header := b.Bytes()
	binary.LittleEndian.PutUint64(header, uint64(len(header)-8))
	return header, nil
}

// writeSafetensors writes the header and then every value, in chunks: few
// calls to the writer (a file needs no bufio), and no copy of the whole.
func writeSafetensors(w io.Writer, header []byte, params []modelTensor) error {
	if _, err := w.Write(header); err != nil {
		return err
	}
	const block = 1 << 11 // elements per put: at most 16 KiB
	chunk := make([]byte, 0, 1<<14)
	for _, p := range params {
		for from := 0; from < p.n; from += block {
			if len(chunk) > 0 && len(chunk)+8*block > cap(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
			chunk = p.put(chunk, from, min(from+block, p.n))
		}
	}
	_, err := w.Write(chunk)
	return err
}

// writeJSONString writes s as a JSON string, leaving <, > and & as they
// are, as the safetensors library (serde_json) does.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string; it ends with a newline
	b.Truncate(b.Len() - 1)
}
