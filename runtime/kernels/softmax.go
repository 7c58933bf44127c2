package kernels

import "fmt"

// SoftmaxRows32 sets each row of y (rows of n) to the softmax of x's row,
// as copy and Softmax32 per row; y may be x. One call over a tensor's rows
// (attention's scores: a row per query of each head) instead of one per
// row from the generated loops.
func SoftmaxRows32(y, x []float32, n int) {
	if n <= 0 || len(x)%n != 0 || len(y) != len(x) {
		panic(fmt.Sprintf("kernels: SoftmaxRows32 of %d elements into %d, rows of %d", len(x), len(y), n))
	}
	ks := current()
	if ks.softmaxRows32 != nil && n%16 == 0 && len(x) > 0 {
		ks.softmaxRows32(&y[0], &x[0], n, len(x)/n)
		return
	}
	f := ks.softmax32
	for off := 0; off < len(x); off += n {
		row := y[off : off+n]
		copy(row, x[off:off+n])
		f(row)
	}
}

// SoftmaxGrad32 sets each row of dx (rows of n) to y·(dy - Σ dy·y), the
// gradient through y = softmax(x), the sum in 16 float32 lanes (element i
// in lane i mod 16) added in a fixed tree: every kernel set gives the same
// bits (AVX-512 runs rows of a multiple of 16 in assembly,
// genSoftmaxGrad). dx may be dy.
func SoftmaxGrad32(dx, dy, y []float32, n int) {
	if n <= 0 || len(y)%n != 0 || len(dx) != len(y) || len(dy) != len(y) {
		panic(fmt.Sprintf("kernels: SoftmaxGrad32 of %d elements (dx %d, dy %d), rows of %d", len(y), len(dx), len(dy), n))
	}
	if len(y) == 0 {
		return
	}
	if f := current().softmaxGrad32; f != nil && n%16 == 0 {
		f(&dx[0], &dy[0], &y[0], n, len(y)/n)
		return
	}
	for off := 0; off < len(y); off += n {
		softmaxGradRow(dx[off:off+n], dy[off:off+n], y[off:off+n])
	}
}

// tree16 adds 16 lanes as the assembly's hsumPS does.
func tree16(l *[16]float32) float32 {
	var b [8]float32
	for j := range b {
		b[j] = l[j] + l[j+8]
	}
	c0, c1, c2, c3 := b[0]+b[4], b[1]+b[5], b[2]+b[6], b[3]+b[7]
	return (c0 + c2) + (c1 + c3)
}

func softmaxGradRow(dx, dy, y []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	var l [16]float32
	for i, v := range y {
		l[i%16] += float32(dy[i] * v)
	}
	dot := tree16(&l)
	for i, v := range y {
		dx[i] = v * (dy[i] - dot)
	}
}
