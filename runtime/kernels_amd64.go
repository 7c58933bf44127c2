//go:build amd64 && !noasm

package runtime

// The dot and axpy loops in kernels_amd64.s take whole vectors (n a multiple
// of the vector width); these wrappers do the tails in Go.

//go:noescape
func sdotAVX2(x, y *float32, n int) float32

//go:noescape
func ddotAVX2(x, y *float64, n int) float64

//go:noescape
func saxpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func daxpyAVX2(alpha float64, x, y *float64, n int)

//go:noescape
func sdotAVX512(x, y *float32, n int) float32

//go:noescape
func ddotAVX512(x, y *float64, n int) float64

//go:noescape
func saxpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func daxpyAVX512(alpha float64, x, y *float64, n int)

func dot32AVX2(x, y []float32) float32 {
	body := len(x) &^ 7
	var s float32
	if body > 0 {
		s = sdotAVX2(&x[0], &y[0], body)
	}
	return s + dotRef(x[body:], y[body:len(x)])
}

func dot64AVX2(x, y []float64) float64 {
	body := len(x) &^ 3
	var s float64
	if body > 0 {
		s = ddotAVX2(&x[0], &y[0], body)
	}
	return s + dotRef(x[body:], y[body:len(x)])
}

func axpy32AVX2(alpha float32, x, y []float32) {
	body := len(x) &^ 7
	if body > 0 {
		saxpyAVX2(alpha, &x[0], &y[0], body)
	}
	axpyRef(alpha, x[body:], y[body:len(x)])
}

func axpy64AVX2(alpha float64, x, y []float64) {
	body := len(x) &^ 3
	if body > 0 {
		daxpyAVX2(alpha, &x[0], &y[0], body)
	}
	axpyRef(alpha, x[body:], y[body:len(x)])
}

func dot32AVX512(x, y []float32) float32 {
	body := len(x) &^ 15
	var s float32
	if body > 0 {
		s = sdotAVX512(&x[0], &y[0], body)
	}
	return s + dotRef(x[body:], y[body:len(x)])
}

func dot64AVX512(x, y []float64) float64 {
	body := len(x) &^ 7
	var s float64
	if body > 0 {
		s = ddotAVX512(&x[0], &y[0], body)
	}
	return s + dotRef(x[body:], y[body:len(x)])
}

func axpy32AVX512(alpha float32, x, y []float32) {
	body := len(x) &^ 15
	if body > 0 {
		saxpyAVX512(alpha, &x[0], &y[0], body)
	}
	axpyRef(alpha, x[body:], y[body:len(x)])
}

func axpy64AVX512(alpha float64, x, y []float64) {
	body := len(x) &^ 7
	if body > 0 {
		daxpyAVX512(alpha, &x[0], &y[0], body)
	}
	axpyRef(alpha, x[body:], y[body:len(x)])
}
