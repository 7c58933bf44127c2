package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The emitters of the ops on tensors of any rank: elementwise functions of
// two values with broadcasting, functions of rows, reductions, movement and
// batched products. Each loops over its result's elements with constant
// bounds, as the layers' code does.

// broadcastIndex is the index into a of the element that broadcasting
// pairs with element idx of a result shaped out: a's axes align with out's
// last ones, and an axis of 1 repeats its one element.
func broadcastIndex(a *ir.Value, out ir.Shape, idx []index) []index {
	skip := len(out) - len(a.Shape)
	ai := make([]index, len(a.Shape))
	for d := range a.Shape {
		if a.Shape[d] == 1 && out[skip+d] != 1 {
			ai[d] = index{}
		} else {
			ai[d] = idx[skip+d]
		}
	}
	return ai
}

var binaryOps = map[ir.Op]string{ir.OpAdd: "+", ir.OpSub: "-", ir.OpMul: "*", ir.OpDiv: "/"}

// binaryKernels are the vector kernels of the binary operations that have
// one (kernels.Add32 and Add64, ...), for operands of the result's shape.
var binaryKernels = map[ir.Op]string{ir.OpAdd: "Add", ir.OpSub: "Sub", ir.OpMul: "Mul"}

// scalarKernels are the vector kernels of the binary operations with a
// single number on the right (kernels.AddScalar32 and AddScalar64, ...).
var scalarKernels = map[ir.Op]string{ir.OpAdd: "AddScalar", ir.OpSub: "SubScalar", ir.OpMul: "MulScalar", ir.OpDiv: "DivScalar"}

// genBinary: c = a op b element by element, broadcast as NumPy does.
func (gen *generator) genBinary(v *ir.Value) []jen.Code {
	a, b := v.Args[0], v.Args[1]
	if flat := gen.flatBinary(v); flat != nil {
		return flat
	}
	return gen.each(v, func(idx []index) []jen.Code {
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.at(a, broadcastIndex(a, v.Shape, idx)...)).
			Op(binaryOps[v.Op]).Add(gen.at(b, broadcastIndex(b, v.Shape, idx)...))}
	})
}

// flatBinary is genBinary as one loop over the elements, for operands of
// v's shape or single numbers (no index arithmetic, no bounds checks
// inside), or nil for any other broadcast and in tiny networks, whose
// loops are written out.
func (gen *generator) flatBinary(v *ir.Value) []jen.Code {
	if gen.unroll || !vectorized(v) {
		return nil
	}
	// Both operands of v's shape: a vector kernel (kernels.Add32, Sub32,
	// Mul32), each element rounded as the loop would.
	a, b := v.Args[0], v.Args[1]
	floats := v.DType == gen.g.DType && a.DType == v.DType && b.DType == v.DType // not indices
	if kernelOp, ok := binaryKernels[v.Op]; ok && floats && slices.Equal(a.Shape, v.Shape) && slices.Equal(b.Shape, v.Shape) {
		return []jen.Code{kernel(gen.suffixed(kernelOp), gen.flatValue(v), gen.flatValue(a), gen.flatValue(b))}
	}
	// And with a single number on the right (kernels.DivScalar32, ...):
	// attention's scaling, x / √d.
	if kernelOp, ok := scalarKernels[v.Op]; ok && floats && slices.Equal(a.Shape, v.Shape) && b.Shape.Size() == 1 {
		return []jen.Code{kernel(gen.suffixed(kernelOp), gen.flatValue(v), gen.flatValue(a), gen.at(b, make([]index, len(b.Shape))...))}
	}
	// d := v; l := a[:len(d)] proves every index in range to the compiler.
	// d, l and r are reserved: no argument of the method shadows them.
	code := []jen.Code{jen.Id("d").Op(":=").Add(gen.flatValue(v))}
	operands := make([]jen.Code, 2)
	for i, a := range v.Args {
		switch {
		case slices.Equal(a.Shape, v.Shape):
			name := string("lr"[i])
			code = append(code, jen.Id(name).Op(":=").Add(gen.flatValue(a)).Index(jen.Op(":").Len(jen.Id("d"))))
			operands[i] = jen.Id(name).Index(jen.Id("i"))
		case a.Shape.Size() == 1:
			operands[i] = gen.at(a, make([]index, len(a.Shape))...)
		default:
			return nil
		}
	}
	return append(code, jen.For(jen.Id("i").Op(":=").Range().Id("d")).Block(
		jen.Id("d").Index(jen.Id("i")).Op("=").Add(operands[0]).Op(binaryOps[v.Op]).Add(operands[1])))
}

