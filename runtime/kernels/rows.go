package kernels

import "github.com/nngen/nngen/runtime/nnrt"

// SigmoidInPlace32 sets every x[i] to sigmoid(x[i]): eight at a time with
// AVX2 and FMA where the CPU has them, within 3 ulps like Sigmoid32 (though
// not always rounded the same way), else by Sigmoid32.
func SigmoidInPlace32(x []float32) { current().sigmoid32(x) }

// Softmax32 is Softmax for float32 rows with the active kernel set: on
// amd64 eight lanes at a time with the sigmoid's e^x, a float32 sum and
// one division, within a few ulps of Softmax (which sums in float64 and
// divides each element). row must not be empty.
func Softmax32(row []float32) { current().softmax32(row) }

// Softmax64 is Softmax for float64 rows.
func Softmax64(row []float64) { nnrt.Softmax(row) }

// LogSumExp32 is LogSumExp for float32 rows with the active kernel set,
// as Softmax32 is for Softmax. row must not be empty.
func LogSumExp32(row []float32) float32 { return current().logSumExp32(row) }

// LogSumExp64 is LogSumExp for float64 rows.
func LogSumExp64(row []float64) float64 { return nnrt.LogSumExp(row) }

func sigmoidRef(x []float32) {
	for i, v := range x {
		x[i] = nnrt.Sigmoid32(v)
	}
}
