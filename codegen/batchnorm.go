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

// orNil is v's numbers as a slice, or nil for no value.
func (gen *generator) orNil(v *ir.Value) jen.Code {
	if v == nil {
		return jen.Nil()
	}
	return gen.flatValue(v)
}

// genBatchNorm: y = (x - μ)/√(σ² + eps)·weight + bias per channel, μ and
// σ² the batch's (the running statistics moving toward them, the count
// first) or the running statistics.
func (gen *generator) genBatchNorm(v *ir.Value) []jen.Code {
	x, mean, variance, count, weight, bias := ir.BatchNormParts(v)
	c, size := channels(x)
	eps := jen.Lit(v.Eps)
	if mean == nil {
		return []jen.Code{rt("BatchNormTrain", gen.flatValue(v), gen.flatValue(x), c, size, eps, jen.Lit(0.0), jen.Nil(), jen.Nil(), gen.orNil(weight), gen.orNil(bias))}
	}
	momentum := jen.Lit(v.Momentum)
	if v.Cumulative {
		momentum = jen.Lit(1.0).Op("/").Float64().Call(gen.at(count))
	}
	train := []jen.Code{
		gen.at(count).Op("++"),
		rt("BatchNormTrain", gen.flatValue(v), gen.flatValue(x), c, size, eps, momentum, gen.flatValue(mean), gen.flatValue(variance), gen.orNil(weight), gen.orNil(bias)),
	}
	eval := []jen.Code{rt("BatchNormEval", gen.flatValue(v), gen.flatValue(x), c, size, eps, gen.flatValue(mean), gen.flatValue(variance), gen.orNil(weight), gen.orNil(bias))}
	return gen.byMode(train, eval)
}

// genBatchNormGrad: dx = weight·(dy - mean dy - x̂·mean(dy·x̂))/√(σ² + eps)
// per channel through the batch's statistics, dy·weight/√(var + eps)
// through the running variance.
func (gen *generator) genBatchNormGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	mean, variance, weight := ir.BatchNormGradParts(v)
	c, size := channels(x)
	train := []jen.Code{rt("BatchNormTrainGrad", gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x), c, size, jen.Lit(v.Eps), gen.orNil(weight))}
	if mean == nil {
		return train
	}
	eval := []jen.Code{rt("BatchNormEvalGrad", gen.flatValue(v), gen.flatValue(dy), c, size, jen.Lit(v.Eps), gen.flatValue(variance), gen.orNil(weight))}
	return gen.byMode(train, eval)
}

// genBatchNormWeightGrad: dweight = Σ dy·x̂ per channel, x̂ by the mode's
// statistics.
func (gen *generator) genBatchNormWeightGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	mean, variance, _ := ir.BatchNormGradParts(v)
	c, size := channels(x)
	grad := func(mean, variance jen.Code) []jen.Code {
		return []jen.Code{rt("BatchNormWeightGrad", gen.flatValue(v), gen.flatValue(dy), gen.flatValue(x), c, size, jen.Lit(v.Eps), mean, variance)}
	}
	train := grad(jen.Nil(), jen.Nil())
	if mean == nil {
		return train
	}
	return gen.byMode(train, grad(gen.flatValue(mean), gen.flatValue(variance)))
}
