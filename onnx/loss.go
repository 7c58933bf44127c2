package onnx

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// A model exported with its loss inside (torch.onnx.export of a module
// whose forward returns F.cross_entropy(logits, labels, ...)) computes the
// loss as its output: SoftmaxCrossEntropyLoss of the logits (also for
// nll_loss after log_softmax, which the exporter folds into it), or
// NegativeLogLikelihoodLoss of log-probabilities, against integer labels
// that are a graph input, with constant class weights. nngen lowers such a
// node to the loss of its graph: the labels become the loss's target (a
// class index per sample, the generated Backward's argument), the scores
// the network's output, and Options.Loss must be empty.

// lossOps are the ONNX loss ops nngen reads, and the IR op of each.
var lossOps = map[string]ir.Op{
	"SoftmaxCrossEntropyLoss":   ir.OpCrossEntropy,
	"NegativeLogLikelihoodLoss": ir.OpNLL,
}

// lossNode is the model's loss node: a loss op whose first output is a
// graph output; nil if there is none.
func (l *lowerer) lossNode() *onnxpb.NodeProto {
	for _, n := range l.graph.GetNode() {
		if _, ok := lossOps[n.GetOpType()]; ok && standard(n) && len(n.GetOutput()) > 0 && l.outputs[n.GetOutput()[0]] {
			return n
		}
	}
	return nil
}

// labelsInput is the graph input holding the loss node's labels, or "".
func (l *lowerer) labelsInput() string {
	n := l.lossNode()
	if n == nil || len(n.GetInput()) < 2 {
		return ""
	}
	return n.GetInput()[1]
}

// declareLabels declares the labels input as the loss's target: integers,
// one per sample, [batch].
func (l *lowerer) declareLabels(in *onnxpb.ValueInfoProto) bool {
	name := in.GetName()
	tt := in.GetType().GetTensorType()
	switch onnxpb.TensorProto_DataType(tt.GetElemType()) {
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32:
	default:
		l.errorf("input %s holds the loss's labels, but has element type %s; class indices are INT64 or INT32", quote(name), onnxpb.TensorProto_DataType(tt.GetElemType()))
		return false
	}
	if s := tt.GetShape(); s == nil || len(s.GetDim()) != 1 {
		l.errorf("input %s holds the loss's labels: want one class index per sample, [batch], got a shape of rank %d", quote(name), len(tt.GetShape().GetDim()))
		return false
	} else if d := s.GetDim()[0].GetDimValue(); d > 0 && l.opts.Batch == 0 && int(d) != l.g.Batch {
		l.errorf("input %s holds %d labels for a batch of %d", quote(name), d, l.g.Batch)
		return false
	}
	if users := l.consumers[name]; len(users) != 1 {
		l.errorf("input %s holds the loss's labels, which nngen reads in the loss only, but %d nodes read it", quote(name), len(users))
		return false
	}
	// Its IR input is made when the loss is lowered, beside it.
	l.values[name] = &tensor{shape: []int{l.g.Batch}, labels: name}
	return true
}

// lowerLoss lowers SoftmaxCrossEntropyLoss(scores, labels, weights) and
// NegativeLogLikelihoodLoss(input, target, weight) with their reduction
// (mean or sum) and ignore_index, for [batch, classes] scores. Only the
// model's loss node, the one whose output the model returns, is lowered.
func lowerLoss(l *lowerer, n *node) ([]*tensor, error) {
	if n.NodeProto != l.lossNode() {
		return nil, fmt.Errorf("nngen reads a loss only as the model's output, which it trains to minimize")
	}
	if err := arity(n, 2, 3); err != nil {
		return nil, err
	}
	if len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" {
		return nil, fmt.Errorf("its second output (the log-probabilities) is not one nngen computes; export the loss alone")
	}
	scores, labels := n.in[0], n.in[1]
	if scores == nil || labels == nil {
		return nil, fmt.Errorf("want the scores and the labels, got an empty input name")
	}
	if labels.labels != "" && labels.v == nil {
		labels.v = l.g.Leaf(ir.OpInput, printable(labels.labels), ir.Shape{l.g.Batch}, ir.Attrs{})
		labels.v.DType, labels.v.Pos, labels.v.Phase = ir.Int, l.pos, ir.Loss
	}
	if scores.v == nil || len(scores.shape) != 2 || labels.v == nil || labels.v.DType != ir.Int {
		return nil, fmt.Errorf("want computed scores [batch, classes] and the labels input, got %v and %v", scores.shape, labels.shape)
	}
	op := lossOps[n.GetOpType()]
	attrs := ir.Attrs{}
	reduction, err := stringAttr(n.NodeProto, "reduction", "mean")
	if err != nil {
		return nil, err
	}
	var known bool
	if attrs.Reduction, known = ir.ParseReduce(reduction); !known {
		return nil, fmt.Errorf("reduction %s: nngen trains on one number, the mean or the sum", quote(reduction))
	}
	if a := attr(n.NodeProto, "ignore_index"); a != nil {
		ignore, err := intAttr(n.NodeProto, "ignore_index", 0)
		if err != nil {
			return nil, err
		}
		attrs.Ignores, attrs.IgnoreIndex = true, int(ignore)
	}
	if len(n.in) == 3 && n.in[2] != nil {
		w := n.in[2]
		if w.c == nil || len(w.shape) != 1 {
			return nil, fmt.Errorf("the class weights must be a constant vector, got %v", w.shape)
		}
		for _, x := range w.c.data {
			attrs.Weight = append(attrs.Weight, shortest(float32(x))) // as written: 0.1, not float32(0.1)
		}
	}
	v, err := l.g.Add(op, attrs, scores.v, labels.v)
	if err != nil {
		return nil, err
	}
	v.Name, v.Pos, v.Phase = "loss", l.pos, ir.Loss
	l.g.Loss = v
	return []*tensor{{shape: []int{}, v: v}}, nil
}

// lossOutputs leaves the loss out of the network's outputs: the network
// returns the other outputs, or, when the loss was the only one, the
// scores it is computed from.
func (l *lowerer) lossOutputs() {
	loss := l.g.Loss
	if loss == nil {
		return
	}
	l.g.Outputs = slices.DeleteFunc(l.g.Outputs, func(v *ir.Value) bool { return v == loss })
	if len(l.g.Outputs) == 0 {
		l.g.Outputs = []*ir.Value{loss.Args[0]}
	}
}
