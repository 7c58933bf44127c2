package runtime

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Safetensors (https://github.com/huggingface/safetensors) is the tensor
// file format PyTorch users exchange state_dicts in:
//
//	8 bytes  N, the header's length, little-endian
//	N bytes  a JSON object: "name": {"dtype": "F32", "shape": [5, 4],
//	         "data_offsets": [begin, end]} for each tensor, and an optional
//	         "__metadata__": {"key": "value"}; spaces may pad it
//	the rest the data: each tensor's elements in row-major order,
//	         little-endian, at [begin, end) counted from the first byte
//	         after the header
//
// The reader trusts nothing in the file: every length and offset is checked
// against the file before it is used, so a hostile file gets an error,
// never a panic, and never makes the reader allocate more than the file's
// own size.

// maxSafetensorsHeader is the safetensors library's own limit on N.
const maxSafetensorsHeader = 100_000_000

// safetensorsMetadataKey names the header's entry that is not a tensor.
const safetensorsMetadataKey = "__metadata__"

// safetensorsElementSize is the size in bytes of one element of each
// dtype the format defines, so that a file's layout is checked in full
// even where it holds tensors nngen cannot load.
var safetensorsElementSize = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8, "C64": 8,
}

// safetensorsTensor is one tensor entry of a header, checked to be well
// formed JSON of the right types; its offsets are relative to the data.
type safetensorsTensor struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// safetensorsFile is a parsed file: its tensors in header order, its
// metadata (nil when it has none) and the data the offsets index.
type safetensorsFile struct {
	tensors  []safetensorsTensor
	metadata map[string]string
	data     []byte
}

// SaveSafetensors writes params' values (Param.Value, named by Param.Name
// with Param.Shape) to path as safetensors, with dtype F32 for float32
// models and F64 for float64, plus the given metadata (may be nil). Tensors
// are written in the order given. The file is written to a temporary file
// in the same directory, synced, and renamed over path, so a crash never
// leaves a half-written checkpoint.
func SaveSafetensors[T Float](path string, params []Param[T], metadata map[string]string) (err error) {
	// Check everything before creating a file, so that bad params leave
	// nothing behind.
	header, err := safetensorsHeader(params, metadata)
	if err != nil {
		return err
	}
	// An existing checkpoint keeps its permissions; a new one gets the
	// usual 0644 rather than CreateTemp's 0600.
	mode := fs.FileMode(0o644)
	if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
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

// WriteSafetensors is SaveSafetensors to a writer (no atomicity).
func WriteSafetensors[T Float](w io.Writer, params []Param[T], metadata map[string]string) error {
	header, err := safetensorsHeader(params, metadata)
	if err != nil {
		return err
	}
	return writeSafetensors(w, header, params)
}

// LoadSafetensors reads path and sets every param's Value from the tensor
// of the same name.
//
// F32, F64, F16 and BF16 tensors load into float32 and float64 models alike,
// each element converted exactly where the model's type can hold it and
// rounded to nearest otherwise. Every mismatch between the file and params
// is reported, each naming its tensor and the path; on any error no param
// is modified.
func LoadSafetensors[T Float](path string, params []Param[T]) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	errs := readSafetensors(data, params)
	for i, err := range errs {
		errs[i] = fmt.Errorf("%s: %w", path, err)
	}
	return errors.Join(errs...)
}

// ReadSafetensors is LoadSafetensors from bytes already in memory.
func ReadSafetensors[T Float](data []byte, params []Param[T]) error {
	return errors.Join(readSafetensors(data, params)...)
}