// rows emits body for each row of v (its last axis), given the indexes of
// the axes before it.
func (gen *generator) rows(v *ir.Value, body func(lead []index) []jen.Code) []jen.Code {
	lead := gen.dims(v)[:len(v.Shape)-1]
	return gen.loops(axisNames("n", len(lead)), lead, body)
}

// genLogSoftmax: y = x - log Σ e^x over each row.
func (gen *generator) genLogSoftmax(v *ir.Value) []jen.Code {
	x := v.Args[0]
	return gen.rows(v, func(lead []index) []jen.Code {
		return []jen.Code{
			jen.Copy(gen.rowAt(v, lead), gen.rowAt(x, lead)),
			rt(gen.suffixed("LogSoftmax"), gen.rowAt(v, lead)),
		}
	})
}

// genLogSoftmaxGrad: dx = dy - e^y·Σ dy over each row.
func (gen *generator) genLogSoftmaxGrad(v *ir.Value) []jen.Code {
	dy, y := v.Args[0], v.Args[1]
	return gen.rows(v, func(lead []index) []jen.Code {
		return []jen.Code{rt("LogSoftmaxGrad", gen.rowAt(v, lead), gen.rowAt(dy, lead), gen.rowAt(y, lead))}
	})
}

// reduction is the loops of a reduction of x (see ir.Reduction).
type reduction struct {
	x *ir.Value
	ir.Reduction
}

// xIndex is the index into x for the result's index out and the reduced
// axes' r.
func (rd *reduction) xIndex(out, r []index) []index {
	xi := make([]index, len(rd.x.Shape))
	for a, o := range rd.Kept {
		if o >= 0 {
			xi[a] = out[o]
		}
	}
	for i, a := range rd.Reduced {
		xi[a] = r[i]
	}
	return xi
}

// reductionOver is the reduction of the axes of x, to a result with them
// kept as 1s or dropped.
func reductionOver(x *ir.Value, axes []int, keep bool) *reduction {
	return &reduction{x, ir.ReductionOver(x.Shape, axes, keep)}
}

// genReduce: y = Σ x, its mean, or its maximum over the axes.
func (gen *generator) genReduce(v *ir.Value) []jen.Code {
	if x := v.Args[0]; v.Op == ir.OpSum && perChannel(x, v.Axes) {
		// A convolution's bias gradient: the kernel's independent sums
		// where the loop's one chain of additions waits on each.
		return []jen.Code{kernel(gen.suffixed("SumChannels"), gen.flatValue(v), gen.flatValue(x),
			gen.count(gen.axes(x, []int{0})), jen.Lit(x.Shape[1]), jen.Lit(x.Shape[2:].Size()))}
	}
	rd := reductionOver(v.Args[0], v.Axes, v.KeepDims)
	extents := gen.axes(rd.x, rd.Reduced)
	return gen.each(v, func(out []index) []jen.Code {
		code := []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
		if v.Op == ir.OpMax {
			code[0] = jen.Id("s").Op(":=").Add(gen.at(rd.x, rd.xIndex(out, make([]index, len(rd.Reduced)))...))
		}
		code = append(code, gen.loops(axisNames("r", len(rd.Reduced)), extents, func(r []index) []jen.Code {
			x := gen.at(rd.x, rd.xIndex(out, r)...)
			if v.Op == ir.OpMax {
				return []jen.Code{jen.Id("s").Op("=").Max(jen.Id("s"), x)}
			}
			return []jen.Code{jen.Id("s").Op("+=").Add(x)}
		})...)
		result := jen.Id("s")
		if v.Op == ir.OpMean {
			result = gen.divide(result, extents)
		}
		return append(code, gen.at(v, out...).Op("=").Add(result))
	})
}

