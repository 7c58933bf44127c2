package cudagen

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/runtime/nnrt"
)

// convCase is one convolution or pooling whose kernels TestConvKernels
// runs: x's shape, w's (nil for a pooling: then kernel is the window) and
// the attributes.
type convCase struct {
	name   string
	x, w   ir.Shape
	bias   bool
	kernel []int
	stride []int
	pad    []int
	dil    []int
	groups int
	avg    bool
	relu   bool // fused into the convolution, as a fusion pass would
}

var convCases = []convCase{
	{name: "conv2d", x: ir.Shape{2, 4, 7, 6}, w: ir.Shape{6, 2, 3, 2}, bias: true, stride: []int{2, 1}, pad: []int{1, 2}, dil: []int{1, 2}, groups: 2},
	{name: "conv2d_plain", x: ir.Shape{1, 3, 5, 5}, w: ir.Shape{2, 3, 3, 3}, stride: []int{1, 1}, pad: []int{0, 0}, dil: []int{1, 1}, groups: 1},
	{name: "conv2d_same_relu", x: ir.Shape{2, 2, 4, 5}, w: ir.Shape{3, 2, 3, 3}, bias: true, stride: []int{1, 1}, pad: []int{1, 1}, dil: []int{1, 1}, groups: 1, relu: true},
	{name: "conv2d_one_channel", x: ir.Shape{2, 1, 6, 6}, w: ir.Shape{1, 1, 3, 3}, bias: true, stride: []int{2, 2}, pad: []int{1, 1}, dil: []int{1, 1}, groups: 1},
	{name: "conv1d", x: ir.Shape{2, 6, 11}, w: ir.Shape{3, 2, 3}, bias: true, stride: []int{2}, pad: []int{2}, dil: []int{2}, groups: 3},
	{name: "conv1d_one_group", x: ir.Shape{2, 3, 9}, w: ir.Shape{4, 3, 3}, bias: true, stride: []int{2}, pad: []int{1}, dil: []int{2}, groups: 1, relu: true},
	{name: "conv1d_depthwise", x: ir.Shape{3, 4, 10}, w: ir.Shape{8, 1, 4}, stride: []int{3}, pad: []int{1}, dil: []int{1}, groups: 4},
	{name: "max2d", x: ir.Shape{2, 3, 7, 6}, kernel: []int{3, 2}, stride: []int{2, 1}, pad: []int{1, 1}, dil: []int{2, 1}},
	{name: "max2d_plain", x: ir.Shape{1, 2, 6, 6}, kernel: []int{2, 2}, stride: []int{2, 2}, pad: []int{0, 0}, dil: []int{1, 1}},
	{name: "max1d", x: ir.Shape{2, 3, 13}, kernel: []int{4}, stride: []int{3}, pad: []int{2}, dil: []int{1}},
	{name: "max1d_gaps", x: ir.Shape{1, 2, 11}, kernel: []int{2}, stride: []int{3}, pad: []int{1}, dil: []int{1}},
	{name: "avg1d_gaps", x: ir.Shape{1, 2, 11}, kernel: []int{2}, stride: []int{3}, pad: []int{1}, dil: []int{1}, avg: true},
	{name: "avg2d", x: ir.Shape{2, 3, 7, 6}, kernel: []int{3, 3}, stride: []int{2, 1}, pad: []int{1, 1}, dil: []int{1, 1}, avg: true},
	{name: "avg1d", x: ir.Shape{2, 2, 9}, kernel: []int{3}, stride: []int{2}, pad: []int{1}, dil: []int{2}, avg: true},
}

