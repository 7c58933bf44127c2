package codegen

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// generator holds what the gen* functions share while emitting one graph.
type generator struct {
	g    *ir.Graph
	pkg  string               // the generated package's name
	args map[*ir.Value]string // inputs: the generated method's argument name
	// computedBy maps an activation to the linear whose loop computes it,
	// and a weight's gradient to the batch of products whose GEMM sums it
	// (summedBy, the other way round; see summedProducts).
	computedBy map[*ir.Value]*ir.Value
	summedBy   map[*ir.Value]*ir.Value
	// epilogues maps a product over a sequence's rows to the bias added
	// to it and the relu after, which its GEMM's epilogue computes (see
	// biasEpilogues).
	epilogues map[*ir.Value][]*ir.Value
	// normWeightGrads maps a layer norm's input gradient to its weight's
	// gradient, which the same loop computes (see normWeightGrads).
	normWeightGrads map[*ir.Value]*ir.Value
	// views holds the slices, reshapes and permutes that only per-head
	// products read, in their sources (see foldViews): no code computes them.
	views map[*ir.Value]bool
	// assembled holds the values written straight from their sources'
	// numbers (see assemblies); computedBy maps the values between to them.
	assembled map[*ir.Value]*assembly
	// unroll is set for tiny networks: every loop is written out as
	// straight-line code with constant indexes (see unrollMax).
	unroll bool
	// predictor is set while emitting a Predictor's methods: their
	// receiver p holds the scratch memory and the GEMM workspace, and
	// p.m the parameters; its GEMMs run on the calling goroutine alone.
	predictor bool
	// readsModel is set when the code emitted since it was cleared reads
	// the model (a Predictor's code then starts with m := p.m).
	readsModel bool
	// samples holds the values with a row per sample (ir.Samples) when
	// the methods take any number of samples up to the batch, the call's
	// number in the local batch; nil when they take the full batch only,
	// for the reason in fullBatch.
	samples   map[*ir.Value]bool
	fullBatch error
	// readsBatch is set when the code emitted since it was cleared reads
	// batch (a method's code then starts with batch := len(x)).
	readsBatch bool
	err        error
}

// self is the receiver of the methods being emitted: m, or p for a
// Predictor.
func (gen *generator) self() *jen.Statement {
	if gen.predictor {
		return jen.Id("p")
	}
	return jen.Id("m")
}

// model is the Model whose parameters the code reads: m (a Predictor's
// code declares it, see body).
func (gen *generator) model() *jen.Statement {
	gen.readsModel = true
	return jen.Id("m")
}

// body is the code that emit returns, for a method of the receiver: a
// Predictor's starts with m := p.m when it reads the model, and a method
// that reads the number of samples with batch := len(x), x its first input.
func (gen *generator) body(emit func() []jen.Code) []jen.Code {
	outerModel, outerBatch := gen.readsModel, gen.readsBatch
	gen.readsModel, gen.readsBatch = false, false
	code := emit()
	if gen.readsBatch {
		code = append([]jen.Code{jen.Id("batch").Op(":=").Len(jen.Id(gen.dataArgs()[0].name))}, code...)
	}
	if gen.predictor && gen.readsModel {
		code = append([]jen.Code{jen.Id("m").Op(":=").Id("p").Dot("m")}, code...)
	}
	gen.readsModel, gen.readsBatch = outerModel, outerBatch
	return code
}

// partial reports whether the methods take any number of samples up to
// the batch.
func (gen *generator) partial() bool { return gen.samples != nil }

// batch is the number of samples of the call, in a partial build.
func (gen *generator) batch() *jen.Statement {
	gen.readsBatch = true
	return jen.Id("batch")
}

// perCall is the extent that loops and sum read as the call's number of
// samples (batch): a value's first axis where it has a row per sample.
const perCall = -1

// dims are the extents of v's axes for loops: perCall for its first
// where it has a row per sample, in a partial build.
func (gen *generator) dims(v *ir.Value) []int { return gen.axes(v, allAxes(len(v.Shape))) }

// axes are the extents of the given axes of v, as dims has them.
func (gen *generator) axes(v *ir.Value, axes []int) []int {
	ext := make([]int, len(axes))
	for i, a := range axes {
		ext[i] = v.Shape[a]
		if a == 0 && gen.samples[v] {
			ext[i] = perCall
		}
	}
	return ext
}

