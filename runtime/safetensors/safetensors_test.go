package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// stFile is a safetensors file with the given header text and data.
func stFile(header string, data ...byte) []byte {
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(file, header...), data...)
}

// The safetensors library's own serialization tests (safetensors/src/tensor.rs,
// test_serialization, test_serialization_forced_alignement and test_empty),
// byte for byte, plus one float64 file written out by hand.
var goldenFiles = []struct {
	name     string
	file     string
	params   []nnrt.Param[float32]
	metadata map[string]string
}{
	{
		name: "attn.0",
		file: "@\x00\x00\x00\x00\x00\x00\x00" +
			`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}` +
			"\x00\x00\x00\x00" + "\x00\x00\x80\x3f" + "\x00\x00\x00\x40" +
			"\x00\x00\x40\x40" + "\x00\x00\x80\x40" + "\x00\x00\xa0\x40",
		params: []nnrt.Param[float32]{{Name: "attn.0", Shape: []int{1, 2, 3}, Value: []float32{0, 1, 2, 3, 4, 5}}},
	},
	{
		name: "padded",
		file: "H\x00\x00\x00\x00\x00\x00\x00" +
			`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}` + "       " +
			"\x00\x00\x00\x00" + "\x00\x00\x80\x3f" + "\x00\x00\x00\x40" +
			"\x00\x00\x40\x40" + "\x00\x00\x80\x40" + "\x00\x00\xa0\x40",
		params: []nnrt.Param[float32]{{Name: "attn0", Shape: []int{1, 1, 2, 3}, Value: []float32{0, 1, 2, 3, 4, 5}}},
	},
	{name: "empty", file: "\x08\x00\x00\x00\x00\x00\x00\x00{}      "},
	{
		name:     "metadata",
		file:     "(\x00\x00\x00\x00\x00\x00\x00" + `{"__metadata__":{"framework":"pt"}}` + "     ",
		metadata: map[string]string{"framework": "pt"},
	},
}

func TestSafetensorsGoldenBytes(t *testing.T) {
	for _, g := range goldenFiles {
		var buf bytes.Buffer
		if err := Write(&buf, g.params, g.metadata); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if got := buf.String(); got != g.file {
			t.Errorf("%s: wrote\n%q\nwant\n%q", g.name, got, g.file)
		}
		loaded := zeroed(g.params)
		if err := Read([]byte(g.file), loaded); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		for i := range loaded {
			if !slices.Equal(loaded[i].Value, g.params[i].Value) {
				t.Errorf("%s: read %v, want %v", g.name, loaded[i].Value, g.params[i].Value)
			}
		}
		file, errs := parse([]byte(g.file))
		if len(errs) > 0 || !maps.Equal(metadataOf(file), g.metadata) {
			t.Errorf("%s: metadata %v %v, want %v", g.name, file.metadata, errs, g.metadata)
		}
	}

	// float64: 56 bytes of header (55 of JSON and a space), then 1 and -2.
	want := "8\x00\x00\x00\x00\x00\x00\x00" +
		`{"b":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}} ` +
		"\x00\x00\x00\x00\x00\x00\xf0\x3f" + "\x00\x00\x00\x00\x00\x00\x00\xc0"
	params := []nnrt.Param[float64]{{Name: "b", Shape: []int{2}, Value: []float64{1, -2}}}
	var buf bytes.Buffer
	if err := Write(&buf, params, nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Errorf("float64: wrote\n%q\nwant\n%q", buf.String(), want)
	}
	loaded := zeroed(params)
	if err := Read([]byte(want), loaded); err != nil || !slices.Equal(loaded[0].Value, []float64{1, -2}) {
		t.Errorf("float64: read %v, %v", loaded[0].Value, err)
	}
}

// parse is parseSafetensors with its problems as a list.
func parse(data []byte) (*safetensorsFile, []error) {
	var ps problems
	file := parseSafetensors(data, &ps)
	return file, ps.list()
}

// metadataOf is a parsed file's metadata as a map.
func metadataOf(file *safetensorsFile) map[string]string {
	metadata := make(map[string]string, len(file.metadata))
	for _, entry := range file.metadata {
		metadata[entry[0]] = entry[1]
	}
	return metadata
}

// checkJSON checks what parseSafetensorsHeader read of a header against
// encoding/json's reading of it: the same tensors, the same metadata.
func checkJSON(t *testing.T, header []byte, file *safetensorsFile) {
	t.Helper()
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		t.Fatalf("read a header that is not JSON (%v): %q", err, header)
	}
	var metadata map[string]string
	if raw, ok := entries[safetensorsMetadataKey]; ok {
		if err := json.Unmarshal(raw, &metadata); err != nil {
			t.Fatalf("__metadata__: %v", err)
		}
		delete(entries, safetensorsMetadataKey)
	}
	if got := metadataOf(file); !maps.Equal(got, metadata) {
		t.Errorf("metadata %q, encoding/json reads %q", got, metadata)
	}
	if len(entries) != len(file.tensors) {
		t.Errorf("%d tensors, encoding/json reads %d", len(file.tensors), len(entries))
	}
	for _, tensor := range file.tensors {
		var want struct {
			Dtype       string
			Shape       []int
			DataOffsets [2]uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(entries[tensor.name], &want); err != nil {
			t.Fatalf("%q: %v", tensor.name, err)
		}
		if tensor.dtype != want.Dtype || !slices.Equal(tensor.shape, want.Shape) || tensor.begin != want.DataOffsets[0] || tensor.end != want.DataOffsets[1] {
			t.Errorf("%q: read %+v, encoding/json reads %+v", tensor.name, tensor, want)
		}
	}
}

