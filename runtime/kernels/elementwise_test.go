package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nngen/nngen/runtime/nnrt"
)

// specialVector is a random vector with NaN, ±Inf and ±0 sprinkled in, so
// the kernels' handling of them is compared with the references'.
func specialVector[T nnrt.Float](rng *rand.Rand, n int) []T {
	v := randomVector[T](rng, n)
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}
	for i := range v {
		if rng.IntN(8) == 0 {
			v[i] = T(specials[rng.IntN(len(specials))])
		}
	}
	return v
}

// same is exact equality of results, NaN equal to NaN and -0 to +0 (relu
// kernels may keep a -0 that the Go loop turns into +0).
func same[T nnrt.Float](got, want []T) int {
	for i := range got {
		g, w := got[i], want[i]
		if g != w && !(g != g && w != w) {
			return i
		}
	}
	return -1
}

// testElementwise runs the active set's kernel and the reference on the
// same random operands (the first is written) and wants equal results,
// and nothing written past the end.
func testElementwise[T nnrt.Float](t *testing.T, name string, operands int, kernel, ref func(ops [][]T)) {
	t.Run(name, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range vectorLengths() {
			var got, want [][]T
			for range operands {
				// Slices starting at an odd element: the kernels must not need alignment.
				v := specialVector[T](rng, n+2)[1:]
				got = append(got, v[:n])
				want = append(want, append([]T(nil), v[:n]...))
			}
			sentinel := float64(got[0][:n+1][n])
			kernel(got)
			ref(want)
			if i := same(got[0], want[0]); i >= 0 {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[0][i], want[0][i])
			}
			if after := float64(got[0][:n+1][n]); math.Float64bits(after) != math.Float64bits(sentinel) {
				t.Fatalf("n=%d: written past the end", n)
			}
		}
	})
}

func testElementwiseSet[T nnrt.Float](t *testing.T, v func() *vecSet[T]) {
	ref := refVecSet[T]()
	testElementwise(t, "AddReLU", 2,
		func(o [][]T) { v().addReLU(o[0], o[1]) }, func(o [][]T) { ref.addReLU(o[0], o[1]) })
	testElementwise(t, "ReLUGrad", 3,
		func(o [][]T) { v().reluGrad(o[0], o[1], o[2]) }, func(o [][]T) { ref.reluGrad(o[0], o[1], o[2]) })
	testElementwise(t, "SGD", 2,
		func(o [][]T) { v().sgd(0.3, 0.01, o[0], o[1]) }, func(o [][]T) { ref.sgd(0.3, 0.01, o[0], o[1]) })
	testElementwise(t, "SGDNoDecay", 2,
		func(o [][]T) { v().sgd(0.1, 0, o[0], o[1]) }, func(o [][]T) { ref.sgd(0.1, 0, o[0], o[1]) })
	testElementwise(t, "ScaledDiff", 3,
		func(o [][]T) { v().scaledDiff(2.0/3, o[0], o[1], o[2]) }, func(o [][]T) { ref.scaledDiff(2.0/3, o[0], o[1], o[2]) })
	for op, name := range []string{"Add", "Sub", "Mul"} {
		testElementwise(t, name, 3,
			func(o [][]T) { v().binary[op](o[0], o[1], o[2]) }, func(o [][]T) { ref.binary[op](o[0], o[1], o[2]) })
		testElementwise(t, name+"InPlace", 2,
			func(o [][]T) { v().binary[op](o[0], o[0], o[1]) }, func(o [][]T) { ref.binary[op](o[0], o[0], o[1]) })
	}
	for op, name := range []string{"AddScalar", "SubScalar", "MulScalar", "DivScalar"} {
		for _, s := range []T{4, 0.3, -1e-3, 0} {
			testElementwise(t, name, 2,
				func(o [][]T) { v().scalar[op](o[0], o[1], s) }, func(o [][]T) { ref.scalar[op](o[0], o[1], s) })
		}
	}
}

func TestElementwiseKernels(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) { testElementwiseSet(t, vec32) })
		t.Run("float64", func(t *testing.T) { testElementwiseSet(t, vec64) })
	})
}

func testSumSquaredDiff[T nnrt.Float](t *testing.T, f func(y, t []T) T, tol float64) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range vectorLengths() {
		y, tg := randomVector[T](rng, n+1)[1:], randomVector[T](rng, n+1)[1:]
		var want float64
		for i := range y {
			d := float64(y[i]) - float64(tg[i])
			want += d * d
		}
		got := float64(f(y, tg))
		if d := math.Abs(got - want); !(d <= tol*math.Sqrt(float64(max(n, 1)))*want+1e-30) {
			t.Fatalf("n=%d: Σ(y-t)² = %v, want %v (error %.3g)", n, got, want, d)
		}
	}
	inf := []T{1, T(math.Inf(1)), 2}
	if got := f(inf, []T{0, 0, 0}); !math.IsInf(float64(got), 1) {
		t.Errorf("Σ(y-t)² with an infinity = %v", got)
	}
}

