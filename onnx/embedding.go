package onnx

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// embedding lowers a Gather along axis 0 of a 2-D initializer by ids
// that the model takes as input: nn.Embedding's export. The initializer
// becomes the parameter, named as the state_dict names it (emb.weight).
// ONNX's Gather has no padding_idx, so every row the ids pick takes
// gradient; an exported nn.Embedding(..., padding_idx=P) trains its
// padding row, where PyTorch would not.
func (l *lowerer) embedding(n *node, data, idx *tensor) ([]*tensor, error) {
	axis, err := intAttr(n.NodeProto, "axis", 0)
	if err != nil {
		return nil, err
	}
	if axis != 0 || len(data.shape) != 2 || idx.v.DType != ir.Int {
		return nil, fmt.Errorf("gathers %v along axis %d by %s indices: nngen takes a Gather from a [rows, features] initializer along axis 0 by the model's INT64 ids (an Embedding)",
			data.shape, axis, idx.v.DType)
	}
	w, err := l.param(data.c.name, ir.Shape(slices.Clone(data.shape)), data.c.data)
	if err != nil {
		return nil, err
	}
	y, err := l.add(ir.OpEmbedding, ir.Attrs{}, w, idx.v)
	if err != nil {
		return nil, err
	}
	return []*tensor{{shape: append(slices.Clone(idx.shape), data.shape[1]), v: y}}, nil
}