// Every way JSON can spell a header reads as encoding/json reads it:
// whitespace anywhere, escapes in keys and strings, surrogate pairs, null
// metadata, the most dimensions a shape may have.
func TestSafetensorsHeaderJSON(t *testing.T) {
	a := `{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`
	for _, header := range []string{
		" \t\r\n{ \"a\" :\t{ \"dtype\" : \"F32\" ,\n\"shape\" : [ 1 ] , \"data_offsets\" :[ 0 , 4 ] } }\n  ",
		`{"d\u0061ta":{"d\u0074ype":"F\u0033\u0032","sh\u0061pe":[1],"data\u005Foffsets":[0,4]}}`,
		`{"\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t \u00e9 é 日本":` + a + `}`,
		`{"__metadata__":null,"a":` + a + `}`,
		`{"a":` + a + `,"\u005f_metadata__":{"k\u00e9y":"v\u00e0lue","":"\"\\","format":"pt"}}`,
		`{"__metadata__":{}}`,
		`{"a":{"dtype":"F32","shape":[` + strings.Repeat("1,", 63) + `1],"data_offsets":[0,4]}}`,
		`{"a":{"data_offsets":[0,0],"shape":[0,3],"dtype":"F32"},"b":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"c":{"dtype":"F64","shape":[0],"data_offsets":[2,2]}}`,
		`{"a":{"dtype":"F32","shape":[9223372036854775807,0],"data_offsets":[18446744073709551615,18446744073709551615]}}`,
	} {
		file, err := parseSafetensorsHeader([]byte(header))
		if err != nil {
			t.Errorf("%s: %v", header, err)
			continue
		}
		checkJSON(t, []byte(header), file)
	}
}

// zeroed is a copy of params with fresh zero values.
func zeroed[T nnrt.Float](params []nnrt.Param[T]) []nnrt.Param[T] {
	out := make([]nnrt.Param[T], len(params))
	for i, p := range params {
		out[i] = nnrt.Param[T]{Name: p.Name, Shape: p.Shape, Value: make([]T, len(p.Value))}
	}
	return out
}

// Values whose bits must survive a round trip: signed zeros, subnormals,
// extremes, infinities and NaNs with sign and payload, quiet and signalling.
var (
	bits32 = []uint32{0, 0x80000000, 0x3f800000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
		0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x7fbfffff, 0x3eaaaaab}
	bits64 = []uint64{0, 0x8000000000000000, 0x3ff0000000000000, 1, 0x800fffffffffffff, 0x0010000000000000,
		0x7fefffffffffffff, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000,
		0xfff8000000000001, 0x7ff0000000000001, 0x7ff7ffffffffffff, 0x3fd5555555555555}
)

func TestSafetensorsRoundTrip(t *testing.T) {
	v32 := make([]float32, len(bits32))
	for i, b := range bits32 {
		v32[i] = math.Float32frombits(b)
	}
	v64 := make([]float64, len(bits64))
	for i, b := range bits64 {
		v64[i] = math.Float64frombits(b)
	}
	metadata := map[string]string{"format": "pt", "epoch": "3", "note": `"quoted" <&> ünïcode`, "": ""}
	roundTrip(t, []nnrt.Param[float32]{
		{Name: "z.last", Shape: []int{2, 7}, Value: v32},
		{Name: "a.first", Shape: []int{}, Value: []float32{-0.5}},
		{Name: "empty", Shape: []int{0, 3}, Value: []float32{}},
	}, metadata, func(v float32) uint64 { return uint64(math.Float32bits(v)) })
	// Large enough to be written in several chunks.
	large := make([]float64, 3*4099)
	for i := range large {
		large[i] = float64(i) - 0.5
	}
	roundTrip(t, []nnrt.Param[float64]{
		{Name: "layer1.weight", Shape: []int{7, 2}, Value: v64},
		{Name: "layer1.bias", Shape: []int{1}, Value: []float64{math.Pi}},
		{Name: "large", Shape: []int{3, 4099}, Value: large},
	}, nil, math.Float64bits)
}

