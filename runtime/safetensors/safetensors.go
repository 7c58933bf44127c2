package safetensors

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/nngen/nngen/runtime/nnrt"
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
// never a panic. Nor can it make the reader allocate much: the header
// costs a small multiple of its own length (see safetensors_header.go),
// and Load reads the data only once the header has been checked
// against the model, so it reads at most 8 bytes per value of the model.

// maxSafetensorsHeader is the safetensors library's own limit on N.
const maxSafetensorsHeader = 100_000_000

// safetensorsMetadataKey names the header's entry that is not a tensor.
const safetensorsMetadataKey = "__metadata__"

// maxSafetensorsProblems is how many problems a failed read lists before
// it only counts the rest: a file wrong in each of a million tensors
// would otherwise get an error larger than itself.
const maxSafetensorsProblems = 100

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

// safetensorsFile is a parsed header: its tensors in header order and by
// name, its metadata sorted by key (nil when it has none), and the size of
// the data that follows it.
type safetensorsFile struct {
	tensors  []safetensorsTensor
	index    map[string]int
	metadata [][2]string
	size     uint64
}

// Load reads path and sets every param's Value from the tensor
// of the same name.
//
// F32, F64, F16 and BF16 tensors load into float32 and float64 models alike,
// each element converted exactly where the model's type can hold it and
// rounded to nearest otherwise. Every mismatch between the file and params
// is reported (the first hundred, then their number), each naming its
// tensor and the path; on any error no param is modified. path must be a
// regular file: a device or a pipe is refused before anything is read.
func Load[T nnrt.Float](path string, params []nnrt.Param[T]) error {
	return load(path, paramEntries(params))
}

func load(path string, modelTensors []modelTensor) error {
	f, size, err := openRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	errs := loadSafetensors(f, size, modelTensors)
	for i, err := range errs {
		errs[i] = fmt.Errorf("%s: %w", path, err)
	}
	return errors.Join(errs...)
}

// Read is Load from bytes already in memory.
func Read[T nnrt.Float](data []byte, params []nnrt.Param[T]) error {
	return errors.Join(read(data, paramEntries(params))...)
}

// readSafetensors checks the whole file and its match with params, and
// only then copies, so that an error leaves every param as it was.
func read(data []byte, modelTensors []modelTensor) []error {
	var ps problems
	file := parseSafetensors(data, &ps)
	if file != nil {
		checkParams(file, modelTensors, &ps)
	}
	if ps.count() == 0 {
		checkAliases(file, data[uint64(len(data))-file.size:], modelTensors, &ps)
	}
	if ps.count() > 0 {
		return ps.list()
	}
	setParams(file, data[uint64(len(data))-file.size:], modelTensors)
	return nil
}

// loadSafetensors is readSafetensors from a file of size bytes, read in
// two steps: the header, checked in full against params, then the data.
func loadSafetensors(f io.Reader, size int64, params []modelTensor) []error {
	var prefix [8]byte
	if size >= 8 {
		if err := readFull(f, prefix[:]); err != nil {
			return []error{err}
		}
	}
	n, err := headerLength(prefix[:], uint64(size))
	if err != nil {
		return []error{err}
	}
	header := make([]byte, n)
	if err := readFull(f, header); err != nil {
		return []error{err}
	}
	var ps problems
	file := checkHeader(header, uint64(size)-8-n, &ps)
	if file != nil {
		checkParams(file, params, &ps)
	}
	if ps.count() > 0 {
		return ps.list()
	}
	if file.size > math.MaxInt {
		return []error{fmt.Errorf("%d bytes of data are more than this machine can hold", file.size)}
	}
	data := make([]byte, file.size)
	if err := readFull(f, data); err != nil {
		return []error{err}
	}
	var probe [1]byte
	if n, _ := f.Read(probe[:]); n > 0 {
		return []error{errors.New("the file grew while it was read")}
	}
	if checkAliases(file, data, params, &ps); ps.count() > 0 {
		return ps.list()
	}
	setParams(file, data, params)
	return nil
}