// perChannel reports whether a sum over axes of x is over every axis but
// the channels' (1), of a value of rank 3 or more: [N, C, spatial...].
func perChannel(x *ir.Value, axes []int) bool {
	if len(x.Shape) < 3 || len(axes) != len(x.Shape)-1 {
		return false
	}
	for _, a := range axes {
		if a == 1 {
			return false
		}
	}
	return true
}

// genMaxGrad: dx = dy at the first place, in row-major order, where x
// equals its maximum y; 0 elsewhere (as torch.max along a dimension
// routes it to the index it returns).
func (gen *generator) genMaxGrad(v *ir.Value) []jen.Code {
	dy, x, y := v.Args[0], v.Args[1], v.Args[2]
	rd := reductionOver(x, v.Axes, v.KeepDims)
	code := []jen.Code{jen.Clear(gen.flatValue(v))}
	return append(code, gen.each(dy, func(out []index) []jen.Code {
		body := []jen.Code{jen.Id("found").Op(":=").False()}
		body = append(body, gen.loops(axisNames("r", len(rd.Reduced)), gen.axes(x, rd.Reduced), func(r []index) []jen.Code {
			xi := rd.xIndex(out, r)
			return []jen.Code{jen.If(jen.Op("!").Id("found").Op("&&").Add(gen.at(x, xi...)).Op("==").Add(gen.at(y, out...))).Block(
				gen.at(v, xi...).Op("=").Add(gen.at(dy, out...)),
				jen.Id("found").Op("=").True(),
			)}
		})...)
		return []jen.Code{jen.Block(body...)}
	})...)
}

// genReshape: the same numbers in row-major order, under another shape.
func (gen *generator) genReshape(v *ir.Value) []jen.Code {
	return []jen.Code{jen.Copy(gen.flatValue(v), gen.flatValue(v.Args[0]))}
}

// genPermute: y[i...] = x at the indexes permuted back.
func (gen *generator) genPermute(v *ir.Value) []jen.Code {
	x := v.Args[0]
	last := len(v.Shape) - 1
	if v.Perm[last] == last { // rows stay rows: attention's heads
		rows := gen.rowCopies(v, x, func(lead []index) []index {
			xi := make([]index, last)
			for i, p := range v.Perm[:last] {
				xi[p] = lead[i]
			}
			return xi
		}, 0, false)
		if rows != nil {
			return rows
		}
	}
	return gen.each(v, func(idx []index) []jen.Code {
		xi := make([]index, len(idx))
		for i, p := range v.Perm {
			xi[p] = idx[i]
		}
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.at(x, xi...))}
	})
}

// genExpand: y = x broadcast to y's shape.
func (gen *generator) genExpand(v *ir.Value) []jen.Code {
	x := v.Args[0]
	return gen.each(v, func(idx []index) []jen.Code {
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.at(x, broadcastIndex(x, v.Shape, idx)...))}
	})
}

// genSumTo: y = x summed over the axes that broadcasting y to x's shape
// would repeat it along.
func (gen *generator) genSumTo(v *ir.Value) []jen.Code {
	x := v.Args[0]
	if len(v.Shape) == 1 && len(x.Shape) > 1 && x.Shape[len(x.Shape)-1] == v.Shape[0] && vectorized(x) && !gen.unroll {
		// A bias's gradient: the rows of x added in order, as the loops do.
		return []jen.Code{kernel(gen.suffixed("SumRows"), gen.flatValue(v), gen.flatValue(x))}
	}
	rd := &reduction{x, ir.ReductionTo(x.Shape, v.Shape)}
	return gen.each(v, func(out []index) []jen.Code {
		sum := []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
		sum = append(sum, gen.loops(axisNames("r", len(rd.Reduced)), gen.axes(x, rd.Reduced), func(r []index) []jen.Code {
			return []jen.Code{jen.Id("s").Op("+=").Add(gen.at(x, rd.xIndex(out, r)...))}
		})...)
		return append(sum, gen.at(v, out...).Op("=").Id("s"))
	})
}