// emit builds the case's value and its gradients, the operands all
// inputs and every result in a slot of its own, emitted into gen.
func (c convCase) emit(t *testing.T) (*generator, []*ir.Value) {
	t.Helper()
	g := ir.New("Conv", ir.F64, c.x[0], false)
	input := func(name string, shape ir.Shape) *ir.Value {
		v := g.Leaf(ir.OpInput, name, shape, ir.Attrs{})
		v.Storage = ir.Storage{Kind: ir.InArg}
		return v
	}
	add := func(op ir.Op, a ir.Attrs, args ...*ir.Value) *ir.Value {
		v, err := g.Add(op, a, args...)
		if err != nil {
			t.Fatal(err)
		}
		v.Storage = ir.Storage{Kind: ir.InSlot, Slot: len(g.Slots)}
		g.Slots = append(g.Slots, ir.Slot{Size: v.Shape.Size(), Values: []*ir.Value{v}})
		return v
	}
	x := input("x", c.x)
	a := ir.Attrs{Stride: c.stride, Pad: c.pad, Dilation: c.dil, Groups: c.groups, Kernel: c.kernel}
	var values []*ir.Value
	if c.w != nil {
		args := []*ir.Value{x, input("w", c.w)}
		if c.bias {
			args = append(args, input("b", ir.Shape{c.w[0]}))
		}
		y := add(ir.OpConv, a, args...)
		if c.relu {
			y.Act = ir.OpReLU
		}
		dy := input("dy", y.Shape)
		dx, dw := a, a
		dx.To, dw.To = c.x, c.w
		values = []*ir.Value{y, add(ir.OpConvInputGrad, dx, dy, args[1]), add(ir.OpConvWeightGrad, dw, dy, x)}
	} else {
		op, grad := ir.OpMaxPool, ir.OpMaxPoolGrad
		if c.avg {
			op, grad = ir.OpAvgPool, ir.OpAvgPoolGrad
		}
		y := add(op, a, x)
		dy := input("dy", y.Shape)
		args := []*ir.Value{dy, x}
		if c.avg {
			args = args[:1]
			a.To = c.x
		}
		values = []*ir.Value{y, add(grad, a, args...)}
	}
	g.Outputs = values[:1]
	gen := &generator{g: g, cfg: config, layout: newLayout(g), computedBy: map[*ir.Value]*ir.Value{}}
	for _, v := range values {
		emit, ok := emitterFor(v.Op)
		if !ok {
			t.Fatalf("no emitter for %s", v.Op)
		}
		emit(gen, v)
	}
	if gen.err != nil {
		t.Fatal(gen.err)
	}
	return gen, values
}

// TestConvKernels runs the kernels of convolutions and poolings of every
// option (1-D and 2-D, strides, paddings, dilations, groups, ties and NaNs
// for max_pool) on the CPU through the emulation, and compares them with
// a direct computation that adds in nngen's runtime's order: in
// float64 without contracted multiply-adds, to the last bit, with every
// access checked by AddressSanitizer. The cuBLAS path of the convolutions
// of one group (im2col, col2im and the GEMMs' descriptors, the products
// by a plain loop) runs too, within 1e-13. The same model.cu compiles with
// clang-16 for the GPU with every warning an error.
func TestConvKernels(t *testing.T) {
	for _, tool := range []string{"g++", "clang-16"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the CUDA tests need %s: apt-get install %[1]s (.ci/run installs it)", tool)
		}
	}
	emulation, err := filepath.Abs("emulation")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			gen, values := c.emit(t)
			cu := gen.genCU()
			r := nnrt.NewRNG(7)
			data := map[string][]float64{}
			var main bytes.Buffer
			for _, b := range gen.layout.buffers {
				vals := make([]float64, b.elems)
				if b.leaf != nil {
					for i := range vals {
						vals[i] = float64(float32(r.Uniform(-1, 1)))
						if b.name == "x" && c.w == nil && !c.avg {
							vals[i] = math.Round(vals[i] * 2) // ties for max_pool
						}
					}
					if b.name == "x" && c.w == nil && !c.avg {
						vals[5] = math.NaN()
					}
				}
				data[b.name] = vals
				var lits []string
				for _, v := range vals {
					if math.IsNaN(v) {
						lits = append(lits, "nn_nan()")
					} else {
						lits = append(lits, strconv.FormatFloat(v, 'g', -1, 64))
					}
				}
				fmt.Fprintf(&main, "static real %s[%d] = {%s};\n", b.name, b.elems, strings.Join(lits, ", "))
			}
			main.WriteString(gemmHelper)
			main.WriteString("\nint main() {\n")
			launch := func(k *kernel) {
				var args []string
				for _, b := range k.buffers {
					args = append(args, b.name)
				}
				fmt.Fprintf(&main, "  nn_emu_launch(%d, [&] { %s(%s); });\n", k.threads, k.name, strings.Join(args, ", "))
			}
			print := func() {
				for _, v := range values {
					b := gen.layout.of(v)
					fmt.Fprintf(&main, "  for (int i = 0; i < %d; i++) printf(%[2]s[i] != %[2]s[i] ? \"NaN\\n\" : \"%%.17g\\n\", %[2]s[i]);\n", v.Shape.Size(), b.name)
				}
			}
			// The kernels path, then the cuBLAS path: each GEMM between
			// its kernels before and after, as runtime/cuda runs it, the
			// product by nn_test_gemm.
			for _, k := range gen.kernels {
				if k.epilogueOf == nil && k.prologueOf == nil {
					launch(k)
				}
			}
			print()
			gemms := 0
			for _, k := range gen.kernels {
				switch {
				case k.epilogueOf != nil || k.prologueOf != nil:
				case k.gemm == nil:
					launch(k)
				default:
					gemms++
					g := k.gemm
					for _, p := range gen.kernels {
						if p.prologueOf == k {
							launch(p)
						}
					}
					fmt.Fprintf(&main, "  nn_test_gemm(%t, %t, %d, %d, %d, %s, %s, %s + %d, %d, %d, %d, %d);\n",
						g.transA, g.transB, g.m, g.n, g.k, g.a.name, g.b.name, g.c.name, g.offC, max(g.batch, 1), g.strideA, g.strideB, g.strideC)
					for _, e := range gen.kernels {
						if e.epilogueOf == k {
							launch(e)
						}
					}
				}
			}
			print()
			main.WriteString("  return 0;\n}\n")
			// A convolution of one group goes through cuBLAS, forward and
			// both gradients; a grouped one keeps its kernels.
			if want := map[bool]int{true: 3}[c.w != nil && c.groups == 1]; gemms != want {
				t.Errorf("%d GEMMs, want %d", gemms, want)
			}
			src := filepath.Join(dir, c.name+".cc")
			if err := os.WriteFile(src, append(append(cu, "\n#include <cstdio>\n"...), main.Bytes()...), 0o644); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, c.name)
			build := exec.Command("g++", "-std=c++17", "-O1", "-ffp-contract=off", "-fsanitize=address", "-Wall", "-Wextra", "-Werror",
				"-I", emulation, "-include", "nngen_emu.h", "-x", "c++", src, "-o", bin)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("g++: %v\n%s", err, out)
			}
			var stderr bytes.Buffer
			run := exec.Command(bin)
			run.Stderr = &stderr
			out, err := run.Output()
			if err != nil {
				t.Fatalf("%v\n%.3000s", err, stderr.Bytes())
			}
			var got []float64
			for _, f := range strings.Fields(string(out)) {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			want := c.reference(data, values)
			if len(got) != 2*len(want) {
				t.Fatalf("%d numbers printed, want %d", len(got), 2*len(want))
			}
			for i := range want {
				if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
					t.Errorf("element %d: %v, want %v", i, got[i], want[i])
				}
				// The cuBLAS path sums in another order.
				if blas := got[len(want)+i]; !(math.Abs(blas-want[i]) <= 1e-13*max(1, math.Abs(want[i]))) && !(math.IsNaN(blas) && math.IsNaN(want[i])) {
					t.Errorf("element %d on the cuBLAS path: %v, want %v", i, blas, want[i])
				}
			}
			clang := exec.Command("clang-16", append([]string{"-Wall", "-Wextra", "-Werror"}, ClangArgs...)...)
			clang.Stdin = bytes.NewReader(cu)
			if out, err := clang.CombinedOutput(); err != nil {
				t.Fatalf("clang-16: %v\n%.2000s", err, out)
			}
		})
	}
}

