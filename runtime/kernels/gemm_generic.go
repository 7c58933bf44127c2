package kernels

import "unsafe"

// gemmKernelGo is the generic set's micro-kernel: a 4×4 tile of C as 16
// local sums, each accumulated in k order, then stored or added to C.
func gemmKernelGo[T float32 | float64](k int, a, b, c *T, ldc int, load bool) {
	ap := unsafe.Slice(a, 4*k)
	bp := unsafe.Slice(b, 4*k)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 T
	for p := 0; p < k; p++ {
		av := (*[4]T)(ap[4*p:])
		bv := (*[4]T)(bp[4*p:])
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	r0, r1, r2, r3 := (*[4]T)(cs), (*[4]T)(cs[ldc:]), (*[4]T)(cs[2*ldc:]), (*[4]T)(cs[3*ldc:])
	if load {
		c00 += r0[0]
		c01 += r0[1]
		c02 += r0[2]
		c03 += r0[3]
		c10 += r1[0]
		c11 += r1[1]
		c12 += r1[2]
		c13 += r1[3]
		c20 += r2[0]
		c21 += r2[1]
		c22 += r2[2]
		c23 += r2[3]
		c30 += r3[0]
		c31 += r3[1]
		c32 += r3[2]
		c33 += r3[3]
	}
	*r0 = [4]T{c00, c01, c02, c03}
	*r1 = [4]T{c10, c11, c12, c13}
	*r2 = [4]T{c20, c21, c22, c23}
	*r3 = [4]T{c30, c31, c32, c33}
}
