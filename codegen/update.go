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

// genSGD: d = g + weight_decay·p; p -= lr·d.
func (gen *generator) genSGD(v *ir.Value) []jen.Code {
	p, g, lr, wd := v.Args[0], v.Args[1], v.Args[2], v.Args[3]
	return each(v.Shape, func(idx []index) []jen.Code {
		return []jen.Code{
			jen.Id("d").Op(":=").Add(gen.at(g, idx...)).Op("+").Add(gen.at(wd)).Op("*").Add(gen.at(p, idx...)),
			gen.at(p, idx...).Op("-=").Add(gen.at(lr)).Op("*").Id("d"),
		}
	})
}

// genSGDMomentum: d = g + weight_decay·p; buf = d in the first step, else
// momentum·buf + (1-dampening)·d; d = d + momentum·buf with Nesterov, else
// buf; p -= lr·d.
func (gen *generator) genSGDMomentum(v *ir.Value) []jen.Code {
	p, g, buf, step, lr, mom, damp, wd := v.Args[0], v.Args[1], v.Args[2], v.Args[3], v.Args[4], v.Args[5], v.Args[6], v.Args[7]
	code := []jen.Code{jen.Id("first").Op(":=").Add(gen.at(step)).Op("==").Lit(1)}
	return append(code, each(v.Shape, func(idx []index) []jen.Code {
		b := func() *jen.Statement { return gen.at(buf, idx...) }
		next := jen.Id("d").Op("=").Add(b())
		if v.Nesterov {
			next = jen.Id("d").Op("+=").Add(gen.at(mom)).Op("*").Add(b())
		}
		return []jen.Code{
			jen.Id("d").Op(":=").Add(gen.at(g, idx...)).Op("+").Add(gen.at(wd)).Op("*").Add(gen.at(p, idx...)),
			jen.If(jen.Id("first")).Block(b().Op("=").Id("d")).Else().Block(
				b().Op("=").Add(gen.at(mom)).Op("*").Add(b()).Op("+").Parens(jen.Lit(1).Op("-").Add(gen.at(damp))).Op("*").Id("d"),
			),
			next,
			gen.at(p, idx...).Op("-=").Add(gen.at(lr)).Op("*").Id("d"),
		}
	})...)
}

// genAdam: with t the step count, g (+ weight_decay·p for Adam; AdamW
// instead scales p by 1 - lr·weight_decay), m = β1·m + (1-β1)·g,
// v = β2·v + (1-β2)·g², p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps).
// The bias corrections are computed once per parameter, in float64.
func (gen *generator) genAdam(v *ir.Value) []jen.Code {
	p, g, m, sq, step := v.Args[0], v.Args[1], v.Args[2], v.Args[3], v.Args[4]
	lr, beta1, beta2, eps, wd := v.Args[5], v.Args[6], v.Args[7], v.Args[8], v.Args[9]
	f64 := func(c jen.Code) *jen.Statement { return jen.Float64().Call(c) }
	code := []jen.Code{
		jen.Id("correction1").Op(":=").Lit(1).Op("-").Add(rt("Pow", gen.at(beta1), gen.at(step))),
		jen.Id("correction2").Op(":=").Lit(1).Op("-").Add(rt("Pow", gen.at(beta2), gen.at(step))),
		jen.Id("stepSize").Op(":=").Add(gen.elem()).Call(f64(gen.at(lr)).Op("/").Id("correction1")),
		jen.Id("root2").Op(":=").Add(gen.elem()).Call(jen.Qual("math", "Sqrt").Call(jen.Id("correction2"))),
	}
	if v.Decoupled {
		code = append(code, jen.Id("decay").Op(":=").Lit(1).Op("-").Add(gen.at(lr)).Op("*").Add(gen.at(wd)))
	}
	return append(code, each(v.Shape, func(idx []index) []jen.Code {
		grad := gen.at(g, idx...)
		var body []jen.Code
		if v.Decoupled {
			body = append(body, jen.Id("d").Op(":=").Add(grad), gen.at(p, idx...).Op("*=").Id("decay"))
		} else {
			body = append(body, jen.Id("d").Op(":=").Add(grad).Op("+").Add(gen.at(wd)).Op("*").Add(gen.at(p, idx...)))
		}
		return append(body,
			gen.at(m, idx...).Op("=").Add(gen.at(beta1)).Op("*").Add(gen.at(m, idx...)).Op("+").
				Parens(jen.Lit(1).Op("-").Add(gen.at(beta1))).Op("*").Id("d"),
			gen.at(sq, idx...).Op("=").Add(gen.at(beta2)).Op("*").Add(gen.at(sq, idx...)).Op("+").
				Parens(jen.Lit(1).Op("-").Add(gen.at(beta2))).Op("*").Id("d").Op("*").Id("d"),
			gen.at(p, idx...).Op("-=").Id("stepSize").Op("*").Add(gen.at(m, idx...)).Op("/").
				Parens(rt("Sqrt", gen.at(sq, idx...)).Op("/").Id("root2").Op("+").Add(gen.at(eps))),
		)
	})...)
}
