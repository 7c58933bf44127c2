package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// testSizes are the edge sizes every kernel set is checked at: 1, odd,
// around the vector widths and tiles, and past them.
var testSizes = []int{1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65, 127, 200}

var transCombos = []struct {
	name           string
	transA, transB bool
}{{"NN", false, false}, {"NT", false, true}, {"TN", true, false}, {"TT", true, true}}

// forEachKernelSet runs f with each kernel set this CPU supports active.
func forEachKernelSet(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, ks := range kernelSets {
		t.Run(ks.name, func(t *testing.T) {
			restore, err := Use(ks.name)
			if err != nil {
				t.Skip(err)
			}
			defer restore()
			f(t)
		})
	}
}

// gemmCase is one product with its operands stored as the transposes say,
// with row strides pad elements longer than the rows.
type gemmCase[T float32 | float64] struct {
	transA, transB bool
	m, n, k        int
	a, b, c        []T
	lda, ldb, ldc  int
	accumulate     bool
	want, scale    []float64 // from reference
}

// sentinel fills the padding of C (between rows and after the last), which
// Gemm must leave untouched.
const sentinel = -12345.5

func newGemmCase[T float32 | float64](rng *rand.Rand, transA, transB bool, m, n, k, pad int, accumulate bool) *gemmCase[T] {
	g := &gemmCase[T]{transA: transA, transB: transB, m: m, n: n, k: k, accumulate: accumulate}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	g.lda, g.ldb, g.ldc = max(aCols+pad, 1), max(bCols+pad, 1), max(n+pad, 1)
	g.a = randomMatrix[T](rng, aRows, aCols, g.lda)
	g.b = randomMatrix[T](rng, bRows, bCols, g.ldb)
	g.c = randomMatrix[T](rng, m, n, g.ldc)
	for i := range g.c {
		if i%g.ldc >= n || i >= m*g.ldc {
			g.c[i] = sentinel
		}
	}
	g.want, g.scale = g.reference()
	return g
}

// randomMatrix has values in [-1, 1) and NaN in the padding of each row, so
// a kernel that reads past a row poisons its result.
func randomMatrix[T float32 | float64](rng *rand.Rand, rows, cols, ld int) []T {
	s := make([]T, rows*ld+3)
	for i := range s {
		if i%ld < cols && i < rows*ld {
			s[i] = T(2*rng.Float64() - 1)
		} else {
			s[i] = T(math.NaN())
		}
	}
	return s
}

// op reads op(X)[i][j] for X stored with stride ld.
func op[T float32 | float64](x []T, ld int, trans bool, i, j int) float64 {
	if trans {
		return float64(x[j*ld+i])
	}
	return float64(x[i*ld+j])
}

// reference is the oracle: each element of the result summed in float64,
// and the scale its rounding error is relative to (Σ|a·b| + |c|).
func (g *gemmCase[T]) reference() (want, scale []float64) {
	want = make([]float64, g.m*g.n)
	scale = make([]float64, g.m*g.n)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, abs float64
			for p := 0; p < g.k; p++ {
				x := op(g.a, g.lda, g.transA, i, p) * op(g.b, g.ldb, g.transB, p, j)
				s += x
				abs += math.Abs(x)
			}
			if g.accumulate {
				s += float64(g.c[i*g.ldc+j])
				abs += math.Abs(float64(g.c[i*g.ldc+j]))
			}
			want[i*g.n+j], scale[i*g.n+j] = s, abs
		}
	}
	return want, scale
}

