package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvForward: a 3×3 input, a 2×2 kernel, by hand: each output is the
// sum of the kernel times the 2×2 window under it, plus the bias; padded,
// the windows at the edges read zeros.
func TestConvForward(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float64{1, 10, 100, 1000}
	c := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 3, W: 3, R: 2, S: 2, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}
	y := make([]float64, 4)
	ConvForward64(c, y, x, w, []float64{0.5}, nil)
	want := []float64{1 + 20 + 400 + 5000 + 0.5, 2 + 30 + 500 + 6000 + 0.5, 4 + 50 + 700 + 8000 + 0.5, 5 + 60 + 800 + 9000 + 0.5}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("y = %v, want %v", y, want)
		}
	}
	c.PadH, c.PadW, c.StrideH, c.StrideW = 1, 1, 2, 2 // outputs at (-1,-1), (-1,1), (1,-1), (1,1)
	ConvForward64(c, y, x, w, nil, nil)
	want = []float64{1000 * 1, 100*2 + 1000*3, 10*4 + 1000*7, 1*5 + 10*6 + 100*8 + 1000*9}
	for i := range y {
		if y[i] != want[i] {
			t.Fatalf("padded, strided: y = %v, want %v", y, want)
		}
	}
}

// TestConvAdjoint: the convolution is linear in x and in w, and its
// gradients are its adjoints: Σ dy·conv(x, w) = Σ inputGrad(dy, w)·x =
// Σ weightGrad(dy, x)·w, for groups, strides, paddings and dilations, in
// one and two dimensions.
func TestConvAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []Conv{
		{N: 2, C: 3, K: 4, Groups: 1, H: 7, W: 6, R: 3, S: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 0, DilH: 2, DilW: 1},
		{N: 1, C: 6, K: 6, Groups: 6, H: 5, W: 5, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1},
		{N: 3, C: 4, K: 2, Groups: 2, H: 1, W: 9, R: 1, S: 4, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2, DilH: 1, DilW: 2},
		{N: 2, C: 8, K: 6, Groups: 2, H: 5, W: 7, R: 3, S: 2, StrideH: 2, StrideW: 1, PadH: 2, PadW: 1, DilH: 1, DilW: 2}, // GEMM
	} {
		random := func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.Float64()*2 - 1
			}
			return v
		}
		x, w := random(c.N*c.C*c.H*c.W), random(c.K*(c.C/c.Groups)*c.R*c.S)
		dy := random(c.N * c.K * c.P() * c.Q())
		y, dx, dw := make([]float64, len(dy)), make([]float64, len(x)), make([]float64, len(w))
		work := make([]float64, ConvWork64(c))
		ConvForward64(c, y, x, w, nil, work)
		ConvInputGrad64(c, dx, dy, w, work)
		ConvWeightGrad64(c, dw, dy, x, work)
		dot := func(a, b []float64) (s float64) {
			for i := range a {
				s += a[i] * b[i]
			}
			return s
		}
		want := dot(dy, y)
		for name, got := range map[string]float64{"input": dot(dx, x), "weight": dot(dw, w)} {
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("%+v: Σ %s grad · %s = %v, Σ dy·y = %v", c, name, name, got, want)
			}
		}
	}
}