// genConcat: each argument's elements, moved along the axis past the
// arguments before it.
func (gen *generator) genConcat(v *ir.Value) []jen.Code {
	var code []jen.Code
	offset := 0
	for _, a := range v.Args {
		code = append(code, gen.each(a, func(idx []index) []jen.Code {
			vi := slices.Clone(idx)
			vi[v.Axis] = vi[v.Axis].plus(offset)
			return []jen.Code{gen.at(v, vi...).Op("=").Add(gen.at(a, idx...))}
		})...)
		offset += a.Shape[v.Axis]
	}
	return code
}

// rowCopies moves v's rows (its last axis) as one copy each, when each is
// a run of x's elements: the row of x at the leading indexes that src
// gives for v's, from start on. With back, the copies go the other way,
// into x. nil where rows are short (a copy's call costs more than the
// loop), in tiny networks, or where a storage has no rows (parameters).
func (gen *generator) rowCopies(v, x *ir.Value, src func(lead []index) []index, start int, back bool) []jen.Code {
	width := v.Shape[len(v.Shape)-1]
	hasRows := func(s ir.Storage) bool { return s.Kind == ir.InSlot || s.Kind == ir.InArg }
	if gen.unroll || width < 16 || !hasRows(v.Storage) || !hasRows(x.Storage) {
		return nil
	}
	return gen.rows(v, func(lead []index) []jen.Code {
		row := gen.rowAt(x, src(lead))
		if start != 0 || width != x.Shape[len(x.Shape)-1] {
			row = row.Index(jen.Lit(start).Op(":").Lit(start + width))
		}
		if back {
			return []jen.Code{jen.Copy(row, gen.rowAt(v, lead))}
		}
		return []jen.Code{jen.Copy(gen.rowAt(v, lead), row)}
	})
}

// sliceLead maps the leading indexes of a slice's (or its gradient's
// dy's) rows to the sliced tensor's: moved by Start along the axis, unless
// that is the last, which sliceStart cuts.
func (gen *generator) sliceLead(v *ir.Value) func(lead []index) []index {
	return func(lead []index) []index {
		xi := slices.Clone(lead)
		if v.Axis < len(lead) {
			xi[v.Axis] = xi[v.Axis].plus(v.Start)
		}
		return xi
	}
}

// sliceStart is where a slice's rows start in the sliced tensor's.
func (gen *generator) sliceStart(v *ir.Value) int {
	if v.Axis == len(v.Shape)-1 {
		return v.Start
	}
	return 0
}

// genSlice: y = x[..., Start:End, ...] along the axis.
func (gen *generator) genSlice(v *ir.Value) []jen.Code {
	x := v.Args[0]
	if rows := gen.rowCopies(v, x, gen.sliceLead(v), gen.sliceStart(v), false); rows != nil {
		return rows
	}
	return gen.each(v, func(idx []index) []jen.Code {
		xi := slices.Clone(idx)
		xi[v.Axis] = xi[v.Axis].plus(v.Start)
		return []jen.Code{gen.at(v, idx...).Op("=").Add(gen.at(x, xi...))}
	})
}

// genSliceGrad: dx is dy at Start:End along the axis, 0 elsewhere.
func (gen *generator) genSliceGrad(v *ir.Value) []jen.Code {
	dy := v.Args[0]
	code := []jen.Code{jen.Clear(gen.flatValue(v))}
	if rows := gen.rowCopies(dy, v, gen.sliceLead(v), gen.sliceStart(v), true); rows != nil {
		return append(code, rows...)
	}
	return append(code, gen.each(dy, func(idx []index) []jen.Code {
		vi := slices.Clone(idx)
		vi[v.Axis] = vi[v.Axis].plus(v.Start)
		return []jen.Code{gen.at(v, vi...).Op("=").Add(gen.at(dy, idx...))}
	})...)
}

