package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The convolutions call package kernels with their geometry, a
// kernels.Conv of constants but for the samples, which are the call's in
// a partial build.

// convGeometry is the kernels.Conv of a convolution of x by w (shapes, the
// samples from the value samples), under v's attributes.
func (gen *generator) convGeometry(v, samples *ir.Value, x, w ir.Shape) *jen.Statement {
	d := len(x) - 2
	h, width, r, s := 1, x[len(x)-1], 1, w[len(w)-1]
	strideH, padH, dilH := 1, 0, 1
	last := d - 1
	if d == 2 {
		h, r = x[2], w[2]
		strideH, padH, dilH = v.Stride[0], v.Pad[0], v.Dilation[0]
	}
	fields := []jen.Code{
		jen.Id("N").Op(":").Add(gen.count(gen.axes(samples, []int{0}))),
		jen.Id("C").Op(":").Lit(x[1]),
		jen.Id("K").Op(":").Lit(w[0]),
		jen.Id("Groups").Op(":").Lit(v.Groups),
		jen.Id("H").Op(":").Lit(h),
		jen.Id("W").Op(":").Lit(width),
		jen.Id("R").Op(":").Lit(r),
		jen.Id("S").Op(":").Lit(s),
		jen.Id("StrideH").Op(":").Lit(strideH),
		jen.Id("StrideW").Op(":").Lit(v.Stride[last]),
		jen.Id("PadH").Op(":").Lit(padH),
		jen.Id("PadW").Op(":").Lit(v.Pad[last]),
		jen.Id("DilH").Op(":").Lit(dilH),
		jen.Id("DilW").Op(":").Lit(v.Dilation[last]),
	}
	return jen.Qual(kernelsPath, "Conv").Values(fields...)
}

// genConv: y[n,k] = b[k] + Σ x[n, the group's channels, the window]·w[k].
func (gen *generator) genConv(v *ir.Value) []jen.Code {
	x, w := v.Args[0], v.Args[1]
	bias := jen.Nil()
	if len(v.Args) == 3 {
		bias = gen.flatValue(v.Args[2])
	}
	return []jen.Code{kernel(gen.suffixed("ConvForward"), gen.convGeometry(v, x, x.Shape, w.Shape),
		gen.flatValue(v), gen.flatValue(x), gen.flatValue(w), bias)}
}

// genConvInputGrad: dx = each output's dy spread back over the inputs its
// kernel read, times the weights.
func (gen *generator) genConvInputGrad(v *ir.Value) []jen.Code {
	dy, w := v.Args[0], v.Args[1]
	return []jen.Code{kernel(gen.suffixed("ConvInputGrad"), gen.convGeometry(v, dy, v.To, w.Shape),
		gen.flatValue(v), gen.flatValue(dy), gen.flatValue(w))}
}

// genConvWeightGrad: dw = Σ over the samples and outputs of dy times the
// inputs each weight met.
func (gen *generator) genConvWeightGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	return []jen.Code{kernel(gen.suffixed("ConvWeightGrad"), gen.convGeometry(v, dy, x.Shape, v.To),
		gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x))}
}

// poolGeometry is the kernels.Conv of a pooling of x (its shape; the
// samples from the value samples): channel by channel, v's window.
func (gen *generator) poolGeometry(v, samples *ir.Value, x ir.Shape) *jen.Statement {
	d := len(x) - 2
	last := d - 1
	h, r, strideH, padH, dilH := 1, 1, 1, 0, 1
	if d == 2 {
		h, r, strideH, padH, dilH = x[2], v.Kernel[0], v.Stride[0], v.Pad[0], v.Dilation[0]
	}
	return jen.Qual(kernelsPath, "Conv").Values(
		jen.Id("N").Op(":").Add(gen.count(gen.axes(samples, []int{0}))),
		jen.Id("C").Op(":").Lit(x[1]),
		jen.Id("K").Op(":").Lit(x[1]),
		jen.Id("Groups").Op(":").Lit(x[1]),
		jen.Id("H").Op(":").Lit(h),
		jen.Id("W").Op(":").Lit(x[len(x)-1]),
		jen.Id("R").Op(":").Lit(r),
		jen.Id("S").Op(":").Lit(v.Kernel[last]),
		jen.Id("StrideH").Op(":").Lit(strideH),
		jen.Id("StrideW").Op(":").Lit(v.Stride[last]),
		jen.Id("PadH").Op(":").Lit(padH),
		jen.Id("PadW").Op(":").Lit(v.Pad[last]),
		jen.Id("DilH").Op(":").Lit(dilH),
		jen.Id("DilW").Op(":").Lit(v.Dilation[last]),
	)
}

// genPool: y = the largest, or the mean, of each window.
func (gen *generator) genPool(v *ir.Value) []jen.Code {
	x := v.Args[0]
	name := "MaxPoolForward"
	if v.Op == ir.OpAvgPool {
		name = "AvgPoolForward"
	}
	return []jen.Code{kernel(gen.suffixed(name), gen.poolGeometry(v, x, x.Shape), gen.flatValue(v), gen.flatValue(x))}
}

// genMaxPoolGrad: dx = dy at each window's first largest x.
func (gen *generator) genMaxPoolGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	return []jen.Code{kernel(gen.suffixed("MaxPoolGrad"), gen.poolGeometry(v, dy, x.Shape), gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x))}
}

// genAvgPoolGrad: dx = dy spread evenly over each window.
func (gen *generator) genAvgPoolGrad(v *ir.Value) []jen.Code {
	dy := v.Args[0]
	return []jen.Code{kernel(gen.suffixed("AvgPoolGrad"), gen.poolGeometry(v, dy, v.To), gen.flatValue(v), gen.flatValue(dy))}
}