// TestPooling: 2×2 windows of stride 2 over a 4×4 plane, by hand; with
// padding 1 and stride 1 on a 2×2 plane, max reads the padding as -∞ and
// avg as zeros counted in the divisor; the max's gradient goes to the
// first largest of a tie.
func TestPooling(t *testing.T) {
	x := []float64{
		1, 5, 2, 2,
		3, 4, 2, 2,
		0, -1, 7, 6,
		-2, -3, 8, 9,
	}
	c := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 4, W: 4, R: 2, S: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
	y := make([]float64, 4)
	MaxPoolForward64(c, y, x)
	if want := []float64{5, 2, 0, 9}; !slicesEqual(y, want) {
		t.Errorf("max pool %v, want %v", y, want)
	}
	AvgPoolForward64(c, y, x)
	if want := []float64{13.0 / 4, 2, -6.0 / 4, 30.0 / 4}; !slicesEqual(y, want) {
		t.Errorf("avg pool %v, want %v", y, want)
	}
	dx := make([]float64, 16)
	MaxPoolGrad64(c, dx, []float64{1, 2, 3, 4}, x)
	want := make([]float64, 16)
	want[1], want[2], want[8], want[15] = 1, 2, 3, 4 // the tie of 2s: the first, row-major
	if !slicesEqual(dx, want) {
		t.Errorf("max pool grad %v, want %v", dx, want)
	}
	AvgPoolGrad64(c, dx, []float64{4, 8, 12, 16})
	if dx[0] != 1 || dx[5] != 1 || dx[2] != 2 || dx[15] != 4 {
		t.Errorf("avg pool grad %v", dx)
	}

	p := Conv{N: 1, C: 1, K: 1, Groups: 1, H: 2, W: 2, R: 2, S: 2, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
	small := []float64{-1, -2, -3, -4}
	y = make([]float64, 9)
	MaxPoolForward64(p, y, small)
	if want := []float64{-1, -1, -2, -1, -1, -2, -3, -3, -4}; !slicesEqual(y, want) {
		t.Errorf("padded max pool %v, want %v", y, want)
	}
	AvgPoolForward64(p, y, small)
	if want := []float64{-0.25, -0.75, -0.5, -1, -2.5, -1.5, -0.75, -1.75, -1}; !slicesEqual(y, want) {
		t.Errorf("padded avg pool %v, want %v", y, want)
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPoolingAllocs(t *testing.T) {
	c := Conv{N: 2, C: 3, K: 3, Groups: 3, H: 8, W: 8, R: 3, S: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
	x, y := make([]float32, 2*3*8*8), make([]float32, 2*3*c.P()*c.Q())
	dx := make([]float32, len(x))
	if n := testing.AllocsPerRun(10, func() {
		MaxPoolForward32(c, y, x)
		MaxPoolGrad32(c, dx, y, x)
		AvgPoolForward32(c, y, x)
		AvgPoolGrad32(c, dx, y)
	}); n != 0 {
		t.Errorf("pooling allocates %v times", n)
	}
}

// convCases are geometries for the GEMM convolutions: pointwise ones, im2col
// ones built in one chunk and in several (chunks ending mid-row), groups,
// strides, paddings, dilations, 1-D, and the direct loops' small ones.
var convCases = []Conv{
	{N: 2, C: 3, K: 5, Groups: 1, H: 6, W: 7, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1},
	{N: 3, C: 8, K: 16, Groups: 1, H: 5, W: 4, R: 1, S: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},                   // pointwise
	{N: 1, C: 8, K: 12, Groups: 4, H: 5, W: 4, R: 1, S: 1, StrideH: 1, StrideW: 1, DilH: 2, DilW: 2},                   // pointwise, grouped
	{N: 2, C: 64, K: 4, Groups: 1, H: 9, W: 9, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}, // 3 chunks of 32, 32, 17
	{N: 2, C: 6, K: 10, Groups: 2, H: 9, W: 8, R: 3, S: 2, StrideH: 2, StrideW: 3, PadH: 2, PadW: 1, DilH: 2, DilW: 1},
	{N: 2, C: 4, K: 6, Groups: 1, H: 1, W: 11, R: 1, S: 3, StrideH: 1, StrideW: 2, PadH: 0, PadW: 2, DilH: 1, DilW: 3},  // 1-D
	{N: 1, C: 1, K: 6, Groups: 1, H: 12, W: 12, R: 5, S: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 1, DilW: 1}, // LeNet's first
	{N: 2, C: 5, K: 5, Groups: 5, H: 6, W: 6, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1},   // depthwise: direct
}

// TestConvGemm: with every kernel set this CPU runs, the GEMM convolutions
// equal the direct loops' (the reference), forward with bias and relu, and
// both gradients, in float64 and float32.
func TestConvGemm(t *testing.T) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		restore, err := Use(ks.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convCases {
			checkConvGemm(t, ks.name, c, 1e-13, ConvWork64, ConvForwardReLU64, ConvInputGrad64, ConvWeightGrad64)
			checkConvGemm(t, ks.name, c, 2e-6, ConvWork32, ConvForwardReLU32, ConvInputGrad32, ConvWeightGrad32)
		}
		restore()
	}
}

func checkConvGemm[T float32 | float64](t *testing.T, set string, c Conv, tol float64,
	work func(Conv) int,
	forward func(c Conv, y, x, w, b, work []T),
	inputGrad func(c Conv, dx, dy, w, work []T),
	weightGrad func(c Conv, dw, dy, x, work []T)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(c.C), uint64(c.K)))
	random := func(n int) []T {
		v := make([]T, n)
		for i := range v {
			v[i] = T(rng.Float64()*2 - 1)
		}
		return v
	}
	x, w, b := random(c.N*c.C*c.H*c.W), random(c.K*(c.C/c.Groups)*c.R*c.S), random(c.K)
	dy := random(c.N * c.K * c.P() * c.Q())
	ws := random(work(c)) // the contents on entry do not matter
	compare := func(what string, got, want []T) {
		t.Helper()
		var diff, most float64
		for i := range want {
			diff = math.Max(diff, math.Abs(float64(got[i]-want[i])))
			most = math.Max(most, math.Abs(float64(want[i])))
		}
		if diff > tol*most {
			t.Errorf("%s %+v %T: %s off by %.3g (largest %.3g)", set, c, got[0], what, diff, most)
		}
	}
	y, want := random(len(dy)), make([]T, len(dy))
	forward(c, y, x, w, b, ws)
	convForwardDirect(c, want, x, w, b)
	for i, v := range want {
		want[i] = max(v, 0)
	}
	compare("forward", y, want)

	dx, wantDx := random(len(x)), make([]T, len(x))
	inputGrad(c, dx, dy, w, ws)
	convInputGradDirect(c, wantDx, dy, w)
	compare("input grad", dx, wantDx)

	dw, wantDw := random(len(w)), make([]T, len(w))
	weightGrad(c, dw, dy, x, ws)
	convWeightGradDirect(c, wantDw, dy, x)
	compare("weight grad", dw, wantDw)
}

func TestConvAllocs(t *testing.T) {
	for _, c := range convCases {
		x, w := make([]float32, c.N*c.C*c.H*c.W), make([]float32, c.K*(c.C/c.Groups)*c.R*c.S)
		y := make([]float32, c.N*c.K*c.P()*c.Q())
		dx, dw, b := make([]float32, len(x)), make([]float32, len(w)), make([]float32, c.K)
		work := make([]float32, ConvWork32(c))
		if n := testing.AllocsPerRun(10, func() {
			ConvForwardReLU32(c, y, x, w, b, work)
			ConvInputGrad32(c, dx, y, w, work)
			ConvWeightGrad32(c, dw, y, x, work)
		}); n != 0 {
			t.Errorf("%+v: the convolution allocates %v times", c, n)
		}
	}
}

// TestPoolConv: split across 2 and 3 workers, the convolution's kernels
// give the same bits as on one core, and allocate nothing.
func TestPoolConv(t *testing.T) {
	for _, workers := range []int{2, 3} {
		p := NewPool(workers, 0)
		for _, c := range append(convCases, Conv{N: 5, C: 16, K: 16, Groups: 1, H: 12, W: 12, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1}) {
			rng := rand.New(rand.NewPCG(3, uint64(c.K)))
			random := func(n int) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.Float64()*2 - 1)
				}
				return v
			}
			x, w, b := random(c.N*c.C*c.H*c.W), random(c.K*(c.C/c.Groups)*c.R*c.S), random(c.K)
			dy := random(c.N * c.K * c.P() * c.Q())
			work := make([]float32, ConvWork32(c))
			y, dx, dw := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
			ConvForwardReLU32(c, y, x, w, b, work)
			ConvInputGrad32(c, dx, dy, w, work)
			ConvWeightGrad32(c, dw, dy, x, work)
			py, pdx, pdw := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
			if n := testing.AllocsPerRun(5, func() {
				p.ConvForwardReLU32(c, py, x, w, b)
				p.ConvInputGrad32(c, pdx, dy, w)
				p.ConvWeightGrad32(c, pdw, dy, x)
			}); n != 0 {
				t.Errorf("%d workers, %+v: allocates %v times", workers, c, n)
			}
			for what, pair := range map[string][2][]float32{"forward": {y, py}, "input grad": {dx, pdx}, "weight grad": {dw, pdw}} {
				for i := range pair[0] {
					if pair[0][i] != pair[1][i] {
						t.Errorf("%d workers, %+v: %s [%d] = %v, one core %v", workers, c, what, i, pair[1][i], pair[0][i])
						break
					}
				}
			}
		}
		p.Close()
	}
}

