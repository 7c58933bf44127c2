package safetensors

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// hostileHeaders are headers of about size bytes, each built to make a
// reader allocate far more than the file: what a reader keeps per
// dimension, per number, per tensor, per metadata key, per escape, per
// nesting level.
func hostileHeaders(size int) []struct{ name, header string } {
	// fill repeats entry(i) between start and end up to size bytes.
	fill := func(start string, entry func(i int) string, end string) string {
		var b strings.Builder
		b.Grow(size + 200)
		b.WriteString(start)
		for i := 0; b.Len() < size; i++ {
			b.WriteString(entry(i))
		}
		b.WriteString(end)
		return b.String()
	}
	key := func(i int) string { return `"` + strconv.FormatInt(int64(i), 36) + `"` }
	rank64 := "[" + strings.Repeat("0,", 63) + "0]"
	tail := `"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	return []struct{ name, header string }{
		{"long shape", fill(`{"a":{"dtype":"F32","shape":[`, func(int) string { return "1," }, `1],"data_offsets":[0,4]}}`)},
		{"long offsets", fill(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[`, func(int) string { return "0," }, `4]}}`)},
		{"many tensors", fill(`{`, func(i int) string { return key(i) + `:{"dtype":"F32","shape":[0],"data_offsets":[0,0]},` }, tail)},
		{"many shortest tensors", fill(`{`, func(i int) string { return key(i) + `:{"dtype":"","shape":[],"data_offsets":[0,0]},` }, tail)},
		{"many rank-64 tensors", fill(`{`, func(i int) string { return key(i) + `:{"dtype":"F32","shape":` + rank64 + `,"data_offsets":[0,0]},` }, tail)},
		{"many metadata keys", fill(`{"__metadata__":{`, func(i int) string { return key(i) + `:"",` }, `"z":""},`+tail)},
		{"one metadata key, repeated", fill(`{"__metadata__":{`, func(int) string { return `"k":"",` }, `"z":""},`+tail)},
		{"many members, none a tensor", fill(`{`, func(i int) string { return key(i) + `:1,` }, tail)},
		{"many empty objects", fill(`{`, func(i int) string { return key(i) + `:{},` }, tail)},
		{"many metadata members, none a string", fill(`{"__metadata__":{`, func(i int) string { return key(i) + `:1,` }, `"z":1},`+tail)},
		{"a name of escapes", fill(`{"`, func(int) string { return `\u0041` }, `":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)},
		{"a long name", fill(`{"`, func(int) string { return "n" }, `":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)},
		{"a long string in a shape", fill(`{"a":{"dtype":"F32","shape":["`, func(int) string { return "s" }, `"],"data_offsets":[0,4]}}`)},
		{"deep nesting", fill(`{"a":{"dtype":"F32","shape":`, func(int) string { return "[" }, "")},
	}
}

// allocated is how many bytes f allocates, freed or not: an upper bound on
// what it holds at any one time.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileMB is the size of the hostile files: the bound is a multiple of
// it, so a small file tests it as well as the 24 MB that took the old
// reader 2 GB (-args -safetensors.hostile-mb=24), and faster.
var hostileMB = flag.Int("safetensors.hostile-mb", 4, "size of the hostile safetensors files, in MiB")

// A hostile file costs the reader a small multiple of its size, and is
// refused without changing the model.
func TestSafetensorsHostileMemory(t *testing.T) {
	size := *hostileMB << 20
	// The bound is on all the reader allocates, garbage included: the
	// file Load reads, the header, what it keeps of each entry
	// and the error that lists the first problems.
	const factor = 6
	path := filepath.Join(t.TempDir(), "hostile.safetensors")
	for _, c := range hostileHeaders(size) {
		file := stFile(c.header, 0, 0, 0, 0)
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, read := range []struct {
			name string
			read func([]nnrt.Param[float32]) error
		}{
			{"Read", func(params []nnrt.Param[float32]) error { return Read(file, params) }},
			{"Load", func(params []nnrt.Param[float32]) error { return Load(path, params) }},
		} {
			params := model()
			var err error
			bytes := allocated(func() { err = read.read(params) })
			if err == nil {
				t.Errorf("%s, %s: no error", c.name, read.name)
			}
			if limit := uint64(factor * len(file)); bytes > limit {
				t.Errorf("%s, %s: allocated %d bytes for a file of %d, over %d", c.name, read.name, bytes, len(file), limit)
			}
			checkUntouched(t, c.name, params)
			if testing.Verbose() {
				t.Logf("%-36s %s: %6.1f MB (%.2f× the file)", c.name, read.name, float64(bytes)/1e6, float64(bytes)/float64(len(file)))
			}
		}
	}
}

