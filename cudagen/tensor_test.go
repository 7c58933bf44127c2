package cudagen

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/passes"
	"github.com/nngen/nngen/runtime/cuda"
	"github.com/nngen/nngen/syntax"
)

func TestFlatIndex(t *testing.T) {
	out := ir.Shape{3, 4, 6}
	for _, tt := range []struct {
		name   string
		in     ir.Shape
		coords []coord
		want   string
	}{
		{"same shape", out, identity(out), "t"},
		{"bias", ir.Shape{6}, broadcastCoords(ir.Shape{6}, out), "t % 6"},
		{"column", ir.Shape{3, 4, 1}, broadcastCoords(ir.Shape{3, 4, 1}, out), "t / 6"},
		{"middle", ir.Shape{4, 1}, broadcastCoords(ir.Shape{4, 1}, out), "t / 6 % 4"},
		{"scalar-like", ir.Shape{1, 1}, broadcastCoords(ir.Shape{1, 1}, out), "0"},
		{"permuted", ir.Shape{3, 6, 4}, []coord{from("t", out, 0), from("t", out, 2), from("t", out, 1)}, "t / 24 * 24 + t % 6 * 4 + t / 6 % 4"},
		{"sliced", ir.Shape{3, 4, 8}, []coord{from("t", out, 0), from("t", out, 1), {of: "t", shape: out, axis: 2, offset: 2}}, "t / 6 * 8 + t % 6 + 2"},
		{"loop", ir.Shape{3, 4, 6}, []coord{from("t", ir.Shape{3, 4}, 0), from("t", ir.Shape{3, 4}, 1), from("r", ir.Shape{6}, 0)}, "t * 6 + r"},
		{"constant", ir.Shape{3, 4, 6}, []coord{{}, {offset: 1}, {offset: 2}}, "8"},
	} {
		if got := flatIndex(tt.in, tt.coords); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// tensorNet uses every op on tensors of any rank, with two inputs, two
// outputs and a loss of two terms; its gradients add the gradient ops.
const tensorNet = `network Tensors
batch 3
input x[4, 6]
input c[5]
param shift[6] = zeros
h = linear(x, 6)
r = reshape(h, 6, 4)
p = permute(r, 0, 2, 1)
s = slice(p, dim=2, start=1, end=5)
m = max(s, dim=2)
d = s - unsqueeze(m, 2)
ls = log_softmax(d, dim=1)
q = linear(x, 4)
k = linear(x, 4)
att = softmax(matmul(q, transpose(k, 1, 2)) * 0.5, dim=-1)
o = matmul(att, ls)
e = exp(o / 4) + mean(o, dim=1, keepdim=true) * slice(sum(x, dim=1, keepdim=true), dim=2, start=0, end=4)
lc = linear(c, 3)
u = cat(flatten(e), lc, dim=1)
out = linear(u, 2)
z = (mean(h, dim=1) - shift) * 2
output out, z
loss mse(out, target[2]) + 0.5 * mse(z, z_target[6])
optimizer adam(lr=0.01)
`

// TestTensorKernels compiles the kernels of every op with clang-16, in
// float32 and float64, with warnings as errors, and checks the PTX
// against the launches and the methods' parameters against the CPU
// model's.
func TestTensorKernels(t *testing.T) {
	if _, err := exec.LookPath("clang-16"); err != nil {
		t.Fatal("compiling CUDA to PTX needs clang-16: apt-get install clang-16 (.ci/run installs it)")
	}
	for _, dtype := range []string{"float32", "float64"} {
		src := strings.Replace(tensorNet, "batch 3\n", "batch 3\ndtype "+dtype+"\n", 1)
		g, err := syntax.Compile("tensors.nn", []byte(src))
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		g = planned(t, g, passes.Options{})
		files, err := Build(g, config)
		if err != nil {
			t.Fatal(err)
		}
		cu, host := string(files[0].Data), string(files[1].Data)
		kernels := kernelNames(t, cu)
		for _, op := range []ir.Op{ir.OpPermute, ir.OpSlice, ir.OpSliceGrad, ir.OpMax, ir.OpMaxGrad, ir.OpLogSoftmax, ir.OpLogSoftmaxGrad,
			ir.OpSoftmax, ir.OpSoftmaxGrad, ir.OpConcat, ir.OpReshape, ir.OpSumTo, ir.OpSum, ir.OpMean, ir.OpSub, ir.OpMul, ir.OpDiv, ir.OpMatMul} {
			if !strings.Contains(strings.Join(kernels, " "), string(op)+"_v") {
				t.Errorf("%s: no %s kernel: %v", dtype, op, kernels)
			}
		}
		strict := exec.Command("clang-16", append([]string{"-Wall", "-Wextra", "-Werror"}, ClangArgs...)...)
		strict.Stdin = strings.NewReader(cu)
		if out, err := strict.CombinedOutput(); err != nil {
			t.Fatalf("%s: clang-16 -Wall -Wextra -Werror: %v\n%.3000s", dtype, err, out)
		}
		ptx := files[2].Data
		if bytes.Contains(ptx, []byte(".extern")) || bytes.Contains(ptx, []byte("call.uni")) {
			t.Errorf("%s: the PTX calls functions that nothing links", dtype)
		}
		entries, err := cuda.Entries(ptx)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(kernels) {
			t.Errorf("%s: %d entries in the PTX, %d kernels", dtype, len(entries), len(kernels))
		}
		elem := map[string]string{"float32": "float32", "float64": "float64"}[dtype]
		for _, s := range []string{
			"const Batch = cpu.Batch",
			"func (m *Model) Forward(x *[Batch][4][6]" + elem + ", c *[Batch][5]" + elem + ", out *[Batch][2]" + elem + ", z *[Batch][6]" + elem + ") {",
			"func (m *Model) Backward(x *[Batch][4][6]" + elem + ", c *[Batch][5]" + elem + ", target *[Batch][2]" + elem + ", zTarget *[Batch][6]" + elem + ") " + elem + " {",
			"TrainStep(x *[Batch][4][6]" + elem + ", c *[Batch][5]" + elem + ", target *[Batch][2]" + elem + ", zTarget *[Batch][6]" + elem + ") " + elem + "\n",
			"m.upload(bufZTarget, unsafe.Pointer(zTarget), unsafe.Sizeof(*zTarget))",
			// att = softmax(q·kᵀ...): a product per sample, through cuBLAS.
			"Batch: 3, StrideA: 16, StrideB: 16, StrideC: 16, Alpha: 1}",
		} {
			if !strings.Contains(host, s) {
				t.Errorf("%s: no %q in the Go:\n%s", dtype, s, host)
			}
		}
	}
}

// TestUnbatchedClasses: an unbatched model's class index goes by value,
// checked and uploaded from a field, in the general API as in the classic.
func TestUnbatchedClasses(t *testing.T) {
	src := `network Classes
input x[4]
input n[3]
a = linear(x, 3)
b = linear(n, 3)
h = a + b
total = sum(h, dim=0)
output h, total
loss cross_entropy(h, label)
optimizer sgd(lr=0.1)
`
	g, err := syntax.Compile("classes.nn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, host := generate(t, planned(t, g, passes.Options{}))
	for _, s := range []string{
		"func (m *Model) Forward(x *[4]float32, nArg *[3]float32, h *[3]float32, total *float32) {",
		"func (m *Model) Backward(x *[4]float32, nArg *[3]float32, label int) float32 {",
		"// the class index label, uploaded from here",
		"if label != -100 && (label < 0 || label >= 3) {",
		"m.upload(bufLabel, unsafe.Pointer(&m.argLabel), unsafe.Sizeof(m.argLabel))",
	} {
		if !strings.Contains(host, s) {
			t.Errorf("no %q in the Go:\n%s", s, host)
		}
	}
}
