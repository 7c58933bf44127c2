package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLayerNorm checks LayerNorm32 and LayerNormGrads32 with every kernel
// set against a float64 reference (x̂ and the gradients computed in
// float64 from the same inputs), and that every set gives the Go rows'
// bits; rows of 8 to 72 elements, several rows, bias or none, dx in dy's
// place.
func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int, scale, shift float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(shift + scale*(2*rng.Float64()-1))
		}
		return x
	}
	type result struct{ y, dx, dw []float32 }
	for _, n := range []int{8, 16, 24, 64, 72, 5, 13} {
		for _, rows := range []int{1, 3, 32} {
			x := random(n*rows, 2, 0.5)
			w, b := random(n, 1, 1), random(n, 1, 0)
			dy := random(n*rows, 1, 0)
			for _, bias := range [][]float32{b, nil} {
				var results []result
				forEachKernelSet(t, func(t *testing.T) {
					y := make([]float32, len(x))
					LayerNorm32(y, x, w, bias, 1e-5)
					dw := make([]float32, n)
					dx := slices.Clone(dy)
					LayerNormGrads32(dx, dw, dx, x, w, 1e-5)
					// The reference, in float64.
					wantDW := make([]float64, n)
					for r := range rows {
						row, g := x[r*n:(r+1)*n], dy[r*n:(r+1)*n]
						var mean, v float64
						for _, e := range row {
							mean += float64(e)
						}
						mean /= float64(n)
						for _, e := range row {
							v += (float64(e) - mean) * (float64(e) - mean)
						}
						rstd := 1 / math.Sqrt(v/float64(n)+1e-5)
						var mg, mgx float64
						for i, e := range row {
							xh := (float64(e) - mean) * rstd
							gi := float64(g[i]) * float64(w[i])
							mg += gi
							mgx += gi * xh
						}
						mg /= float64(n)
						mgx /= float64(n)
						for i, e := range row {
							xh := (float64(e) - mean) * rstd
							want := xh * float64(w[i])
							if bias != nil {
								want += float64(bias[i])
							}
							if d := math.Abs(float64(y[r*n+i]) - want); d > 2e-6*(1+math.Abs(want)) {
								t.Fatalf("n %d row %d: y[%d] = %v, want %v", n, r, i, y[r*n+i], want)
							}
							gi := float64(g[i]) * float64(w[i])
							wantDX := (gi - mg - xh*mgx) * rstd
							if d := math.Abs(float64(dx[r*n+i]) - wantDX); d > 2e-6*(1+math.Abs(wantDX)) {
								t.Fatalf("n %d row %d: dx[%d] = %v, want %v", n, r, i, dx[r*n+i], wantDX)
							}
							wantDW[i] += float64(g[i]) * xh
						}
					}
					for i := range dw {
						if d := math.Abs(float64(dw[i]) - wantDW[i]); d > 1e-5*(1+math.Abs(wantDW[i])) {
							t.Fatalf("n %d: dw[%d] = %v, want %v", n, i, dw[i], wantDW[i])
						}
					}
					results = append(results, result{y, dx, dw})
				})
				for _, r := range results[1:] {
					for _, pair := range [][2][]float32{{r.y, results[0].y}, {r.dx, results[0].dx}, {r.dw, results[0].dw}} {
						for i := range pair[0] {
							if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
								t.Fatalf("n %d rows %d: kernel sets differ at %d: %v and %v", n, rows, i, pair[0][i], pair[1][i])
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkLayerNorm32 runs LayerNorm32 and LayerNormGrads32 over the
// transformer workload's rows (512 of 64) per kernel set: in one call
// (the assembly takes two rows at a time) and a call per row (one row at
// a time); ns/row.
func BenchmarkLayerNorm32(b *testing.B) {
	const n, rows = 64, 512
	x, dy := benchMatrix(n*rows), benchMatrix(n*rows)
	y, dx := make([]float32, n*rows), make([]float32, n*rows)
	w, bias, dw := benchMatrix(n), benchMatrix(n), make([]float32, n)
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, perRow := range []bool{false, true} {
			name := ks.name
			if perRow {
				name += "/perRow"
			}
			step := n * rows
			if perRow {
				step = n
			}
			run := func(name string, f func(lo, hi int)) {
				b.Run(name, func(b *testing.B) {
					restore, err := Use(ks.name)
					if err != nil {
						b.Fatal(err)
					}
					defer restore()
					for b.Loop() {
						for lo := 0; lo < n*rows; lo += step {
							f(lo, lo+step)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
				})
			}
			run(name+"/forward", func(lo, hi int) { LayerNorm32(y[lo:hi], x[lo:hi], w, bias, 1e-5) })
			run(name+"/grads", func(lo, hi int) { LayerNormGrads32(dx[lo:hi], dw, dy[lo:hi], x[lo:hi], w, 1e-5) })
		}
	}
}