func allAxes(n int) []int {
	axes := make([]int, n)
	for i := range axes {
		axes[i] = i
	}
	return axes
}

// count is the number of elements of the given extents (perCall among
// them), as a constant or an expression of batch.
func (gen *generator) count(extents []int) *jen.Statement {
	n, perSample := 1, false
	for _, e := range extents {
		if e == perCall {
			perSample = true
			continue
		}
		n *= e
	}
	switch {
	case !perSample:
		return jen.Lit(n)
	case n == 1:
		return gen.batch()
	}
	return gen.batch().Op("*").Lit(n)
}

// receiver declares the receiver of the methods being emitted.
func (gen *generator) receiver() *jen.Statement {
	if gen.predictor {
		return jen.Id("p").Op("*").Id("Predictor")
	}
	return jen.Id("m").Op("*").Id("Model")
}

func newGenerator(g *ir.Graph, pkg string) *generator {
	gen := &generator{g: g, pkg: pkg, args: map[*ir.Value]string{}, computedBy: g.ComputedBy()}
	gen.summedBy = summedProducts(g)
	for mm, sum := range gen.summedBy {
		gen.computedBy[sum] = mm
	}
	gen.normWeightGrads = normWeightGrads(g)
	for dx, dw := range gen.normWeightGrads {
		gen.computedBy[dw] = dx
	}
	gen.epilogues = biasEpilogues(g)
	for mm, chain := range gen.epilogues {
		for _, v := range chain {
			gen.computedBy[v] = mm
		}
	}
	gen.unroll = unrolled(g)
	gen.samples, gen.fullBatch = ir.Samples(g)
	for _, v := range g.Inputs() {
		gen.args[v] = inputArg(g, v)
	}
	gen.views = gen.foldViews()
	for v := range gen.views {
		gen.computedBy[v] = v.Args[0] // read where its source lies
	}
	gen.assembled = gen.assemblies()
	return gen
}

// elem returns the Go type of the model's numbers.
func (gen *generator) elem() *jen.Statement { return goType(gen.g.DType) }

func goType(d ir.DType) *jen.Statement {
	switch d {
	case ir.F64:
		return jen.Float64()
	case ir.Int:
		return jen.Int()
	case ir.I64:
		return jen.Int64()
	}
	return jen.Float32()
}

// lit is a constant of the model's element type.
func (gen *generator) lit(x float64) *jen.Statement {
	if gen.g.DType == ir.F64 {
		return jen.Lit(x)
	}
	return jen.Lit(float32(x))
}

// arrayType is the fixed array type of a value: [5][4]float32.
func arrayType(v *ir.Value) *jen.Statement {
	s := jen.Null()
	for _, d := range v.Shape {
		s = s.Index(jen.Lit(d))
	}
	return s.Add(goType(v.DType))
}

// apiType is the type a generated method takes for an input [batch, ...]:
// a pointer to its array, without the batch dimension for an unbatched
// model; a single class index ([batch] in an unbatched model) goes by value.
func (gen *generator) apiType(v *ir.Value) *jen.Statement {
	if gen.apiPointer(v) {
		return jen.Op("*").Add(gen.apiArray(v))
	}
	return gen.apiArray(v)
}

// apiArray is the array (or number) that apiType points to.
func (gen *generator) apiArray(v *ir.Value) *jen.Statement {
	shape := v.Shape
	if gen.g.Unbatched {
		shape = shape[1:]
	}
	if len(shape) == 0 {
		return goType(v.DType)
	}
	return arrayType(&ir.Value{Shape: shape, DType: v.DType})
}

// apiPointer reports whether apiType is a pointer: to any array.
func (gen *generator) apiPointer(v *ir.Value) bool {
	return len(v.Shape) > 0 && !(gen.g.Unbatched && len(v.Shape) == 1)
}

// paramField is the model field holding parameter p, gradField its gradient.
func paramField(p *ir.Value) string { return GoName(p.Name) }
func gradField(p *ir.Value) string  { return GoName(p.Name) + "Grad" }
func slotField(i int) string        { return "slot" + strconv.Itoa(i) }
func stateField(s *ir.Value) string { return GoName(s.Name) }

