//go:build amd64 && !noasm

package kernels

// The row kernels of _gen/asmgen.go. The layer norms (genLayerNorm, genLayerNormGrads):
// LayerNorm32 and LayerNormGrads32 over rows rows of n elements, n a
// multiple of 8.

//go:noescape
func slayerNormAVX512(y, x, w, b *float32, n, rows int, eps float64)

//go:noescape
func slayerNormGradsAVX512(dx, dw, dy, x, w *float32, n, rows int, eps float64)

// The softmax gradient of _gen/asmgen.go (genSoftmaxGrad): SoftmaxGrad32
// over rows rows of n elements, n a multiple of 16.

//go:noescape
func ssoftmaxGradAVX512(dx, dy, y *float32, n, rows int)

// ssoftmaxRowsAVX512 is SoftmaxRows32 for rows of a multiple of 16: see
// genSoftmaxRows.
//
//go:noescape
func ssoftmaxRowsAVX512(y, x *float32, n, rows int)
