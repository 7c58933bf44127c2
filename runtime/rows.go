package runtime

import "math"

// Functions of a row (the last axis of a tensor) that generated code calls.

// LogSoftmax replaces row with row - log Σ e^row, PyTorch's log_softmax,
// shifted by the row's maximum so that no exponential overflows.
func LogSoftmax[T Float](row []T) {
	top := row[0]
	for _, x := range row[1:] {
		top = max(top, x)
	}
	var sum float64
	for _, x := range row {
		sum += expOf(x - top)
	}
	shift := float64(top) + math.Log(sum)
	for i, x := range row {
		row[i] = T(float64(x) - shift)
	}
}

// LogSoftmax32 is LogSoftmax for float32 rows.
func LogSoftmax32(row []float32) { LogSoftmax(row) }

// LogSoftmax64 is LogSoftmax for float64 rows.
func LogSoftmax64(row []float64) { LogSoftmax(row) }

// LogSoftmaxGrad sets dx = dy - e^y·Σ dy, the gradient through
// y = log_softmax(x).
func LogSoftmaxGrad[T Float](dx, dy, y []T) {
	var sum T
	for _, d := range dy {
		sum += d
	}
	for i := range y {
		dx[i] = dy[i] - T(math.Exp(float64(y[i])))*sum
	}
}