// bufferField is named as a parameter's field is: a buffer is as much the
// state_dict's (bn1.running_mean is Bn1RunningMean).
func bufferField(b *ir.Value) string { return GoName(b.Name) }

// index is a loop index: a variable plus a constant offset (value), or
// only the constant where a loop of one iteration was left out.
type index struct {
	name  string
	value int
}

func (ix index) code() *jen.Statement {
	switch {
	case ix.name == "":
		return jen.Lit(ix.value)
	case ix.value != 0:
		return jen.Id(ix.name).Op("+").Lit(ix.value)
	}
	return jen.Id(ix.name)
}

// plus is the index moved by k.
func (ix index) plus(k int) index { return index{ix.name, ix.value + k} }

// at is the element of v at the given indexes, one per dimension.
func (gen *generator) at(v *ir.Value, idx ...index) *jen.Statement {
	if len(idx) != len(v.Shape) {
		gen.fail(fmt.Errorf("codegen: %s indexed with %d indexes", v.LongString(), len(idx)))
		return jen.Null()
	}
	s := v.Storage
	switch s.Kind {
	case ir.InArg:
		if gen.g.Unbatched {
			idx = idx[1:]
		}
		return indexed(jen.Id(gen.args[v]), idx)
	case ir.InParam:
		return indexed(gen.model().Dot(paramField(s.Param)), idx)
	case ir.InGrad:
		return indexed(gen.model().Dot(gradField(s.Param)), idx)
	case ir.InState:
		return indexed(gen.model().Dot(stateField(s.Param)), idx)
	case ir.InBuffer:
		return indexed(gen.model().Dot(bufferField(s.Param)), idx)
	case ir.InHyper:
		return gen.model().Dot(GoName(v.Name))
	case ir.InConst:
		return gen.lit(v.Value)
	case ir.InSlot:
		return gen.self().Dot(slotField(s.Slot)).Index(flatIndex(v.Shape, idx))
	}
	gen.fail(fmt.Errorf("codegen: %s has no storage", v))
	return jen.Null()
}

// row is sample n's row of a [batch, features] value, as a slice.
func (gen *generator) row(v *ir.Value, n index) *jen.Statement { return gen.rowAt(v, []index{n}) }

// rowAt is the row of v (along its last axis) at the indexes of the axes
// before it, as a slice.
func (gen *generator) rowAt(v *ir.Value, lead []index) *jen.Statement {
	switch v.Storage.Kind {
	case ir.InArg:
		if gen.g.Unbatched {
			lead = lead[1:]
		}
		return indexed(jen.Id(gen.args[v]), lead).Index(jen.Op(":"))
	case ir.InSlot:
		width := v.Shape[len(v.Shape)-1]
		at := append(slices.Clone(lead), index{})
		start := flatIndex(v.Shape, at)
		end := flatIndex(v.Shape, at).Op("+").Lit(width)
		if !slices.ContainsFunc(lead, func(ix index) bool { return ix.name != "" }) {
			end = flatIndex(v.Shape, append(slices.Clone(lead), index{value: width})) // a constant row: unrolled, or the only one
		}
		return gen.self().Dot(slotField(v.Storage.Slot)).Index(start.Op(":").Add(end))
	}
	gen.fail(fmt.Errorf("codegen: %s has no rows", v.LongString()))
	return jen.Null()
}

func indexed(s *jen.Statement, idx []index) *jen.Statement {
	for _, ix := range idx {
		s = s.Index(ix.code())
	}
	return s
}

// flatIndex is the row-major offset of idx in shape, with constant parts
// folded so a one-sample model reads slot[i] rather than slot[0*5+i].
func flatIndex(shape ir.Shape, idx []index) *jen.Statement {
	var terms []*jen.Statement
	offset := 0
	stride := 1
	for d := len(shape) - 1; d >= 0; d-- {
		ix := idx[d]
		offset += ix.value * stride
		switch {
		case ix.name == "":
		case stride == 1:
			terms = append(terms, jen.Id(ix.name))
		default:
			terms = append(terms, jen.Id(ix.name).Op("*").Lit(stride))
		}
		stride *= shape[d]
	}
	if offset != 0 || len(terms) == 0 {
		terms = append(terms, jen.Lit(offset))
	}
	s := terms[len(terms)-1]
	for i := len(terms) - 2; i >= 0; i-- {
		s = s.Op("+").Add(terms[i])
	}
	return s
}

