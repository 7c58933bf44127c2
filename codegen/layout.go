package codegen

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// Model's fields, in order, and the one rule their order keeps for arm64.
//
// Go's arm64 back end (the SSA pass "pair") joins two loads, or two stores,
// of adjacent numbers at constant offsets from one pointer into a single
// instruction. From an offset of 16 MiB on, that instruction needs its
// offset from the literal pool, and Go 1.26's assembler puts it there for
// LDP and STP but not for FLDPS, FSTPS, FLDPD, FSTPD and LDPSW: the package
// does not build ("constant is not in pool"). Generated code reads and
// writes a number at a constant offset only where a value has one number:
// an optimizer setting, an array of one element (the bias of a layer with
// one output), or the first element of a scratch slot that holds such a
// value (a loss). So the settings come first, and past 16 MiB a blank field
// goes between a field of one number and a field whose first number is
// read that way.

// pairOffsetMax is the largest offset at which arm64's pair instructions
// still build.
const pairOffsetMax = 1<<24 - 1

// fieldKind says which group of Model a field belongs to.
type fieldKind int

const (
	settingKind fieldKind = iota
	paramKind
	bufferKind
	gradKind
	stateKind
	runtimeKind
	slotKind
	gapKind // a blank field between two groups, in neither
)

// modelField is one field of Model.
type modelField struct {
	kind    fieldKind
	opens   bool   // the first field of its group: a blank line goes above it
	heading string // the group's comment, above its first field
	name    string
	typ     *jen.Statement
	comment string
	// What the layout needs: the field's size and alignment on a 64-bit
	// platform, whether it holds a single number, whether code reads its
	// first number at a constant offset, and the numbers' type.
	size, align int64
	single      bool
	constFirst  bool
	dtype       ir.DType
	// source is the value an exported field holds (a parameter for its
	// gradient too), for messages about its name.
	source *ir.Value
}

// numbers is a field of count numbers of type d.
func numbers(kind fieldKind, name string, typ *jen.Statement, count int, d ir.DType, comment string) modelField {
	b := int64(d.Bytes())
	return modelField{kind: kind, name: name, typ: typ, comment: comment, size: int64(count) * b, align: b,
		single: count == 1, constFirst: count == 1, dtype: d}
}

