package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The optimizers' updates, as torch.optim (PyTorch 1.13) writes them for
// one parameter p with gradient g.

// genStepCount: steps++, before any update reads it.
func (gen *generator) genStepCount(v *ir.Value) []jen.Code {
	return []jen.Code{gen.at(v).Op("++")}
}

// hoist copies the scalar settings an update reads into locals before its
// loops: Go cannot tell that writing the parameter leaves the model's
// fields alone, so it would reload them on every element.
func (gen *generator) hoist(names []string, args ...*ir.Value) ([]jen.Code, []*jen.Statement) {
	var lhs, rhs []jen.Code
	refs := make([]*jen.Statement, len(args))
	for i, a := range args {
		lhs = append(lhs, jen.Id(names[i]))
		rhs = append(rhs, gen.at(a))
		refs[i] = jen.Id(names[i])
	}
	return []jen.Code{jen.List(lhs...).Op(":=").List(rhs...)}, refs
}

// genSGD: d = g + weight_decay·p; p -= lr·d.
func (gen *generator) genSGD(v *ir.Value) []jen.Code {
	p, g := v.Args[0], v.Args[1]
	if vectorized(p) {
		return []jen.Code{kernel(gen.suffixed("SGD"), gen.flatValue(p), gen.flatValue(g), gen.at(v.Args[2]), gen.at(v.Args[3]))}
	}
	code, h := gen.hoist([]string{"lr", "weightDecay"}, v.Args[2], v.Args[3])
	lr, wd := h[0], h[1]
	return append(code, gen.each(v, func(idx []index) []jen.Code {
		return []jen.Code{
			jen.Id("d").Op(":=").Add(gen.at(g, idx...)).Op("+").Add(wd.Clone()).Op("*").Add(gen.at(p, idx...)),
			gen.at(p, idx...).Op("-=").Add(lr.Clone()).Op("*").Id("d"),
		}
	})...)
}

// genSGDMomentum: d = g + weight_decay·p; buf = d in the first step, else
// momentum·buf + (1-dampening)·d; d = d + momentum·buf with Nesterov, else
// buf; p -= lr·d.
func (gen *generator) genSGDMomentum(v *ir.Value) []jen.Code {
	p, g, buf, step := v.Args[0], v.Args[1], v.Args[2], v.Args[3]
	code, h := gen.hoist([]string{"lr", "momentum", "dampening", "weightDecay"}, v.Args[4], v.Args[5], v.Args[6], v.Args[7])
	lr, mom, damp, wd := h[0], h[1], h[2], h[3]
	code = append(code, jen.Id("first").Op(":=").Add(gen.at(step)).Op("==").Lit(1))
	if vectorized(p) {
		// The vector kernel, which rounds every operation as the loop below does.
		fields := []jen.Code{
			jen.Id("LR").Op(":").Add(lr.Clone()), jen.Id("Momentum").Op(":").Add(mom.Clone()),
			jen.Id("Dampening").Op(":").Add(damp.Clone()), jen.Id("WeightDecay").Op(":").Add(wd.Clone()),
		}
		if v.Nesterov {
			fields = append(fields, jen.Id("Nesterov").Op(":").True())
		}
		fields = append(fields, jen.Id("First").Op(":").Id("first"))
		args := []jen.Code{gen.flatValue(p), gen.flatValue(g), gen.flatValue(buf),
			jen.Qual(kernelsPath, "MomentumStep").Types(gen.elem()).Values(fields...)}
		return append(code, gen.updateKernel("Momentum", p, args))
	}
	return append(code, gen.each(v, func(idx []index) []jen.Code {
		b := func() *jen.Statement { return gen.at(buf, idx...) }
		next := jen.Id("d").Op("=").Add(b())
		if v.Nesterov {
			next = jen.Id("d").Op("+=").Add(mom.Clone()).Op("*").Add(b())
		}
		return []jen.Code{
			jen.Id("d").Op(":=").Add(gen.at(g, idx...)).Op("+").Add(wd.Clone()).Op("*").Add(gen.at(p, idx...)),
			jen.If(jen.Id("first")).Block(b().Op("=").Id("d")).Else().Block(
				b().Op("=").Add(mom.Clone()).Op("*").Add(b()).Op("+").Parens(jen.Lit(1).Op("-").Add(damp.Clone())).Op("*").Id("d"),
			),
			next,
			gen.at(p, idx...).Op("-=").Add(lr.Clone()).Op("*").Id("d"),
		}
	})...)
}