// loops emits nested loops over extents with the given index names,
// leaving out loops of one iteration, around the body built from the
// indexes. In a tiny network (gen.unroll) every iteration is written out
// with constant indexes instead, each in a block of its own when it
// declares locals, except over the call's samples (perCall).
func (gen *generator) loops(names []string, extents []int, body func(idx []index) []jen.Code) []jen.Code {
	idx := make([]index, len(extents))
	var nest func(d int) []jen.Code
	nest = func(d int) []jen.Code {
		if d == len(extents) {
			return body(idx)
		}
		switch {
		case extents[d] == perCall:
			idx[d] = index{name: names[d]}
			return []jen.Code{jen.For(jen.Id(names[d]).Op(":=").Range().Add(gen.batch())).Block(nest(d + 1)...)}
		case extents[d] == 1:
			idx[d] = index{}
			return nest(d + 1)
		}
		if gen.unroll {
			var code []jen.Code
			for i := range extents[d] {
				idx[d] = index{value: i}
				inner := nest(d + 1)
				if len(inner) > 1 {
					inner = []jen.Code{jen.Block(inner...)}
				}
				code = append(code, inner...)
			}
			return code
		}
		idx[d] = index{name: names[d]}
		inner := nest(d + 1)
		return []jen.Code{jen.For(jen.Id(names[d]).Op(":=").Range().Lit(extents[d])).Block(inner...)}
	}
	return nest(0)
}

// sum emits statements that set s to init (zero when nil) plus term(k) for
// k < n. A loop adds the terms in k order; in a tiny network's unrolled code
// (gen.unroll) s is one expression that adds them as a balanced tree, so
// that the latency of its additions grows with log n rather than n (the
// tutorial network's train step: 231 -> 204 ns).
func (gen *generator) sum(init *jen.Statement, name string, n int, term func(k index) *jen.Statement) []jen.Code {
	if (gen.unroll || n == 1) && n != perCall {
		var parts []*jen.Statement
		if init != nil {
			parts = append(parts, init)
		}
		for k := range n {
			if n == 1 {
				parts = append(parts, term(index{}))
			} else {
				parts = append(parts, term(index{value: k}))
			}
		}
		if len(parts) == 0 {
			return []jen.Code{jen.Id("s").Op(":=").Add(gen.lit(0))}
		}
		return []jen.Code{jen.Id("s").Op(":=").Add(sumTree(parts))}
	}
	if init == nil {
		init = gen.lit(0)
	}
	code := []jen.Code{jen.Id("s").Op(":=").Add(init)}
	return append(code, gen.loops([]string{name}, []int{n}, func(kx []index) []jen.Code {
		return []jen.Code{jen.Id("s").Op("+=").Add(term(kx[0]))}
	})...)
}

// sumTree writes parts[0] + ... + parts[len-1] as a balanced tree of
// additions: a + b + (c + d) is (a + b) + (c + d).
func sumTree(parts []*jen.Statement) *jen.Statement {
	if len(parts) == 1 {
		return parts[0]
	}
	half := (len(parts) + 1) / 2
	right := sumTree(parts[half:])
	if len(parts)-half > 1 {
		right = jen.Parens(right)
	}
	return sumTree(parts[:half]).Op("+").Add(right)
}

// each emits loops over every element of v (its rows for the call's
// samples), naming indexes i, j, k.
func (gen *generator) each(v *ir.Value, body func(idx []index) []jen.Code) []jen.Code {
	return gen.loops(axisNames("", len(v.Shape)), gen.dims(v), body)
}

// axisNames names the loop indexes of n axes: i, j, k, l, then i4, i5...;
// with a prefix, prefix, prefix1, prefix2...
func axisNames(prefix string, n int) []string {
	names := make([]string, n)
	for d := range names {
		switch {
		case prefix != "" && d == 0:
			names[d] = prefix
		case prefix != "":
			names[d] = prefix + strconv.Itoa(d)
		case d < 4:
			names[d] = string("ijkl"[d])
		default:
			names[d] = "i" + strconv.Itoa(d)
		}
	}
	return names
}

func (gen *generator) fail(err error) {
	if gen.err == nil {
		gen.err = err
	}
}