// gemmHelper is a GEMM for TestConvKernels's cuBLAS path: row-major c =
// op(a)·op(b), packed, batch products strides apart, as cuda.GEMM says.
const gemmHelper = `
[[maybe_unused]] static void nn_test_gemm(bool ta, bool tb, long long m, long long n, long long k, const real* a, const real* b, real* c,
                         long long batch, long long sa, long long sb, long long sc) {
  for (long long p = 0; p < batch; p++) {
    for (long long i = 0; i < m; i++) {
      for (long long j = 0; j < n; j++) {
        real s = 0;
        for (long long l = 0; l < k; l++) {
          s += (ta ? a[p * sa + l * m + i] : a[p * sa + i * k + l]) * (tb ? b[p * sb + j * k + l] : b[p * sb + l * n + j]);
        }
        c[p * sc + i * n + j] = s;
      }
    }
  }
}
`

// reference computes the case's values directly from their definitions,
// each sum in the order of nngen's runtime (runtime/kernels/conv.go's
// direct loops), all concatenated in order.
func (c convCase) reference(data map[string][]float64, values []*ir.Value) []float64 {
	x, dy := data["x"], data["dy"]
	// The geometry, a 1-D one as a height of 1.
	n, ch := c.x[0], c.x[1]
	k, groups, kernel := ch, ch, c.kernel
	if c.w != nil {
		k, groups, kernel = c.w[0], c.groups, c.w[2:]
	}
	cg, kg := ch/groups, k/groups
	at := func(a []int, i int) int { return a[len(a)-2+i] }
	H, W, R, S := 1, c.x[len(c.x)-1], 1, kernel[len(kernel)-1]
	sh, sw, ph, pw, dh, dw := 1, at(c.stride, 1), 0, at(c.pad, 1), 1, at(c.dil, 1)
	if len(kernel) == 2 {
		H, R, sh, ph, dh = c.x[2], kernel[0], c.stride[0], c.pad[0], c.dil[0]
	}
	P, Q := ir.ConvOut(H, R, sh, ph, dh), ir.ConvOut(W, S, sw, pw, dw)
	xi := func(n, c, h, w int) int { return ((n*ch+c)*H+h)*W + w }
	// yi indexes an output of out channels.
	yi := func(out, n, k, p, q int) int { return ((n*out+k)*P+p)*Q + q }
	var y, dx, dwt []float64
	inside := func(h, w int) bool { return h >= 0 && h < H && w >= 0 && w < W }
	if c.w != nil {
		wt := data["w"]
		wi := func(k, ci, r, s int) int { return ((k*cg+ci)*R+r)*S + s }
		y, dx, dwt = make([]float64, n*k*P*Q), make([]float64, n*ch*H*W), make([]float64, len(wt))
		for nn := range n {
			for kk := range k {
				for p := range P {
					for q := range Q {
						var sum float64
						for ci := range cg {
							for r := range R {
								for s := range S {
									if h, w := p*sh-ph+r*dh, q*sw-pw+s*dw; inside(h, w) {
										sum += wt[wi(kk, ci, r, s)] * x[xi(nn, kk/kg*cg+ci, h, w)]
									}
								}
							}
						}
						if b := data["b"]; b != nil {
							sum += b[kk]
						}
						if c.relu {
							sum = max(sum, 0)
						}
						y[yi(k, nn, kk, p, q)] = sum
					}
				}
			}
		}
		for nn := range n {
			for cc := range ch {
				for h := range H {
					for w := range W {
						var sum float64
						for kk := cc / cg * kg; kk < (cc/cg+1)*kg; kk++ {
							for r := range R {
								for s := range S {
									hs, ws := h+ph-r*dh, w+pw-s*dw
									if hs >= 0 && hs%sh == 0 && hs/sh < P && ws >= 0 && ws%sw == 0 && ws/sw < Q {
										sum += wt[wi(kk, cc%cg, r, s)] * dy[yi(k, nn, kk, hs/sh, ws/sw)]
									}
								}
							}
						}
						dx[xi(nn, cc, h, w)] = sum
					}
				}
			}
		}
		for kk := range k {
			for ci := range cg {
				for r := range R {
					for s := range S {
						var sum float64
						for nn := range n {
							for p := range P {
								for q := range Q {
									if h, w := p*sh-ph+r*dh, q*sw-pw+s*dw; inside(h, w) {
										sum += dy[yi(k, nn, kk, p, q)] * x[xi(nn, kk/kg*cg+ci, h, w)]
									}
								}
							}
						}
						dwt[wi(kk, ci, r, s)] = sum
					}
				}
			}
		}
		return append(append(y, dx...), dwt...)
	}
	y, dx = make([]float64, n*ch*P*Q), make([]float64, len(x))
	// maxTap: the first largest input of a window, a NaN the largest.
	maxTap := func(nn, cc, p, q int) int {
		arg := -1
		for r := range R {
			for s := range S {
				h, w := p*sh-ph+r*dh, q*sw-pw+s*dw
				if !inside(h, w) {
					continue
				}
				i := xi(nn, cc, h, w)
				if math.IsNaN(x[i]) {
					return i
				}
				if arg < 0 || x[i] > x[arg] {
					arg = i
				}
			}
		}
		return arg
	}
	for nn := range n {
		for cc := range ch {
			for p := range P {
				for q := range Q {
					if !c.avg {
						y[yi(ch, nn, cc, p, q)] = x[maxTap(nn, cc, p, q)]
						continue
					}
					var sum float64
					for r := range R {
						for s := range S {
							if h, w := p*sh-ph+r*dh, q*sw-pw+s*dw; inside(h, w) {
								sum += x[xi(nn, cc, h, w)]
							}
						}
					}
					y[yi(ch, nn, cc, p, q)] = sum / float64(R*S)
				}
			}
		}
	}
	// The gradients, window by window in row-major order, as the runtime
	// adds them.
	for nn := range n {
		for cc := range ch {
			for p := range P {
				for q := range Q {
					g := dy[yi(ch, nn, cc, p, q)]
					if !c.avg {
						dx[maxTap(nn, cc, p, q)] += g
						continue
					}
					for r := range R {
						for s := range S {
							if h, w := p*sh-ph+r*dh, q*sw-pw+s*dw; inside(h, w) {
								dx[xi(nn, cc, h, w)] += g / float64(R*S)
							}
						}
					}
				}
			}
		}
	}
	return append(y, dx...)
}
