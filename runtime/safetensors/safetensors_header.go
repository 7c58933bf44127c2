package safetensors

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The header's JSON is read by hand rather than with encoding/json, whose
// Decoder allocates on every token (some 2 KB per tensor entry), where a
// header of 100 MB holds tens of millions of tokens. Here every limit is
// checked as soon as the bytes that break it are read, and what is kept is
// allocated once, at the size it ends up with (see members), so that a
// header costs a small multiple of its own length however it is built.

// maxSafetensorsRank is the most dimensions a shape may have. NumPy allows
// 64 (NPY_MAXDIMS) and PyTorch's CUDA kernels 25, so no real file comes
// near it; it keeps one shape at most 512 bytes whatever the header says.
const maxSafetensorsRank = 64

// The shortest entries that can parse, with the comma that may follow:
// a header of N bytes holds at most N/minTensorEntry tensors, and a
// metadata object of N bytes at most N/minMetadataEntry keys.
const (
	minTensorEntry   = len(`"":{"dtype":"","shape":[],"data_offsets":[0,0]},`)
	minMetadataEntry = len(`"":"",`)
)

// errTooMany is naturals' report of an array longer than its list.
var errTooMany = errors.New("too many numbers")

// parseSafetensorsHeader reads a header: its tensors, in order and indexed
// by name, and its metadata. Duplicate keys are refused (encoding/json
// would keep the last silently), anywhere: tensors, fields, metadata.
func parseSafetensorsHeader(text []byte) (*safetensorsFile, error) {
	if !utf8.Valid(text) {
		return nil, errors.New("header is not valid UTF-8")
	}
	p := &headerParser{text: text}
	b, err := p.value()
	if err != nil {
		return nil, err
	}
	if b != '{' {
		return nil, errors.New("header is not a JSON object")
	}
	n := min(p.members('{'), len(text)/minTensorEntry+1)
	file := &safetensorsFile{tensors: make([]safetensorsTensor, 0, n), index: make(map[string]int, n)}
	sawMetadata := false
	err = p.object(func(key []byte) error {
		if string(key) == safetensorsMetadataKey {
			if sawMetadata {
				return fmt.Errorf("header: duplicate key %q", brief(key))
			}
			sawMetadata = true
			var err error
			file.metadata, err = p.metadata()
			return err
		}
		if _, dup := file.index[string(key)]; dup {
			return fmt.Errorf("header: duplicate key %q", brief(key))
		}
		t, err := p.tensor(key)
		if err != nil {
			return err
		}
		file.index[t.name] = len(file.tensors)
		file.tensors = append(file.tensors, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos < len(text) {
		return nil, errors.New("header: more after the JSON object than padding")
	}
	return file, nil
}

// metadata reads __metadata__: an object of strings, or null as the
// safetensors library allows. Its entries come back sorted by key.
func (p *headerParser) metadata() ([][2]string, error) {
	b, err := p.value()
	if err != nil || b == 'n' { // null, which value has read
		return nil, err
	}
	if b != '{' {
		return nil, errors.New("__metadata__ is not a JSON object")
	}
	metadata := make([][2]string, 0, min(p.members('"'), (len(p.text)-p.pos)/minMetadataEntry+1))
	err = p.object(func(key []byte) error {
		b, err := p.value()
		if err != nil {
			return err
		}
		if b != '"' {
			return fmt.Errorf("__metadata__: the value of %q is not a string", brief(key))
		}
		value, err := p.str()
		if err != nil {
			return err
		}
		metadata = append(metadata, [2]string{string(key), string(value)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Sorting finds duplicates without a set, which would cost several
	// times what the entries themselves take.
	slices.SortFunc(metadata, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for i := 1; i < len(metadata); i++ {
		if metadata[i][0] == metadata[i-1][0] {
			return nil, fmt.Errorf("__metadata__: duplicate key %q", brief(metadata[i][0]))
		}
	}
	return metadata, nil
}

// tensorFields are the fields of a tensor's entry, all required.
var tensorFields = [...]string{"dtype", "shape", "data_offsets"}

// tensor reads one tensor's entry: exactly dtype, shape and data_offsets.
func (p *headerParser) tensor(name []byte) (safetensorsTensor, error) {
	b, err := p.value()
	if err != nil {
		return safetensorsTensor{}, err
	}
	if b != '{' {
		return safetensorsTensor{}, fmt.Errorf("%s: the entry is not a JSON object", brief(name))
	}
	var dtype []byte
	var dims [maxSafetensorsRank]uint64
	var offsets [2]uint64
	var seen [len(tensorFields)]bool
	rank := 0
	err = p.object(func(field []byte) error {
		i := 0
		for i < len(tensorFields) && string(field) != tensorFields[i] {
			i++
		}
		switch {
		case i == len(tensorFields):
			return fmt.Errorf("%s: unknown field %q", brief(name), brief(field))
		case seen[i]:
			return fmt.Errorf("%s: duplicate field %q", brief(name), brief(field))
		}
		seen[i] = true
		switch tensorFields[i] {
		case "dtype":
			b, err := p.value()
			if err != nil {
				return err
			}
			if b != '"' {
				return fmt.Errorf("%s: dtype is not a string", brief(name))
			}
			dtype, err = p.str()
			return err
		case "shape":
			n, err := p.naturals(name, "shape", dims[:])
			if err == errTooMany {
				return fmt.Errorf("%s: shape has more than %d dimensions", brief(name), maxSafetensorsRank)
			}
			for _, d := range dims[:n] {
				if err == nil && d > math.MaxInt {
					err = fmt.Errorf("%s: shape dimension %d is too large", brief(name), d)
				}
			}
			rank = n
			return err
		default:
			n, err := p.naturals(name, "data_offsets", offsets[:])
			if err == errTooMany {
				return fmt.Errorf("%s: data_offsets has %d numbers or more, not 2", brief(name), len(offsets)+1)
			}
			if err == nil && n != len(offsets) {
				err = fmt.Errorf("%s: data_offsets has %d numbers, not 2", brief(name), n)
			}
			return err
		}
	})
	if err != nil {
		return safetensorsTensor{}, err
	}
	for i, field := range tensorFields {
		if !seen[i] {
			return safetensorsTensor{}, fmt.Errorf("%s: missing field %q", brief(name), field)
		}
	}
	t := safetensorsTensor{name: string(name), dtype: string(dtype), shape: make([]int, rank), begin: offsets[0], end: offsets[1]}
	for i, d := range dims[:rank] {
		t.shape[i] = int(d)
	}
	return t, nil
}

// naturals reads an array of non-negative integers that fit in 64 bits
// into list and returns how many there were; errTooMany as soon as there
// is one more than list holds.
func (p *headerParser) naturals(name []byte, field string, list []uint64) (int, error) {
	b, err := p.value()
	if err != nil {
		return 0, err
	}
	if b != '[' {
		return 0, fmt.Errorf("%s: %s is not an array", brief(name), field)
	}
	n := 0
	err = p.array(func() error {
		p.skipSpace()
		start := p.pos
		b, err := p.value()
		if err != nil {
			return err
		}
		if b != '-' && !isDigit(b) {
			what := p.text[start:p.pos] // a literal, which value has read
			switch b {
			case '[', '{':
				what = []byte{b}
			case '"':
				if what, err = p.str(); err != nil {
					return err
				}
			}
			return fmt.Errorf("%s: %s holds %s, not a number", brief(name), field, brief(what))
		}
		number, err := p.number()
		if err != nil {
			return err
		}
		v, ok := natural(number)
		if !ok {
			return fmt.Errorf("%s: %s holds %s, not a non-negative integer", brief(name), field, brief(number))
		}
		if n == len(list) {
			return errTooMany
		}
		list[n] = v
		n++
		return nil
	})
	return n, err
}