// roundTrip writes params through a file and checks that every value's
// bits, the metadata, the order of the tensors and the data's alignment
// come back.
func roundTrip[T nnrt.Float](t *testing.T, params []nnrt.Param[T], metadata map[string]string, bitsOf func(T) uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := Save(path, params, metadata); err != nil {
		t.Fatal(err)
	}
	loaded := zeroed(params)
	if err := Load(path, loaded); err != nil {
		t.Fatal(err)
	}
	for i, p := range params {
		for j := range p.Value {
			if got, want := bitsOf(loaded[i].Value[j]), bitsOf(p.Value[j]); got != want {
				t.Errorf("%s[%d] = %#x, want %#x", p.Name, j, got, want)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file, errs := parse(data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !maps.Equal(metadataOf(file), metadata) {
		t.Errorf("metadata %q, want %q", file.metadata, metadata)
	}
	var offset uint64
	for i, tensor := range file.tensors {
		if tensor.name != params[i].Name || tensor.begin != offset {
			t.Errorf("tensor %d is %s at %d, want %s at %d", i, tensor.name, tensor.begin, params[i].Name, offset)
		}
		offset = tensor.end
	}
	if start := len(data) - int(file.size); start%8 != 0 {
		t.Errorf("data starts at byte %d, not a multiple of 8", start)
	}
}

func TestSafetensorsAlignment(t *testing.T) {
	for n := range 17 {
		for _, metadata := range []map[string]string{nil, {"k": strings.Repeat("v", n)}} {
			var buf bytes.Buffer
			params := []nnrt.Param[float32]{{Name: strings.Repeat("w", n), Shape: []int{1}, Value: []float32{1}}}
			if err := Write(&buf, params, metadata); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			size := binary.LittleEndian.Uint64(data)
			if (8+size)%8 != 0 || int(8+size) != len(data)-4 {
				t.Fatalf("name of %d bytes: header of %d bytes in a file of %d", n, size, len(data))
			}
			header := strings.TrimRight(string(data[8:8+size]), " ")
			if !strings.HasSuffix(header, "}") || len(header)+7 < int(size) {
				t.Errorf("name of %d bytes: header %q is not JSON padded with at most 7 spaces", n, data[8:8+size])
			}
		}
	}
}

// The reference files: stateShapes are the shapes of make.py's Net.
var stateShapes = map[string][]int{
	"layer1.weight": {5, 4}, "layer1.bias": {5}, "layer2.weight": {3, 5}, "layer2.bias": {3},
	"f16": {15}, "bf16": {15}, "f32": {15}, "f64": {15},
}

// expectedValues is testdata/safetensors/expected.json: for each file, each
// tensor's values as PyTorch converts them to float64.
func expectedValues(t *testing.T) map[string]map[string][]float64 {
	text, err := os.ReadFile("testdata/safetensors/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var hex map[string]map[string][]string
	if err := json.Unmarshal(text, &hex); err != nil {
		t.Fatal(err)
	}
	values := make(map[string]map[string][]float64)
	for file, tensors := range hex {
		values[file] = make(map[string][]float64)
		for name, list := range tensors {
			for _, s := range list {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatal(err)
				}
				values[file][name] = append(values[file][name], v)
			}
		}
	}
	return values
}

// sameFloat is true when a and b have the same bits, or are both NaN.
func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b
}

func TestSafetensorsPyTorchFiles(t *testing.T) {
	expected := expectedValues(t)
	if len(expected) != 6 {
		t.Fatalf("expected.json covers %d floating-point files, want 6", len(expected))
	}
	for file, tensors := range expected {
		path := filepath.Join("testdata/safetensors", file)
		var p64 []nnrt.Param[float64]
		var p32 []nnrt.Param[float32]
		for _, name := range slices.Sorted(maps.Keys(tensors)) {
			n := len(tensors[name])
			p64 = append(p64, nnrt.Param[float64]{Name: name, Shape: stateShapes[name], Value: make([]float64, n)})
			p32 = append(p32, nnrt.Param[float32]{Name: name, Shape: stateShapes[name], Value: make([]float32, n)})
		}
		if err := Load(path, p64); err != nil {
			t.Fatal(err)
		}
		if err := Load(path, p32); err != nil {
			t.Fatal(err)
		}
		for i, p := range p64 {
			want := tensors[p.Name]
			for j := range want {
				if !sameFloat(p.Value[j], want[j]) {
					t.Errorf("%s %s[%d] = %v as float64, want %v", file, p.Name, j, p.Value[j], want[j])
				}
				// float64 → float32 rounds to nearest even, as PyTorch's .float() does.
				if got := p32[i].Value[j]; !sameFloat(float64(got), float64(float32(want[j]))) {
					t.Errorf("%s %s[%d] = %v as float32, want %v", file, p.Name, j, got, float32(want[j]))
				}
			}
		}
	}

	// The half types at their edges, written out: smallest subnormal,
	// largest subnormal, smallest normal, largest finite.
	special := expected["special.safetensors"]
	for _, c := range []struct {
		name string
		want []float64
	}{
		{"f16", []float64{0x1p-24, 0x3ffp-24, 0x1p-14, 65504}},
		{"bf16", []float64{0x1p-133, 0x7fp-133, 0x1p-126, 0xffp120}},
	} {
		if got := special[c.name][8:11:11]; !slices.Equal(append([]float64{special[c.name][6]}, got...), c.want) {
			t.Errorf("%s: %v, want %v", c.name, append([]float64{special[c.name][6]}, got...), c.want)
		}
	}

	file, errs := parse(mustRead(t, "testdata/safetensors/mixed.safetensors"))
	if want := map[string]string{"format": "pt", "source": "make.py"}; len(errs) > 0 || !maps.Equal(metadataOf(file), want) {
		t.Errorf("mixed.safetensors: metadata %v, %v; want %v", file.metadata, errs, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Given the tensors in the order the safetensors library sorts them (by
// dtype, then name), Write writes the library's bytes exactly.
func TestSafetensorsWritesLikePyTorch(t *testing.T) {
	expected := expectedValues(t)
	order := []string{"layer1.bias", "layer1.weight", "layer2.bias", "layer2.weight"}
	check := func(file string, write func(*bytes.Buffer) error) {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		if want := mustRead(t, filepath.Join("testdata/safetensors", file)); !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: wrote\n%q\nwant\n%q", file, buf.Bytes(), want)
		}
	}
	check("f32.safetensors", func(buf *bytes.Buffer) error {
		var params []nnrt.Param[float32]
		for _, name := range order {
			values := expected["f32.safetensors"][name]
			p := nnrt.Param[float32]{Name: name, Shape: stateShapes[name]}
			for _, v := range values {
				p.Value = append(p.Value, float32(v))
			}
			params = append(params, p)
		}
		return Write(buf, params, nil)
	})
	check("f64.safetensors", func(buf *bytes.Buffer) error {
		var params []nnrt.Param[float64]
		for _, name := range order {
			params = append(params, nnrt.Param[float64]{Name: name, Shape: stateShapes[name], Value: expected["f64.safetensors"][name]})
		}
		return Write(buf, params, nil)
	})
}

// Decoding every half and bfloat16 bit pattern agrees with the definition,
// (-1)^s · 2^(e-bias) · (1 + f/2^fractionBits), computed in float64.
func TestHalfDecodingExhaustive(t *testing.T) {
	definition := func(h uint16, fractionBits int) float64 {
		exponentBits := 15 - fractionBits
		bias := 1<<(exponentBits-1) - 1
		e := int(h>>fractionBits) & (1<<exponentBits - 1)
		f := float64(int(h) & (1<<fractionBits - 1))
		var v float64
		switch e {
		case 0:
			v = math.Ldexp(f, 1-bias-fractionBits)
		case 1<<exponentBits - 1:
			v = math.Inf(1)
			if f != 0 {
				v = math.NaN()
			}
		default:
			v = math.Ldexp(1+math.Ldexp(f, -fractionBits), e-bias)
		}
		if h&0x8000 != 0 {
			v = -v
		}
		return v
	}
	for h := range 1 << 16 {
		if got, want := float64(float16(uint16(h))), definition(uint16(h), 10); !sameFloat(got, want) {
			t.Errorf("float16(%#04x) = %v, want %v", h, got, want)
		}
		if got, want := float64(bfloat16(uint16(h))), definition(uint16(h), 7); !sameFloat(got, want) {
			t.Errorf("bfloat16(%#04x) = %v, want %v", h, got, want)
		}
	}
	// NaN payloads and signs carry over into the float32.
	if got := math.Float32bits(float16(0xfe01)); got != 0xffc02000 {
		t.Errorf("float16(0xfe01) has bits %#x, want 0xffc02000", got)
	}
	if got := math.Float32bits(bfloat16(0x7f81)); got != 0x7f810000 {
		t.Errorf("bfloat16(0x7f81) has bits %#x, want 0x7f810000", got)
	}
}

// model is the model the mismatch and hostile tests load into, its values
// set to 42 so that any change shows.
func model() []nnrt.Param[float32] {
	params := []nnrt.Param[float32]{
		{Name: "layer1.weight", Shape: []int{5, 4}, Value: make([]float32, 20)},
		{Name: "layer1.bias", Shape: []int{5}, Value: make([]float32, 5)},
		{Name: "layer2.weight", Shape: []int{3}, Value: make([]float32, 3)},
	}
	for _, p := range params {
		for i := range p.Value {
			p.Value[i] = 42
		}
	}
	return params
}

func checkUntouched(t *testing.T, what string, params []nnrt.Param[float32]) {
	t.Helper()
	for _, p := range params {
		for i, v := range p.Value {
			if v != 42 {
				t.Errorf("%s: %s[%d] was changed to %v", what, p.Name, i, v)
				return
			}
		}
	}
}

func TestSafetensorsMismatch(t *testing.T) {
	// layer1.weight transposed, layer1.bias missing, layer2.weight as
	// integers, and a tensor the model does not have.
	data := stFile(`{"layer1.weight":{"dtype":"F32","shape":[4,5],"data_offsets":[0,80]},`+
		`"fc9.weight":{"dtype":"F16","shape":[2],"data_offsets":[80,84]},`+
		`"layer2.weight":{"dtype":"I64","shape":[3],"data_offsets":[84,108]}}`, make([]byte, 108)...)
	want := []string{
		"layer1.weight: shape [4 5] in the file, the model has [5 4]",
		"missing tensor layer1.bias",
		"layer2.weight: dtype I64 is not a floating-point type nngen can load",
		"unexpected tensor fc9.weight",
	}
	params := model()
	err := Read(data, params)
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Read: %v\nwant\n%s", err, strings.Join(want, "\n"))
	}
	checkUntouched(t, "Read", params)

	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = Load(path, params)
	for i := range want {
		want[i] = path + ": " + want[i]
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Load: %v\nwant\n%s", err, strings.Join(want, "\n"))
	}
	checkUntouched(t, "Load", params)

	// PyTorch's integer and boolean tensors, each refused by name.
	err = Load("testdata/safetensors/int.safetensors", []nnrt.Param[float64]{
		{Name: "layer1.weight", Shape: []int{5, 4}, Value: make([]float64, 20)},
		{Name: "layer1.bias", Shape: []int{5}, Value: make([]float64, 5)},
	})
	want = []string{
		"testdata/safetensors/int.safetensors: layer1.weight: dtype I64 is not a floating-point type nngen can load",
		"testdata/safetensors/int.safetensors: layer1.bias: dtype BOOL is not a floating-point type nngen can load",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("int.safetensors: %v\nwant\n%s", err, strings.Join(want, "\n"))
	}

	// One wrong tensor among right ones still changes nothing.
	var buf bytes.Buffer
	right := model()
	right[2].Shape = []int{1, 3}
	if err := Write(&buf, right, nil); err != nil {
		t.Fatal(err)
	}
	params = model()
	err = Read(buf.Bytes(), params)
	if want := "layer2.weight: shape [1 3] in the file, the model has [3]"; err == nil || err.Error() != want {
		t.Errorf("one wrong shape: %v, want %s", err, want)
	}
	checkUntouched(t, "one wrong shape", params)

	// A model that is itself inconsistent is reported, not indexed past its end.
	bad := model()
	bad[1].Value = bad[1].Value[:4]
	bad = append(bad, bad[0])
	err = Read(buf.Bytes(), bad)
	want = []string{
		"layer1.bias: the model's value has 4 elements, not the number its shape [5] holds",
		"layer1.weight: the model lists this parameter twice",
	}
	for _, line := range want {
		if err == nil || !slices.Contains(strings.Split(err.Error(), "\n"), line) {
			t.Errorf("inconsistent model: %v\nwant a line %s", err, line)
		}
	}
}

// entry is a tensor entry for the hostile cases.
func entry(name, dtype, shape, offsets string) string {
	return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":` + offsets + `}`
}

// validWith is the entries of a valid header for the model, 112 bytes of
// data, with layer2.weight of the given dtype, for the cases to break.
func validWith(dtype string) string {
	return entry("layer1.weight", "F32", "[5,4]", "[0,80]") + "," +
		entry("layer1.bias", "F32", "[5]", "[80,100]") + "," +
		entry("layer2.weight", dtype, "[3]", "[100,112]")
}

var (
	validEntries = validWith("F32")
	validData    = make([]byte, 112)
)

// hostileFiles are malformed or hostile files, each with a part of the
// error it must get.
var hostileFiles = []struct {
	name string
	file []byte
	want string
}{
	{"empty file", nil, "too short"},
	{"7 bytes", []byte{1, 2, 3, 4, 5, 6, 7}, "too short"},
	{"header past the file", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "runs past the end of the file"},
	{"header over 100 MB", append(binary.LittleEndian.AppendUint64(nil, 100_000_001), "{}"...), "over the limit"},
	{"header length 2^64-1", append(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "{}"...), "over the limit"},
	{"header length 2^63", binary.LittleEndian.AppendUint64(nil, 1<<63), "over the limit"},
	{"empty header", stFile(""), "ends early"},
	{"truncated JSON", stFile(`{"layer1.weight":{"dtype":`), "ends early"},
	{"syntax error", stFile(`{"a" 1}`), "not valid JSON"},
	{"array", stFile(`[]`), "not a JSON object"},
	{"string", stFile(`"x"`), "not a JSON object"},
	{"null", stFile(`null`), "not a JSON object"},
	{"invalid UTF-8", stFile("{\"\xff\":{}}"), "not valid UTF-8"},
	{"trailing garbage", stFile(`{} x`), "more after the JSON object"},
	{"two objects", stFile(`{}{}`), "more after the JSON object"},
	{"NUL padding", stFile("{}\x00"), "more after the JSON object"},
	{"entry not an object", stFile(`{"layer1.weight":[1]}`), "layer1.weight: the entry is not a JSON object"},
	{"entry a number", stFile(`{"layer1.weight":1}`), "not a JSON object"},
	{"missing dtype", stFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), `a: missing field "dtype"`},
	{"missing shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 0, 0, 0, 0), `a: missing field "shape"`},
	{"missing offsets", stFile(`{"a":{"dtype":"F32","shape":[1]}}`, 0, 0, 0, 0), `a: missing field "data_offsets"`},
	{"extra field", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}}`, 0, 0, 0, 0), `a: unknown field "offsets"`},
	{"dtype a number", stFile(`{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: dtype is not a string"},
	{"dtype null", stFile(`{"a":{"dtype":null,"shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: dtype is not a string"},
	{"shape a string", stFile(`{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape is not an array"},
	{"shape nested", stFile(`{"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape holds [, not a number"},
	{"shape fraction", stFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,6]}}`, 0, 0, 0, 0, 0, 0), "a: shape holds 1.5, not a non-negative integer"},
	{"shape exponent", stFile(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not a non-negative integer"},
	{"shape negative", stFile(`{"a":{"dtype":"F32","shape":[-5,4],"data_offsets":[0,80]}}`, make([]byte, 80)...), "a: shape holds -5, not a non-negative integer"},
	{"shape over 2^64", stFile(`{"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not a non-negative integer"},
	{"shape over MaxInt", stFile(`{"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "too large"},
	{"shape string element", stFile(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape holds 1, not a number"},
	{"offsets one number", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, 0, 0, 0, 0), "a: data_offsets has 1 numbers, not 2"},
	{"offsets three numbers", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, 0, 0, 0, 0), "data_offsets has 3 numbers"},
	{"offsets an object", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}}`, 0, 0, 0, 0), "a: data_offsets is not an array"},
	{"offsets negative", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, 0, 0, 0, 0), "a: data_offsets holds -4, not a non-negative integer"},
	{"offsets reversed", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, make([]byte, 8)...), "a: data_offsets [8, 4] are reversed"},
	{"offsets past the data", stFile(`{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}`, 0, 0, 0, 0), "a: data_offsets [0, 400] run past the end of the data (4 bytes)"},
	{"offsets at 2^64-1", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}}`, 0, 0, 0, 0), "run past the end of the data"},
	{"offsets overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)...), "a and b overlap in the data"},
	{"offsets the same", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)...), "a and b overlap in the data"},
	{"empty tensor inside another", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, make([]byte, 8)...), "a and b overlap in the data"},
	{"size not dtype × shape", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: data_offsets [0, 4] hold 4 bytes, but F32 [2] takes 8"},
	{"shape product overflows", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`), "a: shape [4294967296 4294967296] holds more elements than any file can"},
	{"shape × size overflows", stFile(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}`), "holds more elements than any file can"},
	{"shape × size wraps to the size", stFile(`{"a":{"dtype":"F64","shape":[2305843009213693953],"data_offsets":[0,8]}}`, make([]byte, 8)...), "holds more elements than any file can"},
	{"gap between tensors", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)...), "bytes 4 to 8 of the data belong to no tensor"},
	{"bytes after the last tensor", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 5)...), "bytes 4 to 5 of the data belong to no tensor"},
	{"data but no tensors", stFile(`{}`, 1), "bytes 0 to 1 of the data belong to no tensor"},
	{"duplicate tensor", stFile(`{`+validEntries+`,`+entry("layer1.bias", "F32", "[5]", "[80,100]")+`}`, validData...), `duplicate key "layer1.bias"`},
	{"duplicate tensor, escaped", stFile(`{`+validEntries+`,"layer1\u002ebias":{}}`, validData...), `duplicate key "layer1.bias"`},
	{"duplicate metadata", stFile(`{"__metadata__":{},`+validEntries+`,"__metadata__":{}}`, validData...), `duplicate key "__metadata__"`},
	{"duplicate field", stFile(`{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), `a: duplicate field "dtype"`},
	{"duplicate metadata key", stFile(`{"__metadata__":{"k":"a","k":"b"},`+validEntries+`}`, validData...), `__metadata__: duplicate key "k"`},
	{"metadata value a number", stFile(`{"__metadata__":{"k":1},`+validEntries+`}`, validData...), `__metadata__: the value of "k" is not a string`},
	{"metadata value null", stFile(`{"__metadata__":{"k":null},`+validEntries+`}`, validData...), `the value of "k" is not a string`},
	{"metadata value an object", stFile(`{"__metadata__":{"k":{"deep":[[[[]]]]}},`+validEntries+`}`, validData...), `the value of "k" is not a string`},
	{"metadata a string", stFile(`{"__metadata__":"k",`+validEntries+`}`, validData...), "__metadata__ is not a JSON object"},
	{"metadata an array", stFile(`{"__metadata__":["k"],`+validEntries+`}`, validData...), "__metadata__ is not a JSON object"},
	{"deep nesting", stFile(`{"a":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`), "a: the entry is not a JSON object"},
	{"shape of 65 dimensions", stFile(`{"a":{"dtype":"F32","shape":[`+strings.Repeat("1,", 64)+`1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape has more than 64 dimensions"},
	{"offsets four numbers", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4,4]}}`, 0, 0, 0, 0), "a: data_offsets has 3 numbers or more, not 2"},
	{"shape holds true", stFile(`{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape holds true, not a number"},
	{"shape holds null", stFile(`{"a":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape holds null, not a number"},
	{"shape holds an object", stFile(`{"a":{"dtype":"F32","shape":[{}],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "a: shape holds {, not a number"},
	{"leading zero", stFile(`{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not valid JSON"},
	{"number without digits", stFile(`{"a":{"dtype":"F32","shape":[-],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not valid JSON"},
	{"fraction without digits", stFile(`{"a":{"dtype":"F32","shape":[1.],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not valid JSON"},
	{"number cut short", stFile(`{"a":{"dtype":"F32","shape":[1e`), "ends early"},
	{"trailing comma in an array", stFile(`{"a":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not valid JSON"},
	{"trailing comma in an object", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}`, 0, 0, 0, 0), "not valid JSON"},
	{"missing comma", stFile(`{"a":{"dtype":"F32" "shape":[1],"data_offsets":[0,4]}}`, 0, 0, 0, 0), "not valid JSON"},
	{"key not a string", stFile(`{a:{}}`), "not valid JSON"},
	{"misspelt literal", stFile(`{"__metadata__":nul}`), "not valid JSON"},
	{"literal cut short", stFile(`{"__metadata__":nu`), "ends early"},
	{"unterminated string", stFile(`{"layer1.weight`), "ends early"},
	{"unterminated escaped string", stFile(`{"layer1\u002eweight`), "ends early"},
	{"control character in a string", stFile("{\"a\nb\":{}}"), "not valid JSON"},
	{"invalid escape", stFile(`{"a\x":{}}`), "invalid escape"},
	{"short \\u escape", stFile(`{"a\u12":{}}`), "invalid escape"},
	{"\\u escape not hex", stFile(`{"a\u12g4":{}}`), "invalid escape"},
	{"lone high surrogate", stFile(`{"a\ud800":{}}`), "lone UTF-16 surrogate"},
	{"lone low surrogate", stFile(`{"a\udc00\ud800":{}}`), "lone UTF-16 surrogate"},
	{"high surrogate, then not a low one", stFile(`{"a\ud800\u0041":{}}`), "lone UTF-16 surrogate"},
	{"a long name, abbreviated", stFile(`{"` + strings.Repeat("n", 1000) + `":1}`), strings.Repeat("n", 200) + "... (1000 bytes): the entry is not a JSON object"},
	{"unknown dtype", stFile(`{`+validWith("F99")+`}`, validData...), "layer2.weight: dtype F99 is not a floating-point type nngen can load"},
	{"sub-byte dtype", stFile(`{`+validWith("F4")+`}`, validData...), "layer2.weight: dtype F4 is not a floating-point type nngen can load"},
}

func TestSafetensorsHostile(t *testing.T) {
	// The valid header the cases break, to show that the model loads.
	if err := Read(stFile(`{`+validEntries+`}`, validData...), model()); err != nil {
		t.Fatalf("the valid file: %v", err)
	}
	for _, c := range hostileFiles {
		params := model()
		err := Read(c.file, params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		checkUntouched(t, c.name, params)
	}
}

func TestWriteSafetensorsRejects(t *testing.T) {
	for _, c := range []struct {
		name   string
		params []nnrt.Param[float32]
		want   string
	}{
		{"twice", []nnrt.Param[float32]{{Name: "a", Shape: []int{1}, Value: []float32{1}}, {Name: "a", Shape: []int{1}, Value: []float32{2}}}, "a: two params have this name"},
		{"metadata", []nnrt.Param[float32]{{Name: "__metadata__", Shape: []int{1}, Value: []float32{1}}}, "cannot have the name of the metadata"},
		{"UTF-8", []nnrt.Param[float32]{{Name: "\xff", Shape: []int{1}, Value: []float32{1}}}, "not valid UTF-8"},
		{"short", []nnrt.Param[float32]{{Name: "a", Shape: []int{2, 2}, Value: []float32{1}}}, "a: the value has 1 elements, not the number its shape [2 2] holds"},
		{"negative", []nnrt.Param[float32]{{Name: "a", Shape: []int{-1, -1}, Value: []float32{1}}}, "shape [-1 -1]"},
		{"65 dimensions", []nnrt.Param[float32]{{Name: "a", Shape: slices.Repeat([]int{1}, 65), Value: []float32{1}}}, "a: shape has 65 dimensions, more than the 64 a file may have"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, c.params, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", c.name, buf.Len())
		}
	}
	var buf bytes.Buffer
	if err := Write[float32](&buf, nil, map[string]string{"k": "\xff"}); err == nil || buf.Len() != 0 {
		t.Errorf("metadata not UTF-8: %v, %d bytes written", err, buf.Len())
	}

	// The writer's errors come back, whether in the header or the data.
	params := []nnrt.Param[float32]{{Name: "w", Shape: []int{8192}, Value: make([]float32, 8192)}}
	for _, limit := range []int{0, 100, 20000, 8*1024*4 + 64} {
		w := &failingWriter{limit: limit}
		if err := Write(w, params, nil); err != errFull {
			t.Errorf("a writer full after %d bytes: error %v, want %v", limit, err, errFull)
		}
	}
}

var errFull = errors.New("disk full")

// failingWriter takes limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errFull
	}
	w.limit -= len(p)
	return len(p), nil
}

// dirNames lists dir, failing the test if it cannot.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveSafetensorsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	params := []nnrt.Param[float64]{{Name: "w", Shape: []int{2}, Value: []float64{1, 2}}}

	// A new file, then one saved over it with its permissions kept.
	if err := Save(path, params, nil); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("new checkpoint: %v, %v; want mode 0644", info.Mode(), err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	params[0].Value[1] = 3
	if err := Save(path, params, map[string]string{"step": "2"}); err != nil {
		t.Fatal(err)
	}
	loaded := zeroed(params)
	if err := Load(path, loaded); err != nil || !slices.Equal(loaded[0].Value, []float64{1, 3}) {
		t.Errorf("after saving over it: %v, %v", loaded[0].Value, err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("saved over: %v, %v; want the old mode 0600", info.Mode(), err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.safetensors"}) {
		t.Errorf("after saving, the directory holds %q", names)
	}

	// Failures leave the directory as it was: params that cannot be
	// written, a path that is a directory, a missing directory.
	before := mustRead(t, path)
	bad := []nnrt.Param[float64]{{Name: "w", Shape: []int{3}, Value: []float64{1}}}
	if err := Save(path, bad, nil); err == nil {
		t.Error("saving inconsistent params succeeded")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Save(filepath.Join(dir, "sub"), params, nil); err == nil {
		t.Error("saving over a directory succeeded")
	}
	if err := Save(filepath.Join(dir, "missing", "model.safetensors"), params, nil); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"model.safetensors", "sub"}) {
		t.Errorf("after failed saves, the directory holds %q", names)
	}
	if names := dirNames(t, filepath.Join(dir, "sub")); len(names) != 0 {
		t.Errorf("after a failed save, sub holds %q", names)
	}
	if !bytes.Equal(mustRead(t, path), before) {
		t.Error("a failed save changed the checkpoint")
	}
	if err := Load(filepath.Join(dir, "missing.safetensors"), params); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("loading a missing file: %v", err)
	}

	// A read-only directory: the save fails and leaves nothing anywhere.
	t.Run("read-only directory", func(t *testing.T) {
		readOnly := filepath.Join(dir, "ro")
		if err := os.Mkdir(readOnly, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(readOnly, 0o755) // so that TempDir can clean up
		tempBefore := dirNames(t, os.TempDir())
		err := Save(filepath.Join(readOnly, "model.safetensors"), params, nil)
		if probe, err := os.Create(filepath.Join(readOnly, "probe")); err == nil {
			probe.Close()
			t.Skip("the read-only directory is writable here (running as root?)")
		}
		if err == nil {
			t.Error("saving into a read-only directory succeeded")
		}
		if names := dirNames(t, readOnly); len(names) != 0 {
			t.Errorf("the read-only directory holds %q", names)
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"model.safetensors", "ro", "sub"}) {
			t.Errorf("after saving into ro, the directory holds %q", names)
		}
		if tempAfter := dirNames(t, os.TempDir()); len(tempAfter) > len(tempBefore) {
			t.Errorf("%s gained files: %q", os.TempDir(), tempAfter)
		}
	})
}

// FuzzReadSafetensors checks that no file makes the reader panic, that a
// failed read changes no param, and that what a file loads survives being
// written and read again, bit for bit.
func FuzzReadSafetensors(f *testing.F) {
	paths, err := filepath.Glob("testdata/safetensors/*.safetensors")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no reference files: %v", err)
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, g := range goldenFiles {
		f.Add([]byte(g.file))
	}
	for _, c := range hostileFiles {
		// The deep nesting case is large, and each new input found from
		// it would be minimized at length.
		if len(c.file) < 1<<12 {
			f.Add(c.file)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The hand-written parser reads only JSON, and reads it as
		// encoding/json does.
		if n, err := headerLength(data, uint64(len(data))); err == nil {
			if file, err := parseSafetensorsHeader(data[8 : 8+n]); err == nil {
				checkJSON(t, data[8:8+n], file)
			}
		}
		file, errs := parse(data)
		fuzzRead[float32](t, data, file, errs, func(v float32) uint64 { return uint64(math.Float32bits(v)) })
		fuzzRead[float64](t, data, file, errs, math.Float64bits)
	})
}

func fuzzRead[T nnrt.Float](t *testing.T, data []byte, file *safetensorsFile, errs []error, bitsOf func(T) uint64) {
	// Params that match the file where its layout is sound (so each size
	// is bounded by the file's), else a fixed model.
	params := []nnrt.Param[T]{{Name: "layer1.weight", Shape: []int{5, 4}, Value: make([]T, 20)}}
	if file != nil && len(errs) == 0 {
		params = params[:0]
		for _, tensor := range file.tensors {
			n, _ := elements(tensor.shape)
			if n > uint64(len(data)) { // an unknown dtype's size is unchecked
				n = 0
			}
			params = append(params, nnrt.Param[T]{Name: tensor.name, Shape: tensor.shape, Value: make([]T, n)})
		}
	}
	for _, p := range params {
		for i := range p.Value {
			p.Value[i] = 42
		}
	}
	if err := Read(data, params); err != nil {
		for _, p := range params {
			for i, v := range p.Value {
				if v != 42 {
					t.Fatalf("%v, yet %s[%d] was changed to %v", err, p.Name, i, v)
				}
			}
		}
		return
	}
	var buf bytes.Buffer
	if err := Write(&buf, params, metadataOf(file)); err != nil {
		t.Fatalf("writing what was read: %v", err)
	}
	again := zeroed(params)
	if err := Read(buf.Bytes(), again); err != nil {
		t.Fatalf("reading what was written: %v", err)
	}
	for i, p := range params {
		for j := range p.Value {
			if got, want := bitsOf(again[i].Value[j]), bitsOf(p.Value[j]); got != want {
				t.Fatalf("%s[%d] came back as %#x, want %#x", p.Name, j, got, want)
			}
		}
	}
	rewritten, errs := parse(buf.Bytes())
	if len(errs) > 0 || !maps.Equal(metadataOf(rewritten), metadataOf(file)) {
		t.Fatalf("metadata came back as %q (%v), want %q", rewritten.metadata, errs, file.metadata)
	}
}

// BenchmarkReadSafetensors reads a state_dict of 200 tensors, from memory
// and from a file.
func BenchmarkReadSafetensors(b *testing.B) {
	var params []nnrt.Param[float32]
	for i := range 100 {
		params = append(params,
			nnrt.Param[float32]{Name: "layer" + strconv.Itoa(i) + ".conv.weight", Shape: []int{8, 8, 3, 3}, Value: make([]float32, 576)},
			nnrt.Param[float32]{Name: "layer" + strconv.Itoa(i) + ".bn.bias", Shape: []int{8}, Value: make([]float32, 8)})
	}
	var buf bytes.Buffer
	if err := Write(&buf, params, map[string]string{"format": "pt"}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("Read", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			if err := Read(buf.Bytes(), params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			if err := Load(path, params); err != nil {
				b.Fatal(err)
			}
		}
	})
}
