package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nngen/nngen/onnx/onnxpb"
)

// constant is a tensor whose value the model fixes: an initializer, the
// value of a Constant node, or a Transpose of one.
type constant struct {
	name string // the initializer's name, or the output that holds it
	data []float64
	// transposeOf is the 2-D constant that this one is the Transpose of, so
	// that a weight read transposed keeps its own name and values.
	transposeOf *constant
	// integer: its ONNX element type holds integers (shape arithmetic).
	integer bool
}

// decodeTensor reads a TensorProto's shape and elements, as float64. It
// checks every size against the data present before it allocates, so a
// hostile file cannot make it allocate more than the file holds.
func decodeTensor(t *onnxpb.TensorProto) ([]int, []float64, error) {
	shape, n, err := dims(t.GetDims())
	if err != nil {
		return nil, nil, err
	}
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, nil, fmt.Errorf("its data is in an external file, which nngen does not read; save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))")
	}
	if t.GetSegment() != nil {
		return nil, nil, fmt.Errorf("it is a segment of a tensor, which nngen does not read")
	}
	raw := t.GetRawData()
	typ := onnxpb.TensorProto_DataType(t.GetDataType())
	size, ok := elementSize[typ]
	if !ok {
		return nil, nil, fmt.Errorf("its element type %s is not a number nngen reads (FLOAT, DOUBLE, FLOAT16, BFLOAT16, or an integer or bool)", typ)
	}
	if len(raw) > 0 {
		if uint64(len(raw)) != uint64(n)*uint64(size) {
			return nil, nil, fmt.Errorf("shape %v needs %d bytes of %s but raw_data has %d", shape, n*size, typ, len(raw))
		}
		data := make([]float64, n)
		for i := range data {
			data[i] = decodeRaw(typ, raw[i*size:(i+1)*size])
		}
		return shape, data, nil
	}
	var data []float64
	var have int
	switch typ {
	case onnxpb.TensorProto_FLOAT:
		have = len(t.GetFloatData())
		if have == n {
			data = make([]float64, n)
			for i, v := range t.GetFloatData() {
				data[i] = float64(v)
			}
		}
	case onnxpb.TensorProto_DOUBLE:
		have = len(t.GetDoubleData())
		if have == n {
			data = append([]float64(nil), t.GetDoubleData()...)
		}
	case onnxpb.TensorProto_INT64:
		have = len(t.GetInt64Data())
		if have == n {
			data = make([]float64, n)
			for i, v := range t.GetInt64Data() {
				data[i] = float64(v)
			}
		}
	case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
		have = len(t.GetUint64Data())
		if have == n {
			data = make([]float64, n)
			for i, v := range t.GetUint64Data() {
				data[i] = float64(v)
			}
		}
	default: // the 16-bit floats and the small integers travel in int32_data
		have = len(t.GetInt32Data())
		if have == n {
			data = make([]float64, n)
			for i, v := range t.GetInt32Data() {
				data[i] = fromInt32Data(typ, v)
			}
		}
	}
	if have != n {
		return nil, nil, fmt.Errorf("shape %v holds %d elements but the data has %d", shape, n, have)
	}
	if data == nil {
		data = []float64{}
	}
	return shape, data, nil
}

// dims checks a shape from the file and returns it with its element count.
func dims(d []int64) ([]int, int, error) {
	shape := make([]int, len(d))
	n := 1
	for i, v := range d {
		if v < 0 || v > maxDim {
			return nil, 0, fmt.Errorf("dimension %d is %d; nngen takes 0 to %d", i, v, maxDim)
		}
		shape[i] = int(v)
		n *= int(v)
		if n > maxElements {
			return nil, 0, fmt.Errorf("shape %v has more than %d elements", d, maxElements)
		}
	}
	return shape, n, nil
}

// elementSize is the size in raw_data of each element type nngen reads.
var elementSize = map[onnxpb.TensorProto_DataType]int{
	onnxpb.TensorProto_FLOAT: 4, onnxpb.TensorProto_DOUBLE: 8,
	onnxpb.TensorProto_FLOAT16: 2, onnxpb.TensorProto_BFLOAT16: 2,
	onnxpb.TensorProto_BOOL: 1, onnxpb.TensorProto_INT8: 1, onnxpb.TensorProto_UINT8: 1,
	onnxpb.TensorProto_INT16: 2, onnxpb.TensorProto_UINT16: 2,
	onnxpb.TensorProto_INT32: 4, onnxpb.TensorProto_UINT32: 4,
	onnxpb.TensorProto_INT64: 8, onnxpb.TensorProto_UINT64: 8,
}

// decodeRaw reads one little-endian element of raw_data.
func decodeRaw(typ onnxpb.TensorProto_DataType, b []byte) float64 {
	switch typ {
	case onnxpb.TensorProto_FLOAT:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case onnxpb.TensorProto_DOUBLE:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	case onnxpb.TensorProto_FLOAT16:
		return float64(float16(binary.LittleEndian.Uint16(b)))
	case onnxpb.TensorProto_BFLOAT16:
		return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16))
	case onnxpb.TensorProto_BOOL, onnxpb.TensorProto_UINT8:
		return float64(b[0])
	case onnxpb.TensorProto_INT8:
		return float64(int8(b[0]))
	case onnxpb.TensorProto_INT16:
		return float64(int16(binary.LittleEndian.Uint16(b)))
	case onnxpb.TensorProto_UINT16:
		return float64(binary.LittleEndian.Uint16(b))
	case onnxpb.TensorProto_INT32:
		return float64(int32(binary.LittleEndian.Uint32(b)))
	case onnxpb.TensorProto_UINT32:
		return float64(binary.LittleEndian.Uint32(b))
	case onnxpb.TensorProto_INT64:
		return float64(int64(binary.LittleEndian.Uint64(b)))
	}
	return float64(binary.LittleEndian.Uint64(b)) // UINT64
}

// fromInt32Data reads one element of int32_data, where ONNX keeps the
// 16-bit floats' bits and the integers narrower than 64 bits.
func fromInt32Data(typ onnxpb.TensorProto_DataType, v int32) float64 {
	switch typ {
	case onnxpb.TensorProto_FLOAT16:
		return float64(float16(uint16(v)))
	case onnxpb.TensorProto_BFLOAT16:
		return float64(math.Float32frombits(uint32(uint16(v)) << 16))
	}
	return float64(v)
}

// float16 converts IEEE half-precision bits to float32.
func float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
	// zero or subnormal: frac · 2^-24
	f := float32(frac) / (1 << 24)
	if sign != 0 {
		f = -f
	}
	return f
}

// transpose returns the transpose of a row-major rows×cols matrix.
func transpose(data []float64, rows, cols int) []float64 {
	out := make([]float64, len(data))
	for i := range rows {
		for j := range cols {
			out[j*rows+i] = data[i*cols+j]
		}
	}
	return out
}