func TestSumSquaredDiff(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		t.Run("float32", func(t *testing.T) { testSumSquaredDiff(t, SumSquaredDiff32, 1e-6) })
		t.Run("float64", func(t *testing.T) { testSumSquaredDiff(t, SumSquaredDiff64, 1e-15) })
	})
}

// TestRowKernels checks the row-wise wrappers against plain loops over
// matrices whose rows are not multiples of the vector width.
func TestRowKernels(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, cols := range []int{1, 7, 16, 33, 128, 1000} {
			for _, rows := range []int{1, 3, 32} {
				x := specialVector[float32](rng, rows*cols)
				bias := specialVector[float32](rng, cols)
				want := append([]float32(nil), x...)
				got := append([]float32(nil), x...)
				for r := range rows {
					for i := range cols {
						want[r*cols+i] = nnrt.ReLU(want[r*cols+i] + bias[i])
					}
				}
				AddBiasReLU32(got, bias)
				if i := same(got, want); i >= 0 {
					t.Fatalf("AddBiasReLU32 %dx%d: element %d = %v, want %v", rows, cols, i, got[i], want[i])
				}

				x64 := specialVector[float64](rng, rows*cols)
				b64 := specialVector[float64](rng, cols)
				want64 := append([]float64(nil), x64...)
				got64 := append([]float64(nil), x64...)
				for r := range rows {
					for i := range cols {
						want64[r*cols+i] += b64[i]
					}
				}
				AddBias64(got64, b64)
				if i := same(got64, want64); i >= 0 {
					t.Fatalf("AddBias64 %dx%d: element %d = %v, want %v", rows, cols, i, got64[i], want64[i])
				}

				sum := make([]float32, cols)
				wantSum := make([]float32, cols)
				for i := range cols {
					s := float32(0)
					for r := range rows {
						s += x[r*cols+i]
					}
					wantSum[i] = s
				}
				SumRows32(sum, x)
				if i := same(sum, wantSum); i >= 0 {
					t.Fatalf("SumRows32 %dx%d: element %d = %v, want %v", rows, cols, i, sum[i], wantSum[i])
				}

				sum64 := make([]float64, cols)
				wantSum64 := make([]float64, cols)
				for i := range cols {
					for r := range rows {
						wantSum64[i] += x64[r*cols+i]
					}
				}
				SumRows64(sum64, x64)
				if i := same(sum64, wantSum64); i >= 0 {
					t.Fatalf("SumRows64 %dx%d: element %d = %v, want %v", rows, cols, i, sum64[i], wantSum64[i])
				}
			}
		}
	})
}

func TestElementwiseLengths(t *testing.T) {
	mustPanic(t, "AddBias32", func() { AddBias32(make([]float32, 5), make([]float32, 2)) })
	mustPanic(t, "AddBiasReLU64", func() { AddBiasReLU64(make([]float64, 5), nil) })
	mustPanic(t, "SumRows32", func() { SumRows32(make([]float32, 3), make([]float32, 7)) })
	forEachKernelSet(t, func(t *testing.T) {
		sum := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		SumRows32(sum, nil) // no rows: zeros
		for i, v := range sum {
			if v != 0 {
				t.Fatalf("SumRows32 of no rows: sum[%d] = %v", i, v)
			}
		}
	})
	mustPanic(t, "ReLUGrad32", func() { ReLUGrad32(make([]float32, 3), make([]float32, 3), make([]float32, 2)) })
	mustPanic(t, "SGD64", func() { SGD64(make([]float64, 3), make([]float64, 4), 1, 0) })
	mustPanic(t, "ScaledDiff32", func() { ScaledDiff32(make([]float32, 3), make([]float32, 4), make([]float32, 3), 1) })
	mustPanic(t, "SumSquaredDiff64", func() { SumSquaredDiff64(make([]float64, 3), make([]float64, 4)) })
	mustPanic(t, "DivScalar32", func() { DivScalar32(make([]float32, 3), make([]float32, 2), 4) })
	mustPanic(t, "Add32", func() { Add32(make([]float32, 3), make([]float32, 3), make([]float32, 2)) })
	mustPanic(t, "Mul64", func() { Mul64(make([]float64, 3), make([]float64, 4), make([]float64, 3)) })
}