// genCausalMask: y[..., i, j] = x[..., i, j] where j ≤ i, and above the
// diagonal -∞ (causal_mask, before a softmax, whose e^-∞ is 0) or 0 (its
// gradient).
func (gen *generator) genCausalMask(v *ir.Value) []jen.Code {
	x, r := v.Args[0], len(v.Shape)
	fill := jen.Lit(0)
	if v.Op == ir.OpCausalMask {
		fill = gen.elem().Call(jen.Qual("math", "Inf").Call(jen.Lit(-1)))
	}
	return gen.each(v, func(idx []index) []jen.Code {
		i, j := idx[r-2], idx[r-1]
		keep := gen.at(v, idx...).Op("=").Add(gen.at(x, idx...))
		masked := gen.at(v, idx...).Op("=").Add(fill)
		switch {
		case i.name == "" && j.name == "" && j.value > i.value:
			return []jen.Code{masked}
		case i.name == "" && j.name == "":
			return []jen.Code{keep}
		}
		return []jen.Code{jen.If(j.code().Op(">").Add(i.code())).Block(masked).Else().Block(keep)}
	})
}

// genBatchedMatMul: c[b..., i, j] = Σ_k a[b..., i, k]·b[b..., k, j] for
// each index b... of the leading axes, which broadcast.
func (gen *generator) genBatchedMatMul(v *ir.Value) []jen.Code {
	a, b := v.Args[0], v.Args[1]
	_, _, inner, batch, err := ir.MatMulDims(v)
	if err != nil {
		gen.fail(fmt.Errorf("codegen: %v", err))
		return nil
	}
	names := append(axisNames("b", len(batch)), "i", "j")
	return gen.loops(names, gen.dims(v), func(idx []index) []jen.Code {
		bi, i, j := idx[:len(batch)], idx[len(batch)], idx[len(batch)+1]
		operand := func(x *ir.Value, trans bool, r, c index) []index {
			lead := broadcastIndex(&ir.Value{Shape: x.Shape[:len(x.Shape)-2]}, batch, bi)
			if trans {
				r, c = c, r
			}
			return append(lead, r, c)
		}
		product := func(k index) *jen.Statement {
			return gen.at(a, operand(a, v.TransA, i, k)...).Op("*").Add(gen.at(b, operand(b, v.TransB, k, j)...))
		}
		return append(gen.sum(nil, "k", inner, product), gen.at(v, idx...).Op("=").Id("s"))
	})
}

// span is the elements of v over its axes after lead (the indexes of its
// leading axes), as a slice.
func (gen *generator) span(v *ir.Value, lead []index) *jen.Statement {
	if len(lead) == len(v.Shape)-1 {
		return gen.rowAt(v, lead)
	}
	at := append(slices.Clone(lead), make([]index, len(v.Shape)-len(lead))...)
	width := ir.Shape(v.Shape[len(lead):]).Size()
	start := flatIndex(v.Shape, at)
	end := flatIndex(v.Shape, at).Op("+").Lit(width)
	if !slices.ContainsFunc(lead, func(ix index) bool { return ix.name != "" }) {
		end = jen.Lit(constIndex(v.Shape, at) + width)
	}
	if v.Storage.Kind == ir.InSlot {
		return gen.self().Dot(slotField(v.Storage.Slot)).Index(start.Op(":").Add(end))
	}
	return gen.flatValue(v).Index(start.Op(":").Add(end))
}

// divide is sum divided by the number of elements of the extents, for a
// mean: a constant, or the call's samples times one.
func (gen *generator) divide(sum *jen.Statement, extents []int) *jen.Statement {
	n := gen.count(extents)
	if slices.Contains(extents, perCall) {
		return sum.Op("/").Add(gen.elem()).Call(n)
	}
	if ir.Shape(extents).Size() == 1 {
		return sum
	}
	return sum.Op("/").Add(n)
}

// constIndex is the row-major offset of constant indexes.
func constIndex(shape ir.Shape, idx []index) int {
	offset, stride := 0, 1
	for d := len(shape) - 1; d >= 0; d-- {
		offset += idx[d].value * stride
		stride *= shape[d]
	}
	return offset
}