// openRegular opens path, refusing anything but a regular file: a device
// such as /dev/zero, a named pipe or a socket can stream without end. The
// size is the open file's.
func openRegular(path string) (*os.File, int64, error) {
	// Stat before opening: opening a named pipe waits for a writer.
	info, err := os.Stat(path)
	if err == nil {
		err = regular(path, info)
	}
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	// What was opened, should path have been replaced since.
	if info, err = f.Stat(); err == nil {
		err = regular(path, info)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

// regular is nil for a regular file, else an error that names the file
// and says what it is.
func regular(path string, info fs.FileInfo) error {
	mode := info.Mode()
	what := fmt.Sprintf("of type %v", mode.Type())
	switch {
	case mode.IsRegular():
		return nil
	case mode.IsDir():
		what = "a directory"
	case mode&fs.ModeCharDevice != 0:
		what = "a character device"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%s is %s, not a regular file", path, what)
}

// readFull fills buf from f, which was found to hold enough bytes.
func readFull(f io.Reader, buf []byte) error {
	_, err := io.ReadFull(f, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("the file shrank while it was read")
	}
	return err
}

// headerLength is N, read from a file's first 8 bytes and checked against
// the file's size.
func headerLength(prefix []byte, size uint64) (uint64, error) {
	if size < 8 {
		return 0, fmt.Errorf("file of %d bytes is too short for safetensors, which starts with an 8-byte header length", size)
	}
	n := binary.LittleEndian.Uint64(prefix)
	if n > maxSafetensorsHeader {
		return 0, fmt.Errorf("header length %d is over the limit of %d bytes", n, maxSafetensorsHeader)
	}
	if n > size-8 {
		return 0, fmt.Errorf("header length %d runs past the end of the file (%d bytes)", n, size)
	}
	return n, nil
}

// parseSafetensors checks the structure of a file in memory: the header's
// length and JSON, each entry's fields and types, and the data's layout,
// adding each problem to ps. A nil file means the header could not be read.
func parseSafetensors(data []byte, ps *problems) *safetensorsFile {
	n, err := headerLength(data, uint64(len(data)))
	if err != nil {
		ps.add(err)
		return nil
	}
	return checkHeader(data[8:8+n], uint64(len(data))-8-n, ps)
}

// checkHeader parses a header followed by size bytes of data and checks
// the data's layout, adding each problem to ps; nil if it cannot be read.
func checkHeader(header []byte, size uint64, ps *problems) *safetensorsFile {
	file, err := parseSafetensorsHeader(header)
	if err != nil {
		ps.add(err)
		return nil
	}
	file.size = size
	file.checkLayout(ps)
	return file
}

// checkParams adds to ps every mismatch between a file, whose layout is
// checked, and params.
func checkParams(file *safetensorsFile, params []modelTensor, ps *problems) {
	inModel := make(map[string]bool, len(params))
	for _, p := range params {
		if inModel[p.name] {
			ps.add(fmt.Errorf("%s: the model lists this parameter twice", p.name))
			continue
		}
		inModel[p.name] = true
		if n, ok := elements(p.shape); !ok || n != uint64(p.n) {
			ps.add(fmt.Errorf("%s: the model's value has %d elements, not the number its shape %v holds", p.name, p.n, p.shape))
			continue
		}
		i, ok := file.index[p.name]
		if !ok {
			ps.add(fmt.Errorf("missing tensor %s", p.name))
			continue
		}
		t := &file.tensors[i]
		switch {
		case p.decoder(t.dtype) != nil:
		case p.ints != nil || p.dtype == "I64":
			ps.add(fmt.Errorf("%s: dtype %s in the file, the model holds integers: I64", p.name, brief(t.dtype)))
		default:
			ps.add(fmt.Errorf("%s: dtype %s is not a floating-point type nngen can load", p.name, brief(t.dtype)))
		}
		if !slices.Equal(t.shape, p.shape) {
			ps.add(fmt.Errorf("%s: shape %v in the file, the model has %v", p.name, t.shape, p.shape))
		}
	}
	for _, t := range file.tensors {
		if !inModel[t.name] {
			ps.add(fmt.Errorf("unexpected tensor %s", brief(t.name)))
		}
	}
}

// setParams copies each tensor of data into its param; checkParams has
// found nothing wrong.
func setParams(file *safetensorsFile, data []byte, params []modelTensor) {
	for _, p := range params {
		t := &file.tensors[file.index[p.name]]
		p.decoder(t.dtype)(data[t.begin:t.end])
	}
}

// decodeSafetensors returns the function that converts a dtype's
// little-endian elements into a model's values, or nil for a dtype nngen
// does not load. Each conversion is exact into float64; into float32 it
// rounds F64 to nearest, and keeps an F32 element's bits, NaN payloads
// included.
func decodeSafetensors[T nnrt.Float](dtype string) func(dst []T, src []byte) {
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

// checkLayout checks each tensor's offsets and size, then that the
// tensors tile the data exactly: no overlaps, no gaps, nothing after the
// last, as the format requires.
func (file *safetensorsFile) checkLayout(ps *problems) {
	before := ps.count()
	for _, t := range file.tensors {
		switch {
		case t.begin > t.end:
			ps.add(fmt.Errorf("%s: data_offsets [%d, %d] are reversed", brief(t.name), t.begin, t.end))
			continue
		case t.end > file.size:
			ps.add(fmt.Errorf("%s: data_offsets [%d, %d] run past the end of the data (%d bytes)", brief(t.name), t.begin, t.end, file.size))
			continue
		}
		elementSize, known := safetensorsElementSize[t.dtype]
		if !known {
			continue // its dtype is reported when it is loaded
		}
		n, ok := elements(t.shape)
		hi, want := bits.Mul64(n, elementSize)
		if !ok || hi != 0 {
			ps.add(fmt.Errorf("%s: shape %v holds more elements than any file can", brief(t.name), t.shape))
		} else if t.end-t.begin != want {
			ps.add(fmt.Errorf("%s: data_offsets [%d, %d] hold %d bytes, but %s %v takes %d", brief(t.name), t.begin, t.end, t.end-t.begin, brief(t.dtype), t.shape, want))
		}
	}
	if ps.count() > before {
		return // a layout check would only repeat them
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
			ps.add(fmt.Errorf("%s and %s overlap in the data", brief(last.name), brief(t.name)))
		case t.begin > used:
			ps.add(fmt.Errorf("bytes %d to %d of the data belong to no tensor", used, t.begin))
		}
		if t.end > used {
			used, last = t.end, t
		}
	}
	if used < file.size {
		ps.add(fmt.Errorf("bytes %d to %d of the data belong to no tensor", used, file.size))
	}
}

// brief is text from a file as a message quotes it: whole up to 200
// bytes, else its start and its length, so that a tensor name of
// megabytes does not make each message that names it as long.
func brief[S ~string | ~[]byte](text S) string {
	const most = 200
	if len(text) <= most {
		return string(text)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes)", text[:cut], len(text))
}

// problems gathers a read's errors, the first maxSafetensorsProblems of
// them, and counts the rest.
type problems struct {
	errs []error
	more int
}

func (ps *problems) add(err error) {
	if len(ps.errs) < maxSafetensorsProblems {
		ps.errs = append(ps.errs, err)
	} else {
		ps.more++
	}
}

func (ps *problems) count() int { return len(ps.errs) + ps.more }

// list is the errors, with one line for those only counted.
func (ps *problems) list() []error {
	if ps.more > 0 {
		return append(ps.errs, fmt.Errorf("and %d more problems", ps.more))
	}
	return ps.errs
}