// check compares C after the product against the reference: relative error
// ~1e-5·√k for float32 and 1e-12·√k for float64, and untouched padding.
func (g *gemmCase[T]) check(t *testing.T, c []T) {
	t.Helper()
	var zero T
	tol := 1e-12
	if _, single := any(zero).(float32); single {
		tol = 1e-5
	}
	tol *= math.Sqrt(float64(max(g.k, 1)))
	bad := 0
	for i := range c {
		r, col := i/g.ldc, i%g.ldc
		if r >= g.m || col >= g.n {
			if c[i] != sentinel {
				t.Fatalf("C[%d] outside the %d×%d matrix (stride %d) changed to %v", i, g.m, g.n, g.ldc, c[i])
			}
			continue
		}
		w, s := g.want[r*g.n+col], g.scale[r*g.n+col]
		if d := math.Abs(float64(c[i]) - w); !(d <= tol*s+1e-30) {
			if bad++; bad <= 3 {
				t.Errorf("C[%d][%d] = %v, want %v (error %.3g, bound %.3g)", r, col, c[i], w, d, tol*s)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d elements wrong", bad)
	}
}

func (g *gemmCase[T]) name() string {
	tr := map[bool]string{false: "N", true: "T"}
	return fmt.Sprintf("%s%s/%dx%dx%d/acc=%v", tr[g.transA], tr[g.transB], g.m, g.n, g.k, g.accumulate)
}

// gemmFunc is Gemm32 or Gemm64 behind one signature for the generic tests.
func gemmFunc[T float32 | float64]() (gemm func(transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, accumulate bool, work []T), work func(m, n, k int) int) {
	var zero T
	switch any(zero).(type) {
	case float32:
		return any(Gemm32).(func(bool, bool, int, int, int, []T, int, []T, int, []T, int, bool, []T)), GemmWork32
	default:
		return any(Gemm64).(func(bool, bool, int, int, int, []T, int, []T, int, []T, int, bool, []T)), GemmWork64
	}
}

// run runs the case through Gemm and checks it. The work slice is exactly
// GemmWork long, starting at an arbitrary alignment.
func (g *gemmCase[T]) run(t *testing.T, rng *rand.Rand) {
	t.Helper()
	gemm, workSize := gemmFunc[T]()
	c := append([]T(nil), g.c...)
	need := workSize(g.m, g.n, g.k)
	off := rng.IntN(16)
	work := make([]T, need+off)[off:]
	gemm(g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, c, g.ldc, g.accumulate, work)
	g.check(t, c)
}

// gemmShapes are the (m, n, k) checked: the squares of testSizes, every
// (m, n) pair of them with k cycling through them, k = 1, and shapes that
// take more than one block of depth (kc), rows (mb) or columns (nb).
func gemmShapes() [][3]int {
	var shapes [][3]int
	for _, s := range testSizes {
		shapes = append(shapes, [3]int{s, s, s}, [3]int{s, 33, 1}, [3]int{17, s, 1})
	}
	for i, m := range testSizes {
		for j, n := range testSizes {
			shapes = append(shapes, [3]int{m, n, testSizes[(i+2*j)%len(testSizes)]})
		}
	}
	return append(shapes, [3]int{5, 7, 600}, [3]int{3, 40, 1100}, [3]int{2100, 9, 20}, [3]int{9, 1100, 20}, [3]int{1100, 600, 3})
}

// testGemm checks every kernel set on the shapes of gemmShapes in each
// transpose combination, and on the squares of testSizes with accumulate
// both off and on. The cases and their references are made once.
func testGemm[T float32 | float64](t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cases []*gemmCase[T]
	for si, s := range gemmShapes() {
		for ti, tr := range transCombos {
			pad := (si + ti) % 3 * 2 // strides equal to the width, and longer
			cases = append(cases, newGemmCase[T](rng, tr.transA, tr.transB, s[0], s[1], s[2], pad, (si+ti)%2 == 1))
		}
	}
	for _, s := range testSizes {
		for _, tr := range transCombos {
			for _, acc := range []bool{false, true} {
				cases = append(cases, newGemmCase[T](rng, tr.transA, tr.transB, s, s, s, 1, acc))
			}
		}
	}
	forEachKernelSet(t, func(t *testing.T) {
		for _, g := range cases {
			g.run(t, rng)
			if t.Failed() {
				t.Fatalf("case %s", g.name())
			}
		}
	})
}

func TestGemm32(t *testing.T) { testGemm[float32](t) }
func TestGemm64(t *testing.T) { testGemm[float64](t) }

// TestGemmZeroSizes: k = 0 sets C to zero (or leaves it, accumulating);
// m = 0 or n = 0 touch nothing.
func TestGemmZeroSizes(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		c := []float32{1, 2, 3, 4, 5, 6}
		Gemm32(false, false, 2, 3, 0, nil, 1, nil, 3, c, 3, true, nil)
		if c[5] != 6 {
			t.Fatalf("accumulating k=0 changed C: %v", c)
		}
		Gemm32(false, false, 2, 3, 0, nil, 1, nil, 3, c, 3, false, nil)
		for _, v := range c {
			if v != 0 {
				t.Fatalf("k=0 left C = %v, want zeros", c)
			}
		}
		Gemm64(true, true, 0, 3, 4, nil, 1, make([]float64, 12), 4, nil, 3, false, nil)
	})
}

