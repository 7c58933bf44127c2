package ir

import (
	"fmt"
	"math"
)

// Unary is an elementwise function of one value: everything nngen knows
// about it is this row, plus its two functions in the Go runtime
// (Func, Func+"Grad") and two in the CUDA prelude (CUDA, CUDA+"_grad").
// Adding an activation is one row here and those four functions; see
// docs/contributing.md.
type Unary struct {
	Op Op
	// Func is the Go runtime's function, generic over the float type:
	// Func(x, extra...) is the value and FuncGrad(dy, from, extra...) the
	// gradient, from is x or y = Func(x) (FromInput).
	Func string
	// CUDA is the prelude's device function, CUDA+"_grad" its gradient
	// unless CUDAGrad names another.
	CUDA, CUDAGrad string
	// FromInput: the gradient reads the input x; else the output y, so
	// that x need not be kept for the backward pass.
	FromInput bool
	// Extra gives the constants passed after the value (a slope, an
	// exponent, bounds), from the op's attributes.
	Extra func(a Attrs) []float64
	// Check rejects attributes the function cannot take.
	Check func(a Attrs) error
	// Variant, if set, names other functions for some attributes (gelu's
	// tanh approximation): Go and CUDA names, or "" to keep Func and CUDA.
	Variant func(a Attrs) (goFunc, cuda string)
	// PyTorch is the function in torch.nn.functional (or torch) it equals.
	PyTorch string
	// ONNX is the ONNX operator it imports from, "" for none; an ONNX
	// attribute "alpha" sets Alpha for functions whose Extra is alpha.
	ONNX string
}

// Grad is the op of the function's gradient.
func (u *Unary) Grad() Op { return u.Op + "_grad" }

// Names returns the Go and CUDA functions of the value for attributes a;
// their gradients are the same names with "Grad" and "_grad" (or CUDAGrad).
func (u *Unary) Names(a Attrs) (goFunc, cuda, cudaGrad string) {
	goFunc, cuda = u.Func, u.CUDA
	cudaGrad = u.CUDAGrad
	if u.Variant != nil {
		if g, c := u.Variant(a); g != "" {
			goFunc, cuda, cudaGrad = g, c, ""
		}
	}
	if cudaGrad == "" {
		cudaGrad = cuda + "_grad"
	}
	return goFunc, cuda, cudaGrad
}

// Constants returns the extra arguments for attributes a.
func (u *Unary) Constants(a Attrs) []float64 {
	if u.Extra == nil {
		return nil
	}
	return u.Extra(a)
}

func alpha(a Attrs) []float64 { return []float64{a.Alpha} }