// readSafetensors checks the whole file and its match with params, and
// only then copies, so that an error leaves every param as it was.
func readSafetensors[T Float](data []byte, params []Param[T]) []error {
	file, errs := parseSafetensors(data)
	if file == nil {
		return errs
	}
	inFile := make(map[string]*safetensorsTensor, len(file.tensors))
	for i := range file.tensors {
		inFile[file.tensors[i].name] = &file.tensors[i]
	}
	inModel := make(map[string]bool, len(params))
	for _, p := range params {
		if inModel[p.Name] {
			errs = append(errs, fmt.Errorf("%s: the model lists this parameter twice", p.Name))
			continue
		}
		inModel[p.Name] = true
		if n, ok := elements(p.Shape); !ok || n != uint64(len(p.Value)) {
			errs = append(errs, fmt.Errorf("%s: the model's value has %d elements, not the number its shape %v holds", p.Name, len(p.Value), p.Shape))
			continue
		}
		t := inFile[p.Name]
		if t == nil {
			errs = append(errs, fmt.Errorf("missing tensor %s", p.Name))
			continue
		}
		if decodeSafetensors[T](t.dtype) == nil {
			errs = append(errs, fmt.Errorf("%s: dtype %s is not a floating-point type nngen can load", p.Name, t.dtype))
		}
		if !slices.Equal(t.shape, p.Shape) {
			errs = append(errs, fmt.Errorf("%s: shape %v in the file, the model has %v", p.Name, t.shape, p.Shape))
		}
	}
	for _, t := range file.tensors {
		if !inModel[t.name] {
			errs = append(errs, fmt.Errorf("unexpected tensor %s", t.name))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, p := range params {
		t := inFile[p.Name]
		decodeSafetensors[T](t.dtype)(p.Value, file.data[t.begin:t.end])
	}
	return nil
}

// decodeSafetensors returns the function that converts a dtype's
// little-endian elements into a model's values, or nil for a dtype nngen
// does not load. Each conversion is exact into float64; into float32 it
// rounds F64 to nearest, and keeps an F32 element's bits, NaN payloads
// included.
func decodeSafetensors[T Float](dtype string) func(dst []T, src []byte) {
	switch dtype {
	case "F32":
		return func(dst []T, src []byte) {
			for i := range dst {
				dst[i] = T(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
			}
		}
	case "F64":
		return func(dst []T, src []byte) {
			for i := range dst {
				dst[i] = T(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			}
		}
	case "F16":
		return func(dst []T, src []byte) {
			for i := range dst {
				dst[i] = T(float16(binary.LittleEndian.Uint16(src[2*i:])))
			}
		}
	case "BF16":
		return func(dst []T, src []byte) {
			for i := range dst {
				dst[i] = T(bfloat16(binary.LittleEndian.Uint16(src[2*i:])))
			}
		}
	}
	return nil
}

// bfloat16 is the value of a bfloat16: the top half of a float32.
func bfloat16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// float16 is the value of an IEEE 754 half (1 sign, 5 exponent and 10
// fraction bits, bias 15), which a float32 holds exactly.
func float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exponent := uint32(h>>10) & 0x1f
	fraction := uint32(h) & 0x3ff
	switch {
	case exponent == 0x1f: // infinities, and NaNs with their payload
		return math.Float32frombits(sign | 0x7f800000 | fraction<<13)
	case exponent != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exponent+127-15)<<23 | fraction<<13)
	}
	// Zero or subnormal: fraction·2⁻²⁴, a normal float32 unless zero.
	v := float32(fraction) * 0x1p-24
	if sign != 0 {
		v = -v
	}
	return v
}

// safetensorsHeader checks params and metadata and returns the header
// that writes them: the length, the JSON and the padding that starts the
// data at a multiple of 8 bytes, as the safetensors library does, so that
// readers can map the file and use the data in place.
func safetensorsHeader[T Float](params []Param[T], metadata map[string]string) ([]byte, error) {
	dtype, size := "F32", uint64(4)
	if reflect.TypeFor[T]().Kind() == reflect.Float64 {
		dtype, size = "F64", 8
	}
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
		case p.Name == safetensorsMetadataKey:
			errs = append(errs, fmt.Errorf("%s: a tensor cannot have the name of the metadata", p.Name))
		case !utf8.ValidString(p.Name):
			errs = append(errs, fmt.Errorf("%q: the name is not valid UTF-8", p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("%s: two params have this name", p.Name))
		}
		seen[p.Name] = true
		if n, ok := elements(p.Shape); !ok || n != uint64(len(p.Value)) {
			errs = append(errs, fmt.Errorf("%s: the value has %d elements, not the number its shape %v holds", p.Name, len(p.Value), p.Shape))
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, p.Name)
		b.WriteString(`:{"dtype":"` + dtype + `","shape":[`)
		for j, d := range p.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := offset + uint64(len(p.Value))*size
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
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	header := b.Bytes()
	binary.LittleEndian.PutUint64(header, uint64(len(header)-8))
	return header, nil
}

// writeSafetensors writes the header and then every value, in chunks: few
// calls to the writer (a file needs no bufio), and no copy of the whole.
func writeSafetensors[T Float](w io.Writer, header []byte, params []Param[T]) error {
	if _, err := w.Write(header); err != nil {
		return err
	}
	is64 := reflect.TypeFor[T]().Kind() == reflect.Float64
	chunk := make([]byte, 0, 1<<14)
	for _, p := range params {
		for _, v := range p.Value {
			if is64 {
				chunk = binary.LittleEndian.AppendUint64(chunk, math.Float64bits(float64(v)))
			} else {
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(float32(v)))
			}
			if len(chunk) == cap(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
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

// elements is the number of elements of shape, false when a dimension is
// negative or the product overflows.
func elements(shape []int) (uint64, bool) {
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// parseSafetensors checks a file's structure: the header's length and
// JSON, each entry's fields and types, and the data's layout (every byte
// used by exactly one tensor, each tensor's size that of its dtype and
// shape). A nil file means the header could not be read; otherwise errs
// lists every problem with individual tensors.
func parseSafetensors(data []byte) (file *safetensorsFile, errs []error) {
	if len(data) < 8 {
		return nil, []error{fmt.Errorf("file of %d bytes is too short for safetensors, which starts with an 8-byte header length", len(data))}
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxSafetensorsHeader {
		return nil, []error{fmt.Errorf("header length %d is over the limit of %d bytes", n, maxSafetensorsHeader)}
	}
	if n > uint64(len(data)-8) {
		return nil, []error{fmt.Errorf("header length %d runs past the end of the file (%d bytes)", n, len(data))}
	}
	tensors, metadata, err := parseSafetensorsHeader(data[8 : 8+n])
	if err != nil {
		return nil, []error{err}
	}
	file = &safetensorsFile{tensors: tensors, metadata: metadata, data: data[8+n:]}
	return file, file.checkLayout()
}

// checkLayout checks each tensor's offsets and size, then that the
// tensors tile the data exactly: no overlaps, no gaps, nothing after the
// last, as the format requires.
func (file *safetensorsFile) checkLayout() []error {
	var errs []error
	size := uint64(len(file.data))
	for _, t := range file.tensors {
		switch {
		case t.begin > t.end:
			errs = append(errs, fmt.Errorf("%s: data_offsets [%d, %d] are reversed", t.name, t.begin, t.end))
			continue
		case t.end > size:
			errs = append(errs, fmt.Errorf("%s: data_offsets [%d, %d] run past the end of the data (%d bytes)", t.name, t.begin, t.end, size))
			continue
		}
		elementSize, known := safetensorsElementSize[t.dtype]
		if !known {
			continue // its dtype is reported when it is loaded
		}
		n, ok := elements(t.shape)
		hi, want := bits.Mul64(n, elementSize)
		if !ok || hi != 0 {
			errs = append(errs, fmt.Errorf("%s: shape %v holds more elements than any file can", t.name, t.shape))
		} else if t.end-t.begin != want {
			errs = append(errs, fmt.Errorf("%s: data_offsets [%d, %d] hold %d bytes, but %s %v takes %d", t.name, t.begin, t.end, t.end-t.begin, t.dtype, t.shape, want))
		}
	}
	if len(errs) > 0 {
		return errs // a layout check would only repeat them
	}
	byOffset := make([]*safetensorsTensor, len(file.tensors))
	for i := range file.tensors {
		byOffset[i] = &file.tensors[i]
	}
	slices.SortFunc(byOffset, func(a, b *safetensorsTensor) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	var used uint64 // every byte before used belongs to a tensor
	var last *safetensorsTensor
	for _, t := range byOffset {
		switch {
		case t.begin < used:
			errs = append(errs, fmt.Errorf("%s and %s overlap in the data", last.name, t.name))
		case t.begin > used:
			errs = append(errs, fmt.Errorf("bytes %d to %d of the data belong to no tensor", used, t.begin))
		}
		if t.end > used {
			used, last = t.end, t
		}
	}
	if used < size {
		errs = append(errs, fmt.Errorf("bytes %d to %d of the data belong to no tensor", used, size))
	}
	return errs
}

// parseSafetensorsHeader reads the header's JSON token by token, which
// rejects duplicate keys (encoding/json would keep the last silently) and
// never builds values the format does not allow.
func parseSafetensorsHeader(text []byte) ([]safetensorsTensor, map[string]string, error) {
	if !utf8.Valid(text) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	p := &headerParser{dec: json.NewDecoder(bytes.NewReader(text))}
	p.dec.UseNumber()
	if err := p.delim('{', "header is not a JSON object"); err != nil {
		return nil, nil, err
	}
	var tensors []safetensorsTensor
	var metadata map[string]string
	seen := make(map[string]bool)
	for p.dec.More() {
		name, err := p.key()
		if err != nil {
			return nil, nil, err
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("header: duplicate key %q", name)
		}
		seen[name] = true
		if name == safetensorsMetadataKey {
			metadata, err = p.metadata()
		} else {
			var t safetensorsTensor
			t, err = p.tensor(name)
			tensors = append(tensors, t)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if err := p.delim('}', "header: expected '}'"); err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, nil, errors.New("header: more after the JSON object than padding")
	}
	return tensors, metadata, nil
}

// headerParser walks a header's JSON tokens.
type headerParser struct{ dec *json.Decoder }

// token is the next token, with syntax errors reported as the header's.
func (p *headerParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == io.EOF {
		return nil, errors.New("header: the JSON ends early")
	}
	if err != nil {
		return nil, fmt.Errorf("header is not valid JSON: %v", err)
	}
	return tok, nil
}

// delim reads the delimiter want, or fails with message.
func (p *headerParser) delim(want json.Delim, message string) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if tok != want {
		return errors.New(message)
	}
	return nil
}

// key reads an object's key; the decoder has checked that it is a string.
func (p *headerParser) key() (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	key, _ := tok.(string)
	return key, nil
}

// metadata reads __metadata__: an object of strings, or null as the
// safetensors library allows.
func (p *headerParser) metadata() (map[string]string, error) {
	tok, err := p.token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errors.New("__metadata__ is not a JSON object")
	}
	metadata := make(map[string]string)
	for p.dec.More() {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if _, dup := metadata[key]; dup {
			return nil, fmt.Errorf("__metadata__: duplicate key %q", key)
		}
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		value, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("__metadata__: the value of %q is not a string", key)
		}
		metadata[key] = value
	}
	return metadata, p.delim('}', "__metadata__: expected '}'")
}

// tensor reads one tensor's entry: exactly dtype, shape and data_offsets.
func (p *headerParser) tensor(name string) (safetensorsTensor, error) {
	t := safetensorsTensor{name: name}
	if err := p.delim('{', name+": the entry is not a JSON object"); err != nil {
		return t, err
	}
	seen := make(map[string]bool, 3)
	for p.dec.More() {
		field, err := p.key()
		if err != nil {
			return t, err
		}
		if seen[field] {
			return t, fmt.Errorf("%s: duplicate field %q", name, field)
		}
		seen[field] = true
		switch field {
		case "dtype":
			tok, err := p.token()
			if err != nil {
				return t, err
			}
			var ok bool
			if t.dtype, ok = tok.(string); !ok {
				return t, fmt.Errorf("%s: dtype is not a string", name)
			}
		case "shape":
			dims, err := p.naturals(name, field)
			if err != nil {
				return t, err
			}
			t.shape = make([]int, len(dims))
			for i, d := range dims {
				if d > math.MaxInt {
					return t, fmt.Errorf("%s: shape dimension %d is too large", name, d)
				}
				t.shape[i] = int(d)
			}
		case "data_offsets":
			offsets, err := p.naturals(name, field)
			if err != nil {
				return t, err
			}
			if len(offsets) != 2 {
				return t, fmt.Errorf("%s: data_offsets has %d numbers, not 2", name, len(offsets))
			}
			t.begin, t.end = offsets[0], offsets[1]
		default:
			return t, fmt.Errorf("%s: unknown field %q", name, field)
		}
	}
	for _, field := range []string{"dtype", "shape", "data_offsets"} {
		if !seen[field] {
			return t, fmt.Errorf("%s: missing field %q", name, field)
		}
	}
	return t, p.delim('}', name+": expected '}'")
}

// naturals reads an array of non-negative integers that fit in 64 bits.
func (p *headerParser) naturals(name, field string) ([]uint64, error) {
	if err := p.delim('[', fmt.Sprintf("%s: %s is not an array", name, field)); err != nil {
		return nil, err
	}
	var list []uint64
	for p.dec.More() {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		number, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: %s holds %v, not a number", name, field, tok)
		}
		n, err := strconv.ParseUint(string(number), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s holds %s, not a non-negative integer", name, field, number)
		}
		list = append(list, n)
	}
	return list, p.delim(']', fmt.Sprintf("%s: %s: expected ']'", name, field))
}