// normalized loops over the leading axes of a layer_norm, before its
// normalized (trailing) ones.
func (gen *generator) normalized(v *ir.Value, body func(lead []index) []jen.Code) []jen.Code {
	lead := gen.dims(v)[:v.Axes[0]]
	return gen.loops(axisNames("n", len(lead)), lead, body)
}

// genLayerNorm: y = (x - mean x) / √(var x + eps) over the trailing axes,
// then ·w + b in the same loop where layer_norm has its weight and bias.
func (gen *generator) genLayerNorm(v *ir.Value) []jen.Code {
	x := v.Args[0]
	if gen.layerNormRows(v) {
		var bias jen.Code = jen.Nil()
		if len(v.Args) == 3 {
			bias = gen.flatValue(v.Args[2])
		}
		return []jen.Code{kernel("LayerNorm32", gen.flatValue(v), gen.flatValue(x), gen.flatValue(v.Args[1]), bias, jen.Lit(v.Eps))}
	}
	return gen.normalized(v, func(lead []index) []jen.Code {
		if len(v.Args) == 1 {
			return []jen.Code{rt("LayerNorm", gen.span(v, lead), gen.span(x, lead), jen.Lit(v.Eps))}
		}
		var bias jen.Code = jen.Nil()
		if len(v.Args) == 3 {
			bias = gen.flatValue(v.Args[2])
		}
		return []jen.Code{rt("LayerNormAffine", gen.span(v, lead), gen.span(x, lead), gen.flatValue(v.Args[1]), bias, jen.Lit(v.Eps))}
	})
}

// layerNormRows: a float32 layer norm with its weight, and its gradients,
// as one call of package kernels over every row (LayerNorm32,
// LayerNormGrads32: vector code, statistics in float64 as nnrt's).
func (gen *generator) layerNormRows(v *ir.Value) bool {
	return gen.g.DType == ir.F32 && len(v.Args) >= 2
}

// cellFuncs are the runtime's functions of the recurrent cell ops, and the
// number of the cell's arguments each takes (absent ones nil).
var cellFuncs = map[ir.Op]struct {
	name string
	args int
}{
	ir.OpGRUCell: {"GRUCell", 3}, ir.OpGRUCellGrad: {"GRUCellGrad", 3},
	ir.OpLSTMCell: {"LSTMCell", 2}, ir.OpLSTMCellGrad: {"LSTMCellGrad", 2},
	ir.OpLSTMHidden: {"LSTMHidden", 2}, ir.OpLSTMHiddenGrad: {"LSTMHiddenGrad", 2},
}

// genCell: a recurrent cell op or its gradient, the runtime's function
// on each row of the leading axes (ir.OpGRUCell says what each computes);
// gru_cell's gh may be the bias alone, the same for every row.
func (gen *generator) genCell(v *ir.Value) []jen.Code {
	f, grad := cellFuncs[v.Op], ir.CellGrad(v.Op)
	want := f.args + 1 // the result and the cell's arguments
	if grad {
		want++ // dy
	}
	lead := gen.dims(v)[:len(v.Shape)-1]
	return gen.loops(axisNames("n", len(lead)), lead, func(idx []index) []jen.Code {
		args := []jen.Code{gen.span(v, idx)}
		for _, a := range v.Args {
			if len(a.Shape) < len(v.Shape) {
				args = append(args, gen.flatValue(a))
			} else {
				args = append(args, gen.span(a, idx))
			}
		}
		for len(args) < want {
			args = append(args, jen.Nil())
		}
		if grad {
			args = append(args, jen.Lit(v.Wrt))
		}
		return []jen.Code{rt(f.name, args...)}
	})
}

