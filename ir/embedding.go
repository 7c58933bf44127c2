package ir

import (
	"fmt"
	"slices"
)

// embeddingShape: weight [N, D] and integer ids [...] give [..., D], as
// nn.Embedding; a bag (Reduction mean or sum, as nn.EmbeddingBag with a
// 2-D input) reduces over ids' last axis, the bag: [B, L] gives [B, D].
func embeddingShape(v *Value) (Shape, error) {
	w, ids := v.Args[0], v.Args[1]
	if err := checkEmbedding(v, w.Shape, ids); err != nil {
		return nil, err
	}
	lead := ids.Shape
	if v.Reduction != 0 {
		lead = ids.Shape[:len(ids.Shape)-1]
	}
	return append(slices.Clone(lead), w.Shape[1]), nil
}

// embeddingGradShape: dy shaped like embedding's result, the same ids,
// and the weight's shape To.
func embeddingGradShape(v *Value) (Shape, error) {
	dy, ids := v.Args[0], v.Args[1]
	if err := checkEmbedding(v, v.To, ids); err != nil {
		return nil, err
	}
	want, _ := embeddingShape(&Value{Args: []*Value{{Shape: v.To}, ids}, Attrs: v.Attrs})
	if !slices.Equal(dy.Shape, want) {
		return nil, fmt.Errorf("embedding_grad: the gradient is %v, want %v for ids %v", dy.Shape, want, ids.Shape)
	}
	return slices.Clone(v.To), nil
}

func checkEmbedding(v *Value, table Shape, ids *Value) error {
	switch {
	case len(table) != 2:
		return fmt.Errorf("%s: want a table [rows, features], got %v", v.Op, table)
	case ids.DType != Int:
		return fmt.Errorf("%s: the ids must be integers, got %s", v.Op, ids.DType)
	case len(ids.Shape) == 0:
		return fmt.Errorf("%s: want ids of rank 1 or more, got a scalar", v.Op)
	case v.Reduction != 0 && v.Reduction != ReduceMean && v.Reduction != ReduceSum:
		return fmt.Errorf("%s: a bag's mode must be mean or sum, got %s", v.Op, v.Reduction)
	case v.Reduction != 0 && len(ids.Shape) < 2:
		return fmt.Errorf("%s: a bag wants ids [..., bag], got %v", v.Op, ids.Shape)
	case v.Padded && (v.PaddingIdx < 0 || v.PaddingIdx >= table[0]):
		return fmt.Errorf("%s: padding_idx %d outside the %d rows", v.Op, v.PaddingIdx, table[0])
	}
	return nil
}

// embeddingSamples: the rows of the samples' ids, from a table that has
// no row per sample.
func embeddingSamples(v *Value, in []bool) (bool, error) {
	if in[0] {
		return false, fmt.Errorf("with a table that has a row per sample")
	}
	return true, nil
}