// A file that does not fit the model is refused once its header is read:
// the data, which may be gigabytes, is neither read nor allocated.
func TestLoadSafetensorsReadsDataLast(t *testing.T) {
	params := model()
	var good bytes.Buffer
	if err := Write(&good, params, nil); err != nil {
		t.Fatal(err)
	}
	headerEnd := 8 + int(binary.LittleEndian.Uint64(good.Bytes()))
	other := model()[:2]
	r := &countingReader{data: good.Bytes()}
	errs := loadSafetensors(r, int64(good.Len()), paramEntries(other))
	if len(errs) != 1 || errs[0].Error() != "unexpected tensor layer2.weight" {
		t.Errorf("errors %v, want one unexpected tensor", errs)
	}
	if r.read != headerEnd {
		t.Errorf("read %d bytes, want the %d of the header", r.read, headerEnd)
	}

	// A file that changes size while it is read.
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"shrank", good.Bytes()[:good.Len()-1], "the file shrank while it was read"},
		{"shrank to nothing", nil, "the file shrank while it was read"},
		{"grew", append(slices.Clone(good.Bytes()), 0), "the file grew while it was read"},
	} {
		params := model()
		errs := loadSafetensors(&countingReader{data: c.data}, int64(good.Len()), paramEntries(params))
		if len(errs) != 1 || errs[0].Error() != c.want {
			t.Errorf("%s: errors %v, want %q", c.name, errs, c.want)
		}
		checkUntouched(t, c.name, params)
	}
}

// countingReader reads data and counts the bytes read.
type countingReader struct {
	data []byte
	read int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read == len(r.data) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.read:])
	r.read += n
	return n, nil
}

// Anything but a regular file is refused by name before it is read:
// /dev/zero would stream forever, and a directory has nothing to read.
func TestSafetensorsNotRegular(t *testing.T) {
	dir := t.TempDir()
	paths := map[string]string{dir: "a directory"}
	if _, err := os.Stat("/dev/zero"); err == nil {
		paths["/dev/zero"] = "a character device"
	}
	for path, what := range paths {
		params := model()
		err := Load(path, params)
		if want := path + " is " + what + ", not a regular file"; err == nil || err.Error() != want {
			t.Errorf("loading %s: %v, want %s", path, err, want)
		}
		checkUntouched(t, path, params)
	}
}

// A file wrong in every one of many tensors gets the first problems and
// their number, not an error as large as the file.
func TestSafetensorsProblemsCapped(t *testing.T) {
	var params []nnrt.Param[float32]
	for i := range maxSafetensorsProblems + 50 {
		params = append(params, nnrt.Param[float32]{Name: "t" + strconv.Itoa(1000+i), Shape: []int{1}, Value: []float32{1}})
	}
	var buf bytes.Buffer
	if err := Write(&buf, params, nil); err != nil {
		t.Fatal(err)
	}
	err := Read[float32](buf.Bytes(), nil)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"unexpected tensor t1000", "unexpected tensor t1099", "and 50 more problems"}
	if len(lines) != maxSafetensorsProblems+1 || lines[0] != want[0] || lines[maxSafetensorsProblems-1] != want[1] || lines[maxSafetensorsProblems] != want[2] {
		t.Errorf("%d lines, %q ... %q, want %d lines, %q", len(lines), lines[0], lines[len(lines)-2:], maxSafetensorsProblems+1, want)
	}
}