// TestMaxPool2x2: the 2×2 stride-2 path picks the window's first largest,
// or first NaN, as maxTap does, on inputs full of ties and NaNs, and with
// an odd width (the last column read by no window).
func TestMaxPool2x2(t *testing.T) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		restore, err := Use(ks.name)
		if err != nil {
			t.Fatal(err)
		}
		// A last column no window reads, and none; rows of 16 windows and
		// more (the AVX-512 kernel's blocks), with NaNs everywhere or rare.
		for _, w := range []int{7, 8, 40, 71} {
			for _, nanEvery := range []int{4, 300} {
				checkMaxPool2x2(t, ks.name, w, nanEvery)
			}
		}
		restore()
	}
}

func checkMaxPool2x2(t *testing.T, set string, w, nanEvery int) {
	t.Helper()
	{
		c := Conv{N: 2, C: 3, K: 3, Groups: 3, H: 6, W: w, R: 2, S: 2, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1}
		rng := rand.New(rand.NewPCG(5, uint64(w)))
		values := []float32{-1, 0, 1, float32(math.Copysign(0, -1)), 2}
		x := make([]float32, c.N*c.C*c.H*c.W)
		for i := range x {
			x[i] = values[rng.IntN(len(values))]
			if rng.IntN(nanEvery) == 0 {
				x[i] = float32(math.NaN())
			}
		}
		P, Q := c.P(), c.Q()
		y, dy := make([]float32, c.N*c.C*P*Q), make([]float32, c.N*c.C*P*Q)
		for i := range dy {
			dy[i] = float32(i + 1)
		}
		dx := make([]float32, len(x))
		for i := range dx {
			dx[i] = 99 // what was there before does not matter
		}
		MaxPoolForward32(c, y, x)
		MaxPoolGrad32(c, dx, dy, x)
		want := make([]float32, len(x))
		for plane := range c.N * c.C {
			for p := range P {
				for q := range Q {
					i := maxTap(c, x, plane, p, q)
					o := (plane*P+p)*Q + q
					if got := y[o]; got != x[i] && !(got != got && x[i] != x[i]) {
						t.Fatalf("%s, W %d: output %d = %v, want %v", set, w, o, got, x[i])
					}
					want[i] += dy[o]
				}
			}
		}
		for i := range want {
			if dx[i] != want[i] {
				t.Fatalf("%s, W %d, a NaN in %d: dx[%d] = %v, want %v", set, w, nanEvery, i, dx[i], want[i])
			}
		}
	}
}