// TestGemmWork checks that Gemm writes no element of work beyond
// GemmWork(m, n, k), at any alignment of work.
func TestGemmWork(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, s := range [][3]int{{1, 1, 1}, {17, 33, 65}, {200, 7, 300}, {15, 1100, 31}, {2100, 40, 3}} {
			for off := 0; off < 16; off += 5 {
				g := newGemmCase[float32](rng, false, true, s[0], s[1], s[2], 0, false)
				need := GemmWork32(s[0], s[1], s[2])
				buf := make([]float32, off+need+64)
				poison := float32(math.Float32frombits(0x7fc0dead))
				for i := range buf {
					buf[i] = poison
				}
				c := append([]float32(nil), g.c...)
				Gemm32(false, true, s[0], s[1], s[2], g.a, g.lda, g.b, g.ldb, c, g.ldc, false, buf[off:])
				g.check(t, c)
				for i, v := range buf {
					if (i < off || i >= off+need) && math.Float32bits(v) != 0x7fc0dead {
						t.Fatalf("%v: work[%d] written, outside the first GemmWork32 = %d elements from %d", s, i, need, off)
					}
				}
			}
		}
	})
}

func TestGemmPanics(t *testing.T) {
	a := make([]float32, 12)
	mustPanic(t, "short work", func() { Gemm32(false, false, 3, 4, 3, a, 3, a, 4, a, 4, false, nil) })
	mustPanic(t, "short C", func() { Gemm32(false, false, 4, 4, 3, a, 3, a, 4, a, 4, false, make([]float32, 1<<20)) })
	mustPanic(t, "stride", func() { Gemm32(false, false, 3, 4, 3, a, 2, a, 4, a, 4, false, make([]float32, 1<<20)) })
	mustPanic(t, "negative", func() { Gemm32(false, false, -1, 4, 3, a, 3, a, 4, a, 4, false, nil) })
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestGemmAllocs(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		const m, n, k = 65, 33, 70
		a32, b32, c32 := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		w32 := make([]float32, GemmWork32(m, n, k))
		a64, b64, c64 := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
		w64 := make([]float64, GemmWork64(m, n, k))
		if allocs := testing.AllocsPerRun(10, func() {
			Gemm32(false, true, m, n, k, a32, k, b32, k, c32, n, true, w32)
		}); allocs != 0 {
			t.Errorf("Gemm32: %v allocations per call", allocs)
		}
		if allocs := testing.AllocsPerRun(10, func() {
			Gemm64(true, false, m, n, k, a64, m, b64, n, c64, n, false, w64)
		}); allocs != 0 {
			t.Errorf("Gemm64: %v allocations per call", allocs)
		}
	})
}

