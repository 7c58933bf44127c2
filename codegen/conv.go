package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The convolutions call package kernels with their geometry, a
// kernels.Conv of constants but for the samples, which are the call's in
// a partial build, and the model's workspace; a big one runs on the
// model's pool of cores, which splits its samples (or, for the weight's
// gradient, its output channels).

// isConv reports whether v is computed by one of the convolution's kernels.
func isConv(v *ir.Value) bool {
	return v.Op == ir.OpConv || v.Op == ir.OpConvInputGrad || v.Op == ir.OpConvWeightGrad
}

// convGeometry is the kernels.Conv of a convolution of x by w (shapes, the
// samples from the value samples), under v's attributes.
func (gen *generator) convGeometry(v, samples *ir.Value, x, w ir.Shape) *jen.Statement {
	return gen.geometry(v, gen.count(gen.axes(samples, []int{0})), x, w[0], v.Groups, w[2:])
}

// poolGeometry is the kernels.Conv of a pooling of x (its shape; the
// samples from the value samples): channel by channel, v's window.
func (gen *generator) poolGeometry(v, samples *ir.Value, x ir.Shape) *jen.Statement {
	return gen.geometry(v, gen.count(gen.axes(samples, []int{0})), x, x[1], x[1], v.Kernel)
}

// convShapes is the shapes of a convolution kernel's input and weight, and
// its work: the model's batch's multiply-adds.
func convShapes(v *ir.Value) (x, w ir.Shape, macs int) {
	switch v.Op {
	case ir.OpConv:
		x, w = v.Args[0].Shape, v.Args[1].Shape
		macs = v.Shape.Size() * w.Size() / w[0]
	case ir.OpConvInputGrad:
		x, w = v.To, v.Args[1].Shape
		macs = v.Args[0].Shape.Size() * w.Size() / w[0]
	case ir.OpConvWeightGrad:
		x, w = v.Args[1].Shape, v.To
		macs = v.Args[0].Shape.Size() * w.Size() / w[0]
	}
	return x, w, macs
}

// convWork is the workspace a convolution kernel needs: ConvWork of its
// geometry at the model's batch (the size does not depend on the batch).
func (gen *generator) convWork(v *ir.Value) *jen.Statement {
	x, w, _ := convShapes(v)
	return kernel(gen.suffixed("ConvWork"), gen.geometry(v, jen.Lit(x[0]), x, w[0], v.Groups, w[2:]))
}

// convPooled reports whether a convolution kernel runs on the model's pool:
// from convPoolMin multiply-adds.
func (gen *generator) convPooled(v *ir.Value) bool {
	_, _, macs := convShapes(v)
	return macs >= convPoolMin && gen.pooled(macs, 1, 1)
}

// convPoolMin is the work from which a convolution is split across the
// cores, by samples. A split convolution leaves its output in two cores'
// caches, and the pooling, activations and small layers after it run on
// one core that then reads the other's half: LeNet's convolutions (7.5M
// and 15M multiply-adds at batch 64) made its forward pass 13% slower on
// two cores than on one (AMD EPYC, 2026-12-07, GOMAXPROCS 2 against 1,
// alternating runs). From 32M (a ResNet layer's 3×3 convolution: 1.2G at
// batch 32) the split pays: Conv3x3 1.7x on two cores.
const convPoolMin = 1 << 25

// convCall calls the convolution kernel name (ConvForward...) with its
// geometry and arrays: on the pool, or here with the model's workspace.
func (gen *generator) convCall(v *ir.Value, name string, args ...jen.Code) jen.Code {
	if gen.convPooled(v) {
		return jen.Id("m").Dot("pool").Dot(gen.suffixed(name)).Call(args...)
	}
	return kernel(gen.suffixed(name), append(args, gen.self().Dot("gemmWork"))...)
}

// geometry writes a kernels.Conv of n samples: x's channels and spatial
// size, out channels in groups, the kernel's size and v's strides,
// paddings and dilations; a 1-D one as a height of 1.
func (gen *generator) geometry(v *ir.Value, n jen.Code, x ir.Shape, out, groups int, kernel []int) *jen.Statement {
	last := len(kernel) - 1
	h, r, strideH, padH, dilH := 1, 1, 1, 0, 1
	if len(kernel) == 2 {
		h, r, strideH, padH, dilH = x[2], kernel[0], v.Stride[0], v.Pad[0], v.Dilation[0]
	}
	field := func(name string, value int) jen.Code { return jen.Id(name).Op(":").Lit(value) }
	return jen.Qual(kernelsPath, "Conv").Values(
		jen.Id("N").Op(":").Add(n),
		field("C", x[1]), field("K", out), field("Groups", groups),
		field("H", h), field("W", x[len(x)-1]), field("R", r), field("S", kernel[last]),
		field("StrideH", strideH), field("StrideW", v.Stride[last]),
		field("PadH", padH), field("PadW", v.Pad[last]),
		field("DilH", dilH), field("DilW", v.Dilation[last]),
	)
}

// genConv: y[n,k] = act(b[k] + Σ x[n, the group's channels, the window]·w[k]):
// relu in the kernel's pass adding the bias, another activation in a
// pass after.
func (gen *generator) genConv(v *ir.Value) []jen.Code {
	x, w := v.Args[0], v.Args[1]
	bias := jen.Nil()
	if len(v.Args) == 3 {
		bias = gen.flatValue(v.Args[2])
	}
	name := "ConvForward"
	if v.Act == ir.OpReLU {
		name = "ConvForwardReLU"
	}
	code := []jen.Code{gen.convCall(v, name, gen.convGeometry(v, x, x.Shape, w.Shape),
		gen.flatValue(v), gen.flatValue(x), gen.flatValue(w), bias)}
	if v.Act == "" || v.Act == ir.OpReLU {
		return code
	}
	return append(code, gen.each(v, func(idx []index) []jen.Code {
		y := gen.at(v, idx...)
		return []jen.Code{y.Clone().Op("=").Add(gen.activation(v.Act, v.Attrs, y.Clone()))}
	})...)
}

// genConvInputGrad: dx = each output's dy spread back over the inputs its
// kernel read, times the weights.
func (gen *generator) genConvInputGrad(v *ir.Value) []jen.Code {
	dy, w := v.Args[0], v.Args[1]
	return []jen.Code{gen.convCall(v, "ConvInputGrad", gen.convGeometry(v, dy, v.To, w.Shape),
		gen.flatValue(v), gen.flatValue(dy), gen.flatValue(w))}
}

// genConvWeightGrad: dw = Σ over the samples and outputs of dy times the
// inputs each weight met.
func (gen *generator) genConvWeightGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	return []jen.Code{gen.convCall(v, "ConvWeightGrad", gen.convGeometry(v, dy, x.Shape, v.To),
		gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x))}
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
