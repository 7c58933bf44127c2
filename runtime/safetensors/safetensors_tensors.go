package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"unsafe"

	"github.com/nngen/nngen/runtime/nnrt"
)

// SaveTensors is Save for a generated model's tensors (StateDict, or a
// checkpoint's list): float tensors are written as F32 or F64 as the model
// holds them, integer tensors as I64. Generated packages' SaveCheckpoint
// calls it.
func SaveTensors[T nnrt.Float](path string, tensors []nnrt.Tensor[T], metadata map[string]string) error {
	return save(path, tensorEntries(tensors), metadata)
}

// WriteTensors is SaveTensors to a writer (no atomicity).
func WriteTensors[T nnrt.Float](w io.Writer, tensors []nnrt.Tensor[T], metadata map[string]string) error {
	return write(w, tensorEntries(tensors), metadata)
}

// LoadTensors is Load for a generated model's tensors: the file must hold
// exactly these names, each with its shape; a float tensor loads from F32,
// F64, F16 or BF16 (converted as Load does), an integer tensor from I64
// only. Tensors that alias the same numbers (the step count that every
// parameter's optimizer state names) must hold equal values in the file.
// Every problem is reported at once, and on any error nothing is modified.
func LoadTensors[T nnrt.Float](path string, tensors []nnrt.Tensor[T]) error {
	return load(path, tensorEntries(tensors))
}

// ReadTensors is LoadTensors from bytes already in memory.
func ReadTensors[T nnrt.Float](data []byte, tensors []nnrt.Tensor[T]) error {
	return errors.Join(read(data, tensorEntries(tensors))...)
}

// modelTensor is one tensor of the model as the reader and the writer see it,
// whether a Param or a Tensor gave it.
type modelTensor struct {
	name  string
	shape []int
	n     int    // the numbers the model holds
	dtype string // what the writer writes: F32, F64 or I64
	// put appends elements [from, to) little-endian.
	put func(b []byte, from, to int) []byte
	// decoder is the function that sets the model's numbers from a file's
	// elements of dtype, or nil where that dtype cannot load into them.
	decoder func(dtype string) func(src []byte)
	ints    []int64 // an integer tensor's numbers, for the check of aliases
}

func paramEntries[T nnrt.Float](params []nnrt.Param[T]) []modelTensor {
	modelTensors := make([]modelTensor, len(params))
	for i, p := range params {
		modelTensors[i] = floatEntry(p.Name, p.Shape, p.Value)
	}
	return modelTensors
}

func tensorEntries[T nnrt.Float](tensors []nnrt.Tensor[T]) []modelTensor {
	modelTensors := make([]modelTensor, len(tensors))
	for i, t := range tensors {
		if t.Int != nil {
			modelTensors[i] = intEntry(t.Name, t.Shape, t.Int)
		} else {
			modelTensors[i] = floatEntry(t.Name, t.Shape, t.Float)
		}
	}
	return modelTensors
}

func floatEntry[T nnrt.Float](name string, shape []int, values []T) modelTensor {
	e := modelTensor{name: name, shape: shape, n: len(values), dtype: "F32"}
	if reflect.TypeFor[T]().Kind() == reflect.Float64 {
		e.dtype = "F64"
		e.put = func(b []byte, from, to int) []byte {
			for _, v := range values[from:to] {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(v)))
			}
			return b
		}
	} else {
		e.put = func(b []byte, from, to int) []byte {
			for _, v := range values[from:to] {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
			}
			return b
		}
	}
	e.decoder = func(dtype string) func(src []byte) {
		decode := decodeSafetensors[T](dtype)
		if decode == nil {
			return nil
		}
		return func(src []byte) { decode(values, src) }
	}
	return e
}

func intEntry(name string, shape []int, values []int64) modelTensor {
	return modelTensor{name: name, shape: shape, n: len(values), dtype: "I64", ints: values,
		put: func(b []byte, from, to int) []byte {
			for _, v := range values[from:to] {
				b = binary.LittleEndian.AppendUint64(b, uint64(v))
			}
			return b
		},
		decoder: func(dtype string) func(src []byte) {
			if dtype != "I64" {
				return nil
			}
			return func(src []byte) { decodeInt64(values, src) }
		},
	}
}

func decodeInt64(dst []int64, src []byte) {
	for i := range dst {
		dst[i] = int64(binary.LittleEndian.Uint64(src[8*i:]))
	}
}

// checkAliases adds to ps every two integer tensors that alias the same
// numbers but hold different values in the file: the model can keep only
// one of them.
func checkAliases(file *safetensorsFile, data []byte, modelTensors []modelTensor, ps *problems) {
	first := map[*int64]int{} // the modelTensor that first names the numbers
	for i, e := range modelTensors {
		if len(e.ints) == 0 {
			continue
		}
		at := unsafe.SliceData(e.ints)
		j, seen := first[at]
		if !seen {
			first[at] = i
			continue
		}
		other := modelTensors[j]
		if len(other.ints) != len(e.ints) {
			continue
		}
		a, b := &file.tensors[file.index[other.name]], &file.tensors[file.index[e.name]]
		if string(data[a.begin:a.end]) != string(data[b.begin:b.end]) {
			x, y := make([]int64, len(e.ints)), make([]int64, len(e.ints))
			decodeInt64(x, data[a.begin:a.end])
			decodeInt64(y, data[b.begin:b.end])
			ps.add(fmt.Errorf("%s is %v but %s is %v: the model keeps one number for both", e.name, y, other.name, x))
		}
	}
}