// genAdam: with t the step count, g (+ weight_decay·p for Adam; AdamW
// instead scales p by 1 - lr·weight_decay), m = β1·m + (1-β1)·g,
// v = β2·v + (1-β2)·g², p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
// The bias corrections are computed once per parameter, in float64.
func (gen *generator) genAdam(v *ir.Value) []jen.Code {
	p, g, m, sq, step := v.Args[0], v.Args[1], v.Args[2], v.Args[3], v.Args[4]
	code, h := gen.hoist([]string{"lr", "beta1", "beta2", "eps", "weightDecay"}, v.Args[5], v.Args[6], v.Args[7], v.Args[8], v.Args[9])
	lr, beta1, beta2, eps, wd := h[0], h[1], h[2], h[3], h[4]
	f64 := func(c jen.Code) *jen.Statement { return jen.Float64().Call(c) }
	code = append(code,
		jen.Id("correction1").Op(":=").Lit(1).Op("-").Add(rt("Pow", beta1.Clone(), gen.at(step))),
		jen.Id("correction2").Op(":=").Lit(1).Op("-").Add(rt("Pow", beta2.Clone(), gen.at(step))),
		jen.Id("stepSize").Op(":=").Add(gen.elem()).Call(f64(lr.Clone()).Op("/").Id("correction1")),
		jen.Id("root2").Op(":=").Add(gen.elem()).Call(jen.Qual("math", "Sqrt").Call(jen.Id("correction2"))),
	)
	if v.Decoupled {
		code = append(code, jen.Id("decay").Op(":=").Lit(1).Op("-").Add(lr.Clone()).Op("*").Add(wd.Clone()))
	}
	if vectorized(p) {
		// The vector kernel, which rounds every operation as the loop below does.
		fields := []jen.Code{
			jen.Id("Beta1").Op(":").Add(beta1.Clone()), jen.Id("Beta2").Op(":").Add(beta2.Clone()),
			jen.Id("Eps").Op(":").Add(eps.Clone()), jen.Id("WeightDecay").Op(":").Add(wd.Clone()),
			jen.Id("StepSize").Op(":").Id("stepSize"), jen.Id("Root2").Op(":").Id("root2"),
		}
		if v.Decoupled {
			fields = append(fields, jen.Id("Decoupled").Op(":").True(), jen.Id("Decay").Op(":").Id("decay"))
		}
		args := []jen.Code{gen.flatValue(p), gen.flatValue(g), gen.flatValue(m), gen.flatValue(sq),
			jen.Qual(kernelsPath, "AdamStep").Types(gen.elem()).Values(fields...)}
		return append(code, gen.updateKernel("Adam", p, args))
	}
	return append(code, gen.each(v, func(idx []index) []jen.Code {
		grad := gen.at(g, idx...)
		var body []jen.Code
		if v.Decoupled {
			body = append(body, jen.Id("d").Op(":=").Add(grad), gen.at(p, idx...).Op("*=").Id("decay"))
		} else {
			body = append(body, jen.Id("d").Op(":=").Add(grad).Op("+").Add(wd.Clone()).Op("*").Add(gen.at(p, idx...)))
		}
		return append(body,
			gen.at(m, idx...).Op("=").Add(beta1.Clone()).Op("*").Add(gen.at(m, idx...)).Op("+").
				Parens(jen.Lit(1).Op("-").Add(beta1.Clone())).Op("*").Id("d"),
			gen.at(sq, idx...).Op("=").Add(beta2.Clone()).Op("*").Add(gen.at(sq, idx...)).Op("+").
				Parens(jen.Lit(1).Op("-").Add(beta2.Clone())).Op("*").Id("d").Op("*").Id("d"),
			gen.at(p, idx...).Op("-=").Id("stepSize").Op("*").Add(gen.at(m, idx...)).Op("/").
				Parens(rt("Sqrt", gen.at(sq, idx...)).Op("/").Id("root2").Op("+").Add(eps.Clone())),
		)
	})...)
}

// updateKernel calls an optimizer's vector kernel on parameter p: on the
// model's pool, when it has one, split by bands of p's rows (its first
// axis) as the products split them, so that each core updates the weights
// it multiplies (kernels.Pool.SGD32); else on this core.
func (gen *generator) updateKernel(name string, p *ir.Value, args []jen.Code) *jen.Statement {
	if !gen.usesPool() {
		return kernel(gen.suffixed(name), args...)
	}
	rows := 1
	if len(p.Shape) > 0 {
		rows = p.Shape[0]
	}
	return jen.Id("m").Dot("pool").Dot(gen.suffixed(name)).Call(append(args, jen.Lit(rows))...)
}
