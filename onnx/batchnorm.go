package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// lowerBatchNormalization lowers BatchNormalization, what nn.BatchNorm1d
// and nn.BatchNorm2d export as: X [N, C, ...], and the constants scale, B,
// input_mean and input_var [C] (the layer's weight, bias, running_mean and
// running_var, under their initializers' names). It becomes batch_norm
// with the running statistics as buffers and scale and B as its weight
// and bias, as the .nn front end lowers batch_norm1d/2d: its mode is the
// model's (Train
// and Eval), whatever the export's training_mode, which says only how
// PyTorch was running when it exported. ONNX's momentum is PyTorch's
// 1 - momentum (an export of momentum=None writes 0: a plain average
// cannot be told from it). The export drops num_batches_tracked; the
// layer gets it back, named after input_mean's layer, starting at 0.
// Outputs 1 and 2 of training mode, the running statistics after the
// update, are the buffers themselves: nothing may read them. In training
// mode input_mean and input_var may be computed from X (what a layer
// without running statistics exports): batch_norm without buffers.
func lowerBatchNormalization(l *lowerer, n *node) ([]*tensor, error) {
	if err := arity(n, 5, 5); err != nil {
		return nil, err
	}
	if outs := n.GetOutput(); len(outs) > 1 && slices.ContainsFunc(outs[1:], func(o string) bool { return o != "" && (len(l.consumers[o]) > 0 || l.outputs[o]) }) {
		return nil, fmt.Errorf("its running mean or variance output is used; nngen updates the layer's buffers in place and computes the normalized output only")
	}
	x := n.in[0]
	d, err := exact(x, "X")
	if err != nil {
		return nil, err
	}
	if d != 0 || len(x.shape) < 2 {
		return nil, fmt.Errorf("X is %v; nngen normalizes [batch, channels, ...]", x.shape)
	}
	eps, err1 := floatAttr(n.NodeProto, "epsilon", 1e-5)
	momentum, err2 := floatAttr(n.NodeProto, "momentum", 0.9)
	if err1 != nil || err2 != nil || !(eps > 0) || math.IsInf(eps, 0) || math.IsNaN(momentum) || math.IsInf(momentum, 0) {
		return nil, fmt.Errorf("epsilon and momentum must be numbers, epsilon above 0")
	}
	if _, err := intAttr(n.NodeProto, "spatial", 1); err != nil || attr(n.NodeProto, "spatial") != nil && mustInt(n, "spatial") != 1 {
		return nil, fmt.Errorf("spatial 0 (opset 7's normalization per position) is not supported; PyTorch exports spatial 1")
	}
	c := x.shape[1]
	constant := func(i int, what string) ([]float64, string, error) {
		t := n.in[i]
		if t == nil || t.c == nil || !slices.Equal(t.shape, []int{c}) {
			return nil, "", fmt.Errorf("%s must be a constant of shape [%d]", what, c)
		}
		return t.c.data, t.c.name, nil
	}
	// In training mode the batch's statistics normalize: input_mean and
	// input_var only start the running statistics. A layer without them
	// (track_running_stats=False) exports them computed from X.
	training := mustInt(n, "training_mode") == 1 || l.opset < 14 && len(n.GetOutput()) > 1
	running := true
	if training && n.in[3] != nil && n.in[4] != nil && n.in[3].c == nil && n.in[4].c == nil {
		running = false
	}
	var names [4]string
	var data [4][]float64
	for i, what := range []string{"scale", "B", "input_mean", "input_var"} {
		if i >= 2 && !running {
			break
		}
		var err error
		if data[i], names[i], err = constant(i+1, what); err != nil {
			if i >= 2 {
				err = fmt.Errorf("%w, or in training mode both computed (a layer without running statistics)", err)
			}
			return nil, err
		}
	}
	// Scale and B initializers are the weight and bias; Constant nodes of
	// ones and zeros (what a layer with affine=False exports) compute
	// nothing.
	var weight, bias *ir.Value
	_, scaleInit := l.initializers[names[0]]
	_, biasInit := l.initializers[names[1]]
	if scaleInit || biasInit || slices.ContainsFunc(data[0], func(v float64) bool { return v != 1 }) || slices.ContainsFunc(data[1], func(v float64) bool { return v != 0 }) {
		var err error
		if weight, err = l.param(names[0], ir.Shape{c}, data[0]); err != nil {
			return nil, err
		}
		if bias, err = l.param(names[1], ir.Shape{c}, data[1]); err != nil {
			return nil, err
		}
	}
	// The layer's name, for the buffers' and the count's: input_mean's
	// (bn1.running_mean) or else the weight's (bn1.weight), as PyTorch
	// names them; an export with constant folding renames the statistics.
	layer, named := strings.CutSuffix(names[2], "running_mean")
	if !named && scaleInit && strings.HasSuffix(names[0], ".weight") {
		layer, named = strings.TrimSuffix(names[0], "weight"), true
		names[2], names[3] = layer+"running_mean", layer+"running_var"
	}
	if !named {
		layer = names[2] + "." // its count beside it
	}
	args := []*ir.Value{x.v}
	if running {
		mean, err := l.buffer(names[2], ir.Shape{c}, l.g.DType, data[2])
		if err != nil {
			return nil, err
		}
		variance, err := l.buffer(names[3], ir.Shape{c}, l.g.DType, data[3])
		if err != nil {
			return nil, err
		}
		count, err := l.buffer(layer+"num_batches_tracked", ir.Shape{}, ir.I64, []float64{0})
		if err != nil {
			return nil, err
		}
		args = append(args, mean, variance, count)
	}
	// PyTorch's momentum, as the shortest decimal of its float32 (0.1
	// rather than 1 - 0.9f's 0.09999999999999998).
	torchMomentum := shortest(float32(1 - momentum))
	if weight != nil {
		args = append(args, weight, bias)
	}
	y, err := l.add(ir.OpBatchNorm, ir.Attrs{Eps: eps, Momentum: torchMomentum}, args...)
	if err != nil {
		return nil, err
	}
	return result(x.shape, y), nil
}

// mustInt is an integer attribute already checked to be one.
func mustInt(n *node, name string) int64 {
	v, _ := intAttr(n.NodeProto, name, 0)
	return v
}

// buffer returns the buffer holding a constant (a layer's running
// statistics), creating it on first use, as param does for parameters.
func (l *lowerer) buffer(name string, shape ir.Shape, dtype ir.DType, data []float64) (*ir.Value, error) {
	if b, ok := l.params[name]; ok {
		if b.Op != ir.OpBuffer || !slices.Equal(b.Shape, shape) {
			return nil, fmt.Errorf("initializer %s is used again as another tensor; nngen gives each buffer one layer", quote(name))
		}
		return b, nil
	}
	if name == "" || printable(name) != name {
		return nil, fmt.Errorf("buffer name %s must be printable text", quote(name))
	}
	b := l.g.Leaf(ir.OpBuffer, name, shape, ir.Attrs{})
	b.DType, b.Pos = dtype, l.pos
	l.params[name] = b
	if dtype == ir.I64 {
		l.weights[name] = data
	} else {
		l.weights[name] = l.rounded(data)
	}
	return b, nil
}