// modelFields lists Model's fields in order: the optimizer's settings, the
// parameters in PyTorch's order, the buffers, the parameters' gradients, the optimizer's state,
// the runtime's workspace and the scratch slots, with blank fields where
// two one-number fields would meet past pairOffsetMax.
func (gen *generator) modelFields() []modelField {
	var fields []modelField
	group := func(heading string, fs []modelField) {
		if len(fs) > 0 {
			fs[0].opens, fs[0].heading = true, heading
			fields = append(fields, fs...)
		}
	}
	var settings, params, buffers, grads, states, runtimes, slots []modelField
	of := func(f modelField, v *ir.Value) modelField {
		f.source = v
		return f
	}
	for _, h := range gen.g.Hypers() {
		settings = append(settings, of(numbers(settingKind, GoName(h.Name), gen.elem(), 1, gen.g.DType, h.Name), h))
	}
	for _, p := range gen.g.Params() {
		params = append(params, of(numbers(paramKind, paramField(p), arrayType(p), p.Shape.Size(), p.DType, p.Name), p))
		if gen.g.Loss != nil {
			grads = append(grads, of(numbers(gradKind, gradField(p), arrayType(p), p.Shape.Size(), p.DType, "d loss / d "+p.Name), p))
		}
	}
	for _, b := range gen.g.Buffers() {
		buffers = append(buffers, of(numbers(bufferKind, bufferField(b), arrayType(b), b.Shape.Size(), b.DType, b.Name), b))
	}
	for _, s := range gen.g.States() {
		typ := arrayType(s)
		if s.DType == ir.Int {
			// The step count: int64 on every platform, as checkpoints
			// store it (StateDict's Int aliases it).
			typ = jen.Int64()
		}
		states = append(states, of(numbers(stateKind, stateField(s), typ, s.Shape.Size(), s.DType, s.Name), s))
	}
	if gen.usesGemm() {
		runtimes = append(runtimes, modelField{kind: runtimeKind, name: "gemmWork", typ: jen.Index().Add(gen.elem()),
			comment: "packed panels for the GEMM kernels, sized once in New", size: 24, align: 8})
	}
	if gen.swapSize() > 0 {
		runtimes = append(runtimes, modelField{kind: runtimeKind, name: "gemmSwap", typ: jen.Index().Add(gen.elem()),
			comment: "a weight gradient computed transposed, before it is transposed back", size: 24, align: 8})
	}
	if gen.usesPool() {
		runtimes = append(runtimes, modelField{kind: runtimeKind, name: "pool", typ: jen.Op("*").Qual(kernelsPath, "Pool"),
			comment: "splits the large products and the update (see Step) across GOMAXPROCS cores", size: 8, align: 8})
	}
	if gen.g.Loss != nil {
		runtimes = append(runtimes, modelField{kind: runtimeKind, name: "eval", typ: jen.Bool(),
			comment: "evaluation mode (Eval); false: training mode, as a new PyTorch module starts", size: 1, align: 1})
	}
	if gen.usesDropout() {
		runtimes = append(runtimes,
			modelField{kind: runtimeKind, name: "dropout", typ: jen.Qual(nnrtPath, "RNG"),
				comment: "draws the dropout masks in training mode; New(seed) seeds it", size: 8, align: 8},
			modelField{kind: runtimeKind, name: "DropoutMasks", typ: jen.Qual(nnrtPath, "DropoutMasks").Types(gen.elem()),
				comment: "when set, chooses the dropout masks in training mode instead: see nnrt.DropoutMasks", size: 8, align: 8})
	}
	for i, s := range gen.g.Slots {
		names := make([]string, len(s.Values))
		slot := numbers(slotKind, slotField(i), jen.Index(jen.Lit(s.Size)).Add(gen.elem()), s.Size, gen.g.DType, "")
		for j, v := range s.Values {
			names[j] = gen.label(v)
			slot.constFirst = slot.constFirst || v.Shape.Size() == 1
		}
		slot.comment = strings.Join(names, ", ")
		slots = append(slots, slot)
	}
	if gen.g.Optimizer != nil {
		group(fmt.Sprintf("Settings of the %s optimizer, named as in PyTorch; change them between steps as schedules do.", gen.g.Optimizer.Kind), settings)
	}
	group("", params)
	group("Buffers: tensors of the state_dict that are not trained.", buffers)
	group("Gradients of the loss, set by Backward.", grads)
	group("Optimizer state, advanced by Step and cleared by ResetOptimizer.", states)
	group("", runtimes)
	group("Scratch memory. Values whose lifetimes do not overlap share a slot.", slots)
	return padPairs(fields)
}

// padPairs inserts a blank field between a field of one number past
// pairOffsetMax and a field of the same type whose first number is read at
// a constant offset (see the top of this file).
func padPairs(fields []modelField) []modelField {
	var out []modelField
	var offset, prevOffset int64
	for _, f := range fields {
		if n := len(out); n > 0 && out[n-1].single && f.constFirst && out[n-1].dtype == f.dtype && prevOffset > pairOffsetMax {
			prev := out[n-1]
			pad := numbers(f.kind, "_", goType(f.dtype), 1, f.dtype, fmt.Sprintf("keeps %s and %s apart: Go cannot pair their loads on arm64 past 16 MiB", prev.name, f.name))
			pad.single, pad.constFirst = false, false
			pad.opens, pad.heading, f.opens, f.heading = f.opens, f.heading, false, ""
			if prev.kind != f.kind {
				pad.kind = gapKind
			}
			offset = alignUp(offset, pad.align) + pad.size
			out = append(out, pad)
		}
		offset = alignUp(offset, f.align)
		prevOffset = offset
		out = append(out, f)
		offset += f.size
	}
	return out
}

// padded reports whether a blank field lies among the fields of kind k.
func padded(fields []modelField, k fieldKind) bool {
	for _, f := range fields {
		if f.name == "_" && f.kind == k {
			return true
		}
	}
	return false
}

func alignUp(n, align int64) int64 { return (n + align - 1) / align * align }