// unaryOps are the elementwise functions of one value.
var unaryOps = []Unary{
	{Op: OpSigmoid, ONNX: "Sigmoid", Func: "Sigmoid", CUDA: "nn_sigmoid", PyTorch: "torch.sigmoid"},
	{Op: OpReLU, ONNX: "Relu", Func: "ReLU", CUDA: "nn_relu", PyTorch: "F.relu"},
	{Op: OpTanh, ONNX: "Tanh", Func: "Tanh", CUDA: "nn_tanh_act", CUDAGrad: "nn_tanh_grad", PyTorch: "torch.tanh"},
	{Op: OpLeakyReLU, Func: "LeakyReLU", CUDA: "nn_leaky_relu", Extra: alpha, Check: nonNegativeAlpha, PyTorch: "F.leaky_relu"},
	{Op: OpGELU, Func: "GELU", CUDA: "nn_gelu", FromInput: true, Check: geluApprox, PyTorch: "F.gelu",
		Variant: func(a Attrs) (string, string) {
			if a.Approx == ApproxTanh {
				return "GELUTanh", "nn_gelu_tanh"
			}
			return "", ""
		}},
	{Op: OpSiLU, Func: "SiLU", CUDA: "nn_silu", FromInput: true, PyTorch: "F.silu"},
	{Op: OpELU, ONNX: "Elu", Func: "ELU", CUDA: "nn_elu", FromInput: true, Extra: alpha, PyTorch: "F.elu"},
	{Op: OpSoftplus, ONNX: "Softplus", Func: "Softplus", CUDA: "nn_softplus", FromInput: true, PyTorch: "F.softplus"},
	{Op: OpMish, ONNX: "Mish", Func: "Mish", CUDA: "nn_mish", FromInput: true, PyTorch: "F.mish"},
	{Op: OpHardswish, ONNX: "HardSwish", Func: "Hardswish", CUDA: "nn_hardswish", FromInput: true, PyTorch: "F.hardswish"},
	{Op: OpHardsigmoid, ONNX: "HardSigmoid", Func: "Hardsigmoid", CUDA: "nn_hardsigmoid", FromInput: true, PyTorch: "F.hardsigmoid"},
	{Op: OpSoftsign, ONNX: "Softsign", Func: "Softsign", CUDA: "nn_softsign", FromInput: true, PyTorch: "F.softsign"},
	{Op: OpExp, ONNX: "Exp", Func: "Exp", CUDA: "nn_exp_op", CUDAGrad: "nn_exp_op_grad", PyTorch: "torch.exp"},
	{Op: OpLog, ONNX: "Log", Func: "Log", CUDA: "nn_log_op", CUDAGrad: "nn_log_op_grad", FromInput: true, PyTorch: "torch.log"},
	{Op: OpSqrt, ONNX: "Sqrt", Func: "Sqrt", CUDA: "nn_sqrt_op", CUDAGrad: "nn_sqrt_grad", PyTorch: "torch.sqrt"},
	{Op: OpNeg, ONNX: "Neg", Func: "Neg", CUDA: "nn_neg", FromInput: true, PyTorch: "torch.neg"},
	{Op: OpAbs, ONNX: "Abs", Func: "Abs", CUDA: "nn_abs_op", CUDAGrad: "nn_abs_grad", FromInput: true, PyTorch: "torch.abs"},
	{Op: OpReciprocal, ONNX: "Reciprocal", Func: "Reciprocal", CUDA: "nn_reciprocal", PyTorch: "torch.reciprocal"},
	{Op: OpPow, Func: "PowConst", CUDA: "nn_pow_const", FromInput: true, PyTorch: "torch.pow",
		Extra: func(a Attrs) []float64 { return []float64{a.Exponent} }, Check: finite("exponent", func(a Attrs) float64 { return a.Exponent })},
	{Op: OpClamp, Func: "Clamp", CUDA: "nn_clamp", FromInput: true, PyTorch: "torch.clamp",
		Extra: func(a Attrs) []float64 { return []float64{a.Min, a.Max} }, Check: clampBounds},
}

func nonNegativeAlpha(a Attrs) error {
	if !(a.Alpha >= 0) || math.IsInf(a.Alpha, 1) {
		return fmt.Errorf("negative slope %g must be finite and at least 0", a.Alpha)
	}
	return nil
}

func geluApprox(a Attrs) error {
	if a.Approx != ApproxNone && a.Approx != ApproxTanh {
		return fmt.Errorf("approximation %d, want none or tanh", a.Approx)
	}
	return nil
}

func finite(what string, get func(Attrs) float64) func(Attrs) error {
	return func(a Attrs) error {
		if x := get(a); math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s %g is not finite", what, x)
		}
		return nil
	}
}

// clampBounds: either bound may be infinite (a one-sided clamp), but the
// lower may not exceed the upper.
func clampBounds(a Attrs) error {
	if math.IsNaN(a.Min) || math.IsNaN(a.Max) || a.Min > a.Max {
		return fmt.Errorf("bounds [%g, %g] are not an interval", a.Min, a.Max)
	}
	return nil
}

// UnaryOps lists the unary functions, for front ends and documentation.
func UnaryOps() []*Unary {
	out := make([]*Unary, len(unaryOps))
	for i := range unaryOps {
		out[i] = &unaryOps[i]
	}
	return out
}