// genLayerNormAffineGrad: with g = dy·w, dx = (g - mean g - x̂·mean(g·x̂)) /
// √(var x + eps), x̂ recomputed from x.
func (gen *generator) genLayerNormAffineGrad(v *ir.Value) []jen.Code {
	dy, x, w := v.Args[0], v.Args[1], v.Args[2]
	if dw := gen.normWeightGrads[v]; dw != nil && gen.layerNormRows(v) {
		return []jen.Code{
			jen.Clear(gen.flatValue(dw)),
			kernel("LayerNormGrads32", gen.flatValue(v), gen.flatValue(dw), gen.flatValue(dy), gen.flatValue(x), gen.flatValue(w), jen.Lit(v.Eps)),
		}
	}
	if dw := gen.normWeightGrads[v]; dw != nil {
		return append([]jen.Code{jen.Clear(gen.flatValue(dw))}, gen.normalized(v, func(lead []index) []jen.Code {
			return []jen.Code{rt("LayerNormGrads", gen.span(v, lead), gen.flatValue(dw), gen.span(dy, lead), gen.span(x, lead), gen.flatValue(w), jen.Lit(v.Eps))}
		})...)
	}
	return gen.normalized(v, func(lead []index) []jen.Code {
		return []jen.Code{rt("LayerNormAffineGrad", gen.span(v, lead), gen.span(dy, lead), gen.span(x, lead), gen.flatValue(w), jen.Lit(v.Eps))}
	})
}

// normWeightGrads maps each layer_norm_affine_grad to the
// layer_norm_weight_grad of the same dy and x right after it (autodiff
// derives them together): one loop computes both with nnrt.LayerNormGrads,
// each row's moments once instead of twice. Consecutive, the weight's
// gradient takes no slot that holds a value the first still reads.
func normWeightGrads(g *ir.Graph) map[*ir.Value]*ir.Value {
	pairs := map[*ir.Value]*ir.Value{}
	for i, v := range g.Values[:max(len(g.Values)-1, 0)] {
		dw := g.Values[i+1]
		if v.Op == ir.OpLayerNormAffineGrad && dw.Op == ir.OpLayerNormWeightGrad && dw.Args[0] == v.Args[0] &&
			dw.Args[1] == v.Args[1] && slices.Equal(dw.Axes, v.Axes) && dw.Eps == v.Eps && dw.Storage != v.Storage {
			pairs[v] = dw
		}
	}
	return pairs
}

// genLayerNormWeightGrad: dw = Σ dy·x̂ over the leading axes of x (the
// call's samples among them), row by row.
func (gen *generator) genLayerNormWeightGrad(v *ir.Value) []jen.Code {
	dy, x := v.Args[0], v.Args[1]
	lead := gen.dims(x)[:v.Axes[0]]
	return append([]jen.Code{jen.Clear(gen.flatValue(v))}, gen.loops(axisNames("n", len(lead)), lead, func(idx []index) []jen.Code {
		return []jen.Code{rt("LayerNormWeightGrad", gen.flatValue(v), gen.span(dy, idx), gen.span(x, idx), jen.Lit(v.Eps))}
	})...)
}

// genDropoutMask: in training mode 0 with probability p, else 1/(1-p),
// drawn by the model's generator or chosen by its DropoutMasks hook; 1 in
// evaluation mode. The layer it names to the hook is the mask's name less
// ".mask" (the front ends name it LAYER.mask).
func (gen *generator) genDropoutMask(v *ir.Value) []jen.Code {
	m := gen.self()
	return []jen.Code{rt("DropoutMask", gen.flatValue(v), jen.Lit(v.P), m.Clone().Dot("eval"), jen.Op("&").Add(m.Clone()).Dot("dropout"),
		m.Clone().Dot("DropoutMasks"), jen.Lit(strings.TrimSuffix(v.Name, ".mask")))}
}

// genLayerNormGrad: dx = (dy - mean dy - y·mean(dy·y)) / √(var x + eps).
func (gen *generator) genLayerNormGrad(v *ir.Value) []jen.Code {
	dy, x, y := v.Args[0], v.Args[1], v.Args[2]
	return gen.normalized(v, func(lead []index) []jen.Code {
		return []jen.Code{rt("LayerNormGrad", gen.span(v, lead), gen.span(dy, lead), gen.span(x, lead), gen.span(y, lead), jen.Lit(v.Eps))}
	})
}