// TestSumChannels: each channel's sum over the samples and its plane,
// for planes shorter and longer than the eight partial sums.
func TestSumChannels(t *testing.T) {
	for _, size := range []int{1, 5, 8, 13, 100} {
		n, channels := 3, 4
		x := make([]float64, n*channels*size)
		want := make([]float64, channels)
		for i := range x {
			x[i] = float64(i%7) - 2.5
			want[i/size%channels] += x[i]
		}
		got := make([]float64, channels)
		SumChannels64(got, x, n, channels, size)
		for k := range want {
			if math.Abs(got[k]-want[k]) > 1e-12 {
				t.Errorf("size %d: channel %d sums to %v, want %v", size, k, got[k], want[k])
			}
		}
	}
}

// TestDotBlocks: every AVX-512 dot-product block against plain dots, for
// lengths around the 16-lane vectors, strides longer than the rows, and c
// added to, not overwritten.
func TestDotBlocks(t *testing.T) {
	if !supported("avx512") || dotBlocks32[0][0] == nil {
		t.Skip("no AVX-512 dot-product blocks in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 15, 16, 17, 40, 136} {
		lda, ldb, ldc := n+3, n+5, 4
		a, b := make([]float32, 8*lda), make([]float32, 3*ldb)
		for i := range a {
			a[i] = float32(rng.Float64()*2 - 1)
		}
		for i := range b {
			b[i] = float32(rng.Float64()*2 - 1)
		}
		for rows := 1; rows <= 8; rows++ {
			for cols := 1; cols <= 3; cols++ {
				c := make([]float32, 8*ldc)
				for i := range c {
					c[i] = 0.5
				}
				dotBlocks32[rows-1][cols-1](&a[0], lda, &b[0], ldb, n, &c[0], ldc, 1, 0, 0)
				for i := range 8 {
					for j := range ldc {
						want := 0.5
						if i < rows && j < cols {
							for k := range n {
								want += float64(a[i*lda+k]) * float64(b[j*ldb+k])
							}
						}
						if got := float64(c[i*ldc+j]); math.Abs(got-want) > 1e-5*math.Sqrt(float64(n)) {
							t.Fatalf("%dx%d, n %d: c[%d][%d] = %v, want %v", rows, cols, n, i, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestConvGridBlocks: every AVX-512 grid convolution block against plain
// sums, for position counts around its blocks of 48, overlapping tap
// rows, and the output's stride longer than its rows.
func TestConvGridBlocks(t *testing.T) {
	if !supported("avx512") || convGrid32[0] == nil {
		t.Skip("no AVX-512 grid convolution blocks in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	src := make([]float32, 400)
	for i := range src {
		src[i] = float32(rng.Float64()*2 - 1)
	}
	offs := []int32{0, 1, 2, 37, 38, 100, 3}
	for _, n := range []int{1, 16, 47, 48, 49, 100, 250} {
		for ch := 1; ch <= 8; ch++ {
			taps := len(offs)
			wt := make([]float32, taps*ch)
			for i := range wt {
				wt[i] = float32(rng.Float64()*2 - 1)
			}
			ldo := n + 5
			out := make([]float32, ch*ldo)
			for i := range out {
				out[i] = 99 // overwritten inside, kept outside
			}
			convGrid32[ch-1](&out[0], ldo, &wt[0], &src[0], &offs[0], taps, n)
			for k := range ch {
				for j := range ldo {
					want := 99.0
					if j < n {
						want = 0
						for tp, off := range offs {
							want += float64(wt[tp*ch+k]) * float64(src[int(off)+j])
						}
					}
					if got := float64(out[k*ldo+j]); math.Abs(got-want) > 1e-5 {
						t.Fatalf("%d channels, n %d: out[%d][%d] = %v, want %v", ch, n, k, j, got, want)
					}
				}
			}
		}
	}
}