func TestKernelSets(t *testing.T) {
	names := map[string]bool{"generic": true, "avx2": true, "avx512": true}
	if !names[Active()] {
		t.Fatalf("Kernels() = %q", Active())
	}
	if _, err := Use("sse9"); err == nil {
		t.Fatal("SetKernels(sse9): no error")
	}
	before := Active()
	restore, err := Use("generic")
	if err != nil {
		t.Fatal(err)
	}
	if Active() != "generic" {
		t.Fatalf("after SetKernels(generic), Kernels() = %q", Active())
	}
	restore()
	if Active() != before {
		t.Fatalf("after restore, Kernels() = %q, want %q", Active(), before)
	}
	if len(kernelSets) == 1 { // noasm or not amd64
		if _, err := Use("avx2"); err == nil {
			t.Fatal("SetKernels(avx2) without assembly: no error")
		}
	}
	t.Logf("kernel sets: active %s", before)
}

// TestGemmKernelsAgree: the 8-row and the main float32 kernel sum every
// element in the same order, so they give the same bits whatever m; the
// Pool may hand shares of one product to either.
func TestGemmKernelsAgree(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		ks := current()
		if ks.sgemm8.micro == nil {
			t.Skip("no 8-row kernel in this set")
		}
		rng := rand.New(rand.NewPCG(23, 24))
		for _, m := range []int{1, 7, 8, 13, 14, 16, 29, 32, 64, 100} {
			for ti, tr := range transCombos {
				g := newGemmCase[float32](rng, tr.transA, tr.transB, m, 70, 300, ti, ti%2 == 0)
				c8 := append([]float32(nil), g.c...)
				c14 := append([]float32(nil), g.c...)
				_, _, _, need8 := ks.sgemm8.layout(m, 70, 300)
				_, _, _, need := ks.sgemm.layout(m, 70, 300)
				work := make([]float32, max(need8, need)) // GemmWork32 sizes for the kernel Gemm32 picks
				gemm(&ks.sgemm8, g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, c8, g.ldc, g.accumulate, work)
				gemm(&ks.sgemm, g.transA, g.transB, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, c14, g.ldc, g.accumulate, work)
				for i := range c8 {
					if math.Float32bits(c8[i]) != math.Float32bits(c14[i]) {
						t.Fatalf("%s: C[%d] = %v (8 rows), %v (%d rows)", g.name(), i, c8[i], c14[i], ks.sgemm.mr)
					}
				}
			}
		}
	})
}

// TestGemmRowsInPlace checks the kernel that reads a plain A's rows where
// they lie against the same set packing every sliver: bit-identical, with
// a last sliver short of mr rows, depths with and without a tail of the
// unrolled loop and across depth blocks, more rows than a block (mb),
// strides whose rows crowd the L1 (rowsAlias: packed), NaN in the
// padding of every row (a read past a row poisons C) and C's padding
// untouched.
func TestGemmRowsInPlace(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		ks := current()
		if ks.sgemm8.microRows == nil {
			t.Skip("no kernel for A in place in this set")
		}
		packed := ks.sgemm8
		packed.microRows = nil
		rng := rand.New(rand.NewPCG(41, 42))
		inPlace := 0
		for _, m := range []int{8, 13, 16, 64, 100, 1100} {
			for _, n := range []int{1, 33, 300} {
				for _, k := range []int{1, 7, 64, 300, 512} {
					if m*n*k > 4<<20 {
						continue
					}
					for _, transB := range []bool{false, true} {
						pad := (m + n + k) % 3
						g := newGemmCase[float32](rng, false, transB, m, n, k, pad, (m+k)%2 == 0)
						if !rowsAlias(g.lda) {
							inPlace++
						}
						got := append([]float32(nil), g.c...)
						want := append([]float32(nil), g.c...)
						_, _, _, need := ks.sgemm8.layout(m, n, k)
						work := make([]float32, need)
						gemm(&ks.sgemm8, false, transB, m, n, k, g.a, g.lda, g.b, g.ldb, got, g.ldc, g.accumulate, work)
						gemm(&packed, false, transB, m, n, k, g.a, g.lda, g.b, g.ldb, want, g.ldc, g.accumulate, work)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s: C[%d] = %v in place, %v packed", g.name(), i, got[i], want[i])
							}
						}
						g.check(t, got)
					}
				}
			}
		}
		if inPlace == 0 {
			t.Fatal("no case read A in place")
		}
	})
}