func TestElementwiseAllocs(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		x, y, z := make([]float32, 300), make([]float32, 300), make([]float32, 300)
		b := make([]float32, 100)
		allocs := testing.AllocsPerRun(10, func() {
			AddBias32(x, b)
			AddBiasReLU32(x, b)
			SumRows32(b, x)
			ReLUGrad32(x, y, z)
			SGD32(x, y, 0.1, 0.01)
			ScaledDiff32(x, y, z, 0.5)
			SumSquaredDiff32(x, y)
			Add32(x, y, z)
			DivScalar32(x, y, 4)
			Sub64(nil, nil, nil)
		})
		if allocs != 0 {
			t.Fatalf("%v allocations per call", allocs)
		}
	})
}

// BenchmarkElementwise runs the elementwise kernels over W4-sized operands
// (a 1024×1024 weight, a 256×1024 activation) in every kernel set.
func BenchmarkElementwise(b *testing.B) {
	p, g := make([]float32, 1<<20), make([]float32, 1<<20)
	x, y, z := make([]float32, 256*1024), make([]float32, 256*1024), make([]float32, 256*1024)
	bias := make([]float32, 1024)
	for _, ks := range kernelSets {
		restore, err := Use(ks.name)
		if err != nil {
			continue
		}
		bench := func(name string, bytes int, f func()) {
			b.Run(ks.name+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(bytes))
				for b.Loop() {
					f()
				}
			})
		}
		bench("SGD32", 12<<20, func() { SGD32(p, g, 0, 0) })
		bench("AddBiasReLU32", 8*len(x), func() { AddBiasReLU32(x, bias) })
		bench("ReLUGrad32", 12*len(x), func() { ReLUGrad32(x, y, z) })
		bench("SumRows32", 4*len(x), func() { SumRows32(bias, x) })
		bench("ScaledDiff32", 12*len(x), func() { ScaledDiff32(x, y, z, 0.5) })
		bench("SumSquaredDiff32", 8*len(x), func() { SumSquaredDiff32(x, y) })
		bench("Add32", 12*len(x), func() { Add32(x, y, z) })
		bench("DivScalar32", 8*len(x), func() { DivScalar32(x, y, 4) })
		restore()
	}
}

