package codegen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// opEmitters write the code computing one value into its storage. Each
// comment gives the formula the loops implement.
var opEmitters = map[ir.Op]func(gen *generator, v *ir.Value) []jen.Code{
	ir.OpLinear:      (*generator).genLinear,
	ir.OpSigmoid:     (*generator).genElementwise,
	ir.OpSigmoidGrad: (*generator).genElementwise,
	ir.OpAdd:         (*generator).genElementwise,
	ir.OpMatMul:      (*generator).genMatMul,
	ir.OpSumRows:     (*generator).genSumRows,
	ir.OpMSE:         (*generator).genMSE,
	ir.OpMSEGrad:     (*generator).genElementwise,
	ir.OpSGD:         (*generator).genElementwise,
}

// genValue emits the code computing v, after a comment naming it.
func (gen *generator) genValue(v *ir.Value) []jen.Code {
	if ir.IsLeaf(v.Op) {
		return nil
	}
	emit, ok := opEmitters[v.Op]
	if !ok {
		gen.fail(fmt.Errorf("codegen: no emitter for %s", v.Op))
		return nil
	}
	code := emit(gen, v)
	if len(code) > 1 {
		// A block keeps each value's locals (s, d, scale) to itself where
		// no loop encloses them.
		code = []jen.Code{jen.Block(code...)}
	}
	return append([]jen.Code{jen.Comment(gen.describe(v))}, code...)
}

// activation applies the named activation to x.
func (gen *generator) activation(act string, x jen.Code) *jen.Statement {
	switch ir.Op(act) {
	case "":
		return jen.Add(x)
	case ir.OpSigmoid:
		return jen.Qual(runtimePath, gen.suffixed("Sigmoid")).Call(x)
	}
	gen.fail(fmt.Errorf("codegen: no activation %q", act))
	return jen.Null()
}

// suffixed names the runtime function for the model's dtype: Sigmoid32.
func (gen *generator) suffixed(name string) string {
	if gen.g.DType == ir.F64 {
		return name + "64"
	}
	return name + "32"
}

// genLinear: y[n,i] = act(b[i] + Σ_j x[n,j]·w[i,j]).
func (gen *generator) genLinear(v *ir.Value) []jen.Code {
	x, w := v.Args[0], v.Args[1]
	batch, out, in := v.Shape[0], v.Shape[1], x.Shape[1]
	return loops([]string{"n", "i"}, []int{batch, out}, func(idx []index) []jen.Code {
		n, i := idx[0], idx[1]
		sum := gen.lit(0)
		if len(v.Args) == 3 {
			sum = gen.at(v.Args[2], i)
		}
		inner := loops([]string{"j"}, []int{in}, func(jx []index) []jen.Code {
			return []jen.Code{jen.Id("s").Op("+=").Add(gen.at(w, i, jx[0])).Op("*").Add(gen.at(x, n, jx[0]))}
		})
		return append(append([]jen.Code{jen.Id("s").Op(":=").Add(sum)}, inner...),
			gen.at(v, n, i).Op("=").Add(gen.activation(v.Act, jen.Id("s"))))
	})
}

// genMatMul: c[i,j] = Σ_k a[i,k]·b[k,j], reading a or b transposed.
func (gen *generator) genMatMul(v *ir.Value) []jen.Code {
	a, b := v.Args[0], v.Args[1]
	inner := a.Shape[1]
	if v.TransA {
		inner = a.Shape[0]
	}
	return loops([]string{"i", "j"}, v.Shape, func(idx []index) []jen.Code {
		i, j := idx[0], idx[1]
		product := func(k index) *jen.Statement {
			ai, bi := []index{i, k}, []index{k, j}
			if v.TransA {
				ai = []index{k, i}
			}
			if v.TransB {
				bi = []index{j, k}
			}
			return gen.at(a, ai...).Op("*").Add(gen.at(b, bi...))
		}
		if inner == 1 { // an outer product: nothing to sum
			return []jen.Code{gen.at(v, i, j).Op("=").Add(product(index{}))}
		}
		sum := loops([]string{"k"}, []int{inner}, func(kx []index) []jen.Code {
			return []jen.Code{jen.Id("s").Op("+=").Add(product(kx[0]))}
		})
		return append(append([]jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}, sum...), gen.at(v, i, j).Op("=").Id("s"))
	})
}

// genSumRows: y[i] = Σ_n a[n,i].
func (gen *generator) genSumRows(v *ir.Value) []jen.Code {
	a := v.Args[0]
	return loops([]string{"i"}, v.Shape, func(idx []index) []jen.Code {
		i := idx[0]
		if a.Shape[0] == 1 {
			return []jen.Code{gen.at(v, i).Op("=").Add(gen.at(a, index{}, i))}
		}
		sum := loops([]string{"n"}, []int{a.Shape[0]}, func(nx []index) []jen.Code {
			return []jen.Code{jen.Id("s").Op("+=").Add(gen.at(a, nx[0], i))}
		})
		return append(append([]jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}, sum...), gen.at(v, i).Op("=").Id("s"))
	})
}

// genMSE: L = Σ(y-t)² / N, N the number of elements (1 for reduction=sum).
func (gen *generator) genMSE(v *ir.Value) []jen.Code {
	y, t := v.Args[0], v.Args[1]
	code := []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
	code = append(code, each(y.Shape, func(idx []index) []jen.Code {
		return []jen.Code{
			jen.Id("d").Op(":=").Add(gen.at(y, idx...)).Op("-").Add(gen.at(t, idx...)),
			jen.Id("s").Op("+=").Id("d").Op("*").Id("d"),
		}
	})...)
	result := jen.Id("s")
	if v.Reduction == "mean" {
		result = jen.Id("s").Op("/").Lit(y.Shape.Size())
	}
	return append(code, gen.at(v).Op("=").Add(result))
}

// genElementwise emits ops that combine arguments element by element.
func (gen *generator) genElementwise(v *ir.Value) []jen.Code {
	var pre []jen.Code
	if v.Op == ir.OpMSEGrad {
		// dL/dy = dl·2(y-t)/N; the scale is hoisted out of the loop.
		n := 1
		if v.Reduction == "mean" {
			n = v.Shape.Size()
		}
		pre = append(pre, jen.Id("scale").Op(":=").Add(gen.at(v.Args[2])).Op("*").Lit(2).Op("/").Lit(n))
	}
	return append(pre, each(v.Shape, func(idx []index) []jen.Code {
		arg := func(i int) *jen.Statement { return gen.at(v.Args[i], idx...) }
		dst := gen.at(v, idx...)
		switch v.Op {
		case ir.OpSigmoid:
			return []jen.Code{dst.Op("=").Add(gen.activation(string(v.Op), arg(0)))}
		case ir.OpSigmoidGrad: // dy·y(1-y)
			return []jen.Code{
				jen.Id("y").Op(":=").Add(arg(1)),
				dst.Op("=").Add(arg(0)).Op("*").Id("y").Op("*").Parens(jen.Lit(1).Op("-").Id("y")),
			}
		case ir.OpAdd:
			return []jen.Code{dst.Op("=").Add(arg(0)).Op("+").Add(arg(1))}
		case ir.OpMSEGrad:
			return []jen.Code{dst.Op("=").Id("scale").Op("*").Parens(arg(0).Op("-").Add(arg(1)))}
		case ir.OpSGD: // p ← p - lr·g, in place
			return []jen.Code{dst.Op("-=").Add(gen.at(v.Args[2])).Op("*").Add(arg(1))}
		}
		gen.fail(fmt.Errorf("codegen: %s is not elementwise", v.Op))
		return nil
	})...)
}