// TestGemmNT checks the transpose-free kernel for X·Wᵀ against the general
// GEMM: bit-identical results (the same sums in the same order), with edge
// rows and columns of every size, depths that are and are not multiples of
// the block, padded strides (NaN in the padding: a read past a row would
// poison C) and C's padding untouched.
func TestGemmNT(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		ks := current()
		if ks.snt.micro == nil {
			t.Skip("no transpose-free kernel in this set")
		}
		rng := rand.New(rand.NewPCG(31, 32))
		cases := 0
		for _, m := range []int{1, 5, 15, 16, 17, 32, 33, 64, 100, 256} {
			for _, n := range []int{1, 10, 16, 17, 31, 70, 130} {
				for _, k := range []int{1, 3, 16, 17, 300, 784} {
					pad := (m + n + k) % 3
					acc := (m+n+k)%2 == 0
					g := newGemmCase[float32](rng, false, true, m, n, k, pad, acc)
					nt := append([]float32(nil), g.c...)
					general := append([]float32(nil), g.c...)
					_, need := ks.snt.layout(m, k)
					gemmNT(&ks.snt, m, n, k, g.a, g.lda, g.b, g.ldb, nt, g.ldc, acc, make([]float32, need))
					work := make([]float32, GemmWork32(m, n, k))
					gemm(ks.sgemmFor(m), false, true, m, n, k, g.a, g.lda, g.b, g.ldb, general, g.ldc, acc, work)
					for i := range nt {
						if math.Float32bits(nt[i]) != math.Float32bits(general[i]) {
							t.Fatalf("%s: C[%d] = %v, the general GEMM gives %v", g.name(), i, nt[i], general[i])
						}
					}
					g.check(t, nt)
					cases++
				}
			}
		}
		t.Logf("%d products", cases)
	})
}

// TestGemmWorkBound: GemmWork32(m, n, k) is enough for every product of
// at most m×n×k with every kernel set and transpose (a model's workspace,
// sized for its largest batch, serves the smaller ones), and so it never
// decreases as m, n or k grow.
func TestGemmWorkBound(t *testing.T) {
	sizes := []int{1, 2, 7, 8, 13, 14, 16, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 300, 511, 513, 784, 1024, 1500}
	for _, m := range sizes {
		for _, n := range sizes {
			for _, k := range sizes {
				most32, most64 := GemmWork32(m, n, k), GemmWork64(m, n, k)
				for _, ks := range kernelSets {
					for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
						if need := ks.work32(tr[0], tr[1], m, n, k); need > most32 {
							t.Fatalf("%s %v %dx%dx%d: needs %d, GemmWork32 %d", ks.name, tr, m, n, k, need, most32)
						}
					}
					if _, _, _, need := ks.dgemm.layout(m, n, k); need > most64 {
						t.Fatalf("%s float64 %dx%dx%d: needs %d, GemmWork64 %d", ks.name, m, n, k, need, most64)
					}
				}
				for _, smaller := range [][3]int{{m - 1, n, k}, {m, n - 1, k}, {m, n, k - 1}} {
					if GemmWork32(smaller[0], smaller[1], smaller[2]) > most32 || GemmWork64(smaller[0], smaller[1], smaller[2]) > most64 {
						t.Fatalf("GemmWork of %v exceeds that of %dx%dx%d", smaller, m, n, k)
					}
				}
			}
		}
	}
}