// TestSigmoidInPlace checks every kernel set's vector sigmoid against the
// exact sigmoid (in float64): within 3 ulps on a grid over the whole range
// (through the subnormal results below -87 and the zeros below -104), on
// random bit patterns and at every length of the tail; NaN, the
// infinities and zeros exactly.
func TestSigmoidInPlace(t *testing.T) {
	var xs []float32
	for x := -120.0; x <= 120; x += 1.0 / 64 {
		xs = append(xs, float32(x))
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for range 1 << 16 {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
	}
	xs = append(xs, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32)
	exact := func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
	forEachKernelSet(t, func(t *testing.T) {
		worst := 0
		check := func(in []float32) {
			got := append([]float32(nil), in...)
			SigmoidInPlace32(got)
			for i, x := range in {
				want := exact(x)
				if x != x {
					if got[i] == got[i] {
						t.Fatalf("sigmoid(NaN) = %v", got[i])
					}
					continue
				}
				ulps := int(math.Float32bits(got[i])) - int(math.Float32bits(want))
				worst = max(worst, ulps, -ulps)
				if ulps > 3 || ulps < -3 {
					t.Fatalf("sigmoid(%v) = %v, want %v (%d ulps)", x, got[i], want, ulps)
				}
			}
		}
		check(xs)
		specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
		got := append([]float32(nil), specials...)
		SigmoidInPlace32(got)
		if got[0] == got[0] || got[1] != 1 || got[2] != 0 || got[3] != 0.5 || got[4] != 0.5 {
			t.Fatalf("sigmoid(%v) = %v", specials, got)
		}
		for n := 0; n <= 40; n++ {
			// Odd offsets, and a sentinel that the tail must not touch.
			buf := append([]float32(nil), xs[1000+n:1000+2*n+2]...)
			sentinel := math.Float32bits(buf[n+1])
			check(buf[1 : n+1])
			SigmoidInPlace32(buf[1 : n+1 : n+1])
			if math.Float32bits(buf[n+1]) != sentinel {
				t.Fatalf("n=%d: written past the end", n)
			}
		}
		t.Logf("worst error %d ulps", worst)
	})
}

// TestSoftmax32 checks every kernel set's Softmax32 and LogSumExp32
// against softmax and log-sum-exp in float64: rows of every length to 40
// (the 8-lane loop and every tail), from a few units to a spread of 200
// (results down to zero and through the subnormals), with -Inf elements,
// all -Inf, +Inf and NaN (NaN out where float64 gives NaN), and nothing
// written past the row.
func TestSoftmax32(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	forEachKernelSet(t, func(t *testing.T) {
		worst, worstLSE := 0.0, 0.0
		for n := 1; n <= 40; n++ {
			for trial := range 40 {
				spread := []float64{1, 10, 60, 200}[trial%4]
				row := make([]float32, n+1)
				for i := range n {
					row[i] = float32(spread * (2*rng.Float64() - 1))
				}
				switch trial {
				case 5:
					row[rng.IntN(n)] = float32(math.Inf(-1))
				case 6:
					for i := range n {
						row[i] = float32(math.Inf(-1))
					}
				case 7:
					row[rng.IntN(n)] = float32(math.Inf(1))
				case 8:
					row[rng.IntN(n)] = float32(math.NaN())
				}
				row[n] = 12345 // sentinel
				in := append([]float32(nil), row[:n]...)
				want := make([]float64, n)
				top := math.Inf(-1)
				for i, x := range in {
					if x != x || float64(x) > top {
						top = float64(x)
					}
					want[i] = float64(x)
				}
				var sum float64
				for i := range want {
					want[i] = math.Exp(want[i] - top)
					sum += want[i]
				}
				wantLSE := top + math.Log(sum)
				gotLSE := LogSumExp32(in)
				Softmax32(row[:n])
				if row[n] != 12345 {
					t.Fatalf("n=%d: written past the row", n)
				}
				for i := range want {
					want[i] /= sum
					g, w := float64(row[i]), want[i]
					if math.IsNaN(w) || math.IsNaN(g) {
						if math.IsNaN(w) != math.IsNaN(g) {
							t.Fatalf("n=%d trial %d: softmax %v of %v is %v, want %v", n, trial, i, in, g, w)
						}
						continue
					}
					// Relative to the row's largest output (1/n at least):
					// tiny outputs are within that much absolutely.
					if err := math.Abs(g-w) / math.Max(w, 1.0/float64(n)); err > worst {
						worst = err
					}
				}
				if math.IsNaN(wantLSE) || math.IsInf(wantLSE, 0) {
					if !(math.IsNaN(wantLSE) && math.IsNaN(float64(gotLSE))) && float64(gotLSE) != wantLSE {
						t.Fatalf("n=%d trial %d: log-sum-exp of %v is %v, want %v", n, trial, in, gotLSE, wantLSE)
					}
					continue
				}
				if err := math.Abs(float64(gotLSE)-wantLSE) / math.Max(math.Abs(wantLSE), 1); err > worstLSE {
					worstLSE = err
				}
			}
		}
		if worst > 1e-6 || worstLSE > 1e-6 {
			t.Fatalf("worst relative error: softmax %.2g, log-sum-exp %.2g; want under 1e-6", worst, worstLSE)
		}
		t.Logf("worst relative error: softmax %.2g, log-sum-exp %.2g", worst, worstLSE)
	})
}

// BenchmarkSoftmax32 runs a classifier's loss rows, 32 rows of 10 logits,
// through each kernel set's LogSumExp32 and Softmax32.
func BenchmarkSoftmax32(b *testing.B) {
	logits := benchMatrix(32 * 10)
	rows := make([]float32, len(logits))
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		b.Run(ks.name, func(b *testing.B) {
			for b.Loop() {
				copy(rows, logits)
				for r := 0; r < len(rows); r += 10 {
					sinkSoftmax += ks.logSumExp32(rows[r : r+10])
					ks.softmax32(rows[r : r+10])
				}
			}
		})
	}
}

// BenchmarkSoftmaxRows32 runs SoftmaxRows32 over attention's scores in
// the transformer workload (2048 rows of 32 per layer), per kernel set,
// and for AVX-512 also as the row-by-row AVX2 loop it replaced: ns/row.
func BenchmarkSoftmaxRows32(b *testing.B) {
	const n, rows = 32, 2048
	x := benchMatrix(n * rows)
	y := make([]float32, len(x))
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, perRow := range []bool{false, true} {
			if perRow && ks.softmaxRows32 == nil {
				continue
			}
			name := ks.name
			if perRow {
				name += "/perRow"
			}
			b.Run(name, func(b *testing.B) {
				restore, err := Use(ks.name)
				if err != nil {
					b.Fatal(err)
				}
				defer restore()
				if perRow {
					saved := ks.softmaxRows32
					ks.softmaxRows32 = nil
					defer func() { ks.softmaxRows32 = saved }()
				}
				for b.Loop() {
					SoftmaxRows32(y, x, n)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
			})
		}
	}
}

var sinkSoftmax float32
