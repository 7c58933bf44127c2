package onnx

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// declareInput finds the model's one input (a graph input without an
// initializer; one with an initializer is a parameter with a default, as
// older exports list them) and creates the graph from it.
func (l *lowerer) declareInput() bool {
	var inputs []*onnxpb.ValueInfoProto
	var labels *onnxpb.ValueInfoProto // the loss's, declared after the network's inputs
	for _, in := range l.graph.GetInput() {
		if _, ok := l.initializers[in.GetName()]; ok {
			continue
		}
		if name := l.labelsInput(); name != "" && in.GetName() == name {
			labels = in
			continue
		}
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		l.errorf("the model has no input; nngen generates code for a network that computes from its inputs")
		return false
	}
	for i, in := range inputs {
		if !l.declareOne(in, i == 0) {
			return false
		}
	}
	return labels == nil || l.declareLabels(labels)
}

// declareOne declares one of the model's inputs; the first decides the
// graph's element type and batch, which the others must share.
func (l *lowerer) declareOne(in *onnxpb.ValueInfoProto, first bool) bool {
	name := in.GetName()
	tt := in.GetType().GetTensorType()
	if tt == nil {
		l.errorf("input %s is not a tensor", quote(name))
		return false
	}
	var dtype ir.DType
	ids := false
	switch onnxpb.TensorProto_DataType(tt.GetElemType()) {
	case onnxpb.TensorProto_FLOAT:
		dtype = ir.F32
	case onnxpb.TensorProto_DOUBLE:
		dtype = ir.F64
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
		// Token ids, which only an embedding's Gather reads; the network
		// computes in its initializers' float type.
		dtype, ids = l.floatType(), true
	default:
		l.errorf("input %s has element type %s; nngen builds float32 (FLOAT) and float64 (DOUBLE) networks, with INT64 ids for a Gather from an initializer",
			quote(name), onnxpb.TensorProto_DataType(tt.GetElemType()))
		return false
	}
	shape, ok := l.inputShape(name, tt.GetShape())
	if !ok {
		return false
	}
	t := &tensor{shape: shape}
	irShape := l.view(shape)
	users := l.consumers[name]
	if axis, ok := l.flattenedBy(users, len(shape)); ok && !l.outputs[name] {
		irShape = ir.Shape{l.rows * product(shape[:axis]), product(shape[axis:])}
	} else if len(shape) == 2 && l.transposedBy(users, name) && !l.outputs[name] {
		irShape, t.transposed = ir.Shape{shape[1], shape[0]}, true
	} else if len(shape) > 2 && l.rows == 1 {
		irShape = ir.Shape(slices.Clone(shape)) // [batch, ...] as it is
	}
	unbatched := len(shape) == 1 && l.rows == 1
	if first {
		l.g = ir.New(networkName(l.pos.File), dtype, irShape[0], unbatched)
		if unbatched && irShape[0] != 1 {
			l.g.Unbatched = false // an input [N] read through Flatten(axis=1): N rows
		}
	} else if dtype != l.g.DType || irShape[0] != l.g.Batch || unbatched != l.g.Unbatched {
		l.errorf("input %s is %s %v, but the model's first input is %s with a batch of %d; nngen takes inputs of one element type and batch",
			quote(name), dtype, shape, l.g.DType, l.g.Batch)
		return false
	}
	if slices.Max(irShape) > maxDim || irShape.Size() > maxElements {
		l.errorf("input %s: %v would be %v, more than nngen's limits (%d per dimension, %d elements)", quote(name), shape, irShape, maxDim, maxElements)
		return false
	}
	t.v = l.g.Leaf(ir.OpInput, printable(name), irShape, ir.Attrs{})
	t.v.Pos = l.pos
	if ids {
		t.v.DType = ir.Int
	}
	l.values[name] = t
	return true
}

// inputShape reads the input's shape, putting Options.Batch in place of
// the first dimension (or in front of a one-dimensional input).
func (l *lowerer) inputShape(name string, s *onnxpb.TensorShapeProto) ([]int, bool) {
	if s == nil || len(s.GetDim()) == 0 {
		l.errorf("input %s has no shape; export the model with an example input of the shape it takes", quote(name))
		return nil, false
	}
	var shape []int
	for i, d := range s.GetDim() {
		v := d.GetDimValue()
		switch {
		case i == 0 && len(s.GetDim()) > 1 && l.opts.Batch > 0:
			v = int64(l.opts.Batch)
		case v <= 0 && i == 0 && len(s.GetDim()) > 1:
			l.errorf("input %s has no fixed batch size (its first dimension is %s); give one (-batch N)", quote(name), dimString(d))
			return nil, false
		case v <= 0:
			l.errorf("input %s: dimension %d is %s; nngen needs every dimension but the first fixed", quote(name), i, dimString(d))
			return nil, false
		}
		if v > maxDim {
			l.errorf("input %s: dimension %d is %d; nngen takes at most %d", quote(name), i, v, maxDim)
			return nil, false
		}
		shape = append(shape, int(v))
	}
	if len(shape) == 1 && l.opts.Batch > 0 {
		l.rows = l.opts.Batch
	}
	return shape, true
}

func dimString(d *onnxpb.TensorShapeProto_Dimension) string {
	if p := d.GetDimParam(); p != "" {
		return quote(p)
	}
	if _, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
		return fmt.Sprint(d.GetDimValue())
	}
	return "unknown"
}

// view is the IR shape of a computed tensor of the given ONNX shape: every
// dimension but the last counts samples, so elementwise ops, a MatMul's
// last axis and Softmax's last axis all work along the IR's rows.
func (l *lowerer) view(shape []int) ir.Shape {
	if len(shape) == 0 {
		return ir.Shape{l.rows, 1}
	}
	return ir.Shape{l.rows * product(shape[:len(shape)-1]), shape[len(shape)-1]}
}

func product(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// flattenedBy reports whether every user of the input is a Flatten with the
// same axis, and which (normalized).
func (l *lowerer) flattenedBy(users []*onnxpb.NodeProto, rank int) (int, bool) {
	axis := -1
	for _, u := range users {
		if !standard(u) || u.GetOpType() != "Flatten" {
			return 0, false
		}
		a, err := intAttr(u, "axis", 1)
		if err != nil || a < int64(-rank) || a > int64(rank) {
			return 0, false
		}
		if a < 0 {
			a += int64(rank)
		}
		if axis >= 0 && int(a) != axis {
			return 0, false
		}
		axis = int(a)
	}
	return axis, axis >= 0
}

// transposedBy reports whether every user of the input reads it as Gemm's
// A with transA=1.
func (l *lowerer) transposedBy(users []*onnxpb.NodeProto, name string) bool {
	for _, u := range users {
		transA, err := intAttr(u, "transA", 0)
		if !standard(u) || u.GetOpType() != "Gemm" || err != nil || transA == 0 || slices.Index(u.GetInput(), name) != 0 || slices.Contains(u.GetInput()[1:], name) {
			return false
		}
	}
	return len(users) > 0
}

// floatType is the float type of the model's initializers (the first
// FLOAT or DOUBLE one), for a model whose input holds ids; float32 if none
// says.
func (l *lowerer) floatType() ir.DType {
	for _, t := range l.graph.GetInitializer() {
		switch onnxpb.TensorProto_DataType(t.GetDataType()) {
		case onnxpb.TensorProto_FLOAT:
			return ir.F32
		case onnxpb.TensorProto_DOUBLE:
			return ir.F64
		}
	}
	return ir.F32
}
