package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// Batch normalization runs in the model's mode, as PyTorch's: the batch's
// statistics in training mode, the running ones in evaluation mode (an
// inference-only package and a Predictor are always in it).

// evalOnly reports whether the code being emitted always runs in
// evaluation mode.
func (gen *generator) evalOnly() bool { return gen.predictor || gen.g.Loss == nil }

// byMode is train's code in training mode and eval's in evaluation mode.
func (gen *generator) byMode(train, eval []jen.Code) []jen.Code {
	if gen.evalOnly() {
		return eval
	}
	return []jen.Code{jen.If(gen.self().Dot("eval")).Block(eval...).Else().Block(train...)}
}

// channels are batch_norm's channels and positions per channel and sample
// for its input x [B, C, ...].
func channels(x *ir.Value) (c, size jen.Code) {
	return jen.Lit(x.Shape[1]), jen.Lit(x.Shape.Size() / (x.Shape[0] * x.Shape[1]))
}

// genBatchNorm: y = (x - μ)/√(σ² + eps) per channel, μ and σ² the batch's
// (the running statistics moving toward them) or the running statistics.
func (gen *generator) genBatchNorm(v *ir.Value) []jen.Code {
	x := v.Args[0]
	c, size := channels(x)
	y, xs, eps := gen.flatValue(v), gen.flatValue(x), jen.Lit(v.Eps)
	if len(v.Args) == 1 {
		return []jen.Code{rt("BatchNormTrain", y, xs, c, size, eps, jen.Lit(0.0), jen.Nil(), jen.Nil())}
	}
	mean, variance, count := gen.flatValue(v.Args[1]), gen.flatValue(v.Args[2]), gen.at(v.Args[3])
	momentum := jen.Lit(v.Momentum)
	if v.Cumulative {
		momentum = jen.Lit(1.0).Op("/").Float64().Call(gen.at(v.Args[3]))
	}
	train := []jen.Code{
		count.Op("++"),
		rt("BatchNormTrain", y, xs, c, size, eps, momentum, mean, variance),
	}
	eval := []jen.Code{rt("BatchNormEval", gen.flatValue(v), gen.flatValue(x), c, size, eps, gen.flatValue(v.Args[1]), gen.flatValue(v.Args[2]))}
	return gen.byMode(train, eval)
}

// genBatchNormGrad: dx = (dy - mean dy - y·mean(dy·y))/√(σ² + eps) per
// channel through the batch's statistics, dy/√(var + eps) through the
// running variance.
func (gen *generator) genBatchNormGrad(v *ir.Value) []jen.Code {
	dy, x, y := v.Args[0], v.Args[1], v.Args[2]
	c, size := channels(x)
	train := []jen.Code{rt("BatchNormTrainGrad", gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x), gen.flatValue(y), c, size, jen.Lit(v.Eps))}
	if len(v.Args) == 3 {
		return train
	}
	eval := []jen.Code{rt("BatchNormEvalGrad", gen.flatValue(v), gen.flatValue(dy), c, size, jen.Lit(v.Eps), gen.flatValue(v.Args[3]))}
	return gen.byMode(train, eval)
}
