package ir

import (
	"fmt"
	"slices"
)

// Op names what a value computes.
type Op string

const (
	// Leaves.
	OpInput Op = "input" // data or loss target, passed to the generated method
	OpParam Op = "param" // trainable parameter, [out,in] or [out]
	OpState Op = "state" // optimizer state: a buffer shaped like a parameter, or the step count
	// A tensor of the state_dict that is not trained (PyTorch's
	// register_buffer: bn.running_mean): no gradient, no optimizer update;
	// Init zeros or ones sets its start value; forward ops may update it
	// in place. Its dtype is the graph's float type, or I64 (a counter such
	// as bn.num_batches_tracked).
	OpBuffer Op = "buffer"
	OpHyper  Op = "hyper" // settable scalar such as the learning rate
	OpConst  Op = "const" // scalar constant

	// A fully connected layer: the front end's linear of a [rows, features]
	// value, and what fusion makes of a matmul and bias add (see Fused).
	OpLinear Op = "linear" // x[B,in], w[out,in], optional b[out] -> act(x·wᵀ + b) [B,out]

	// Elementwise functions of one value: see the unary table.
	OpSigmoid     Op = "sigmoid"
	OpReLU        Op = "relu"
	OpTanh        Op = "tanh"
	OpLeakyReLU   Op = "leaky_relu"
	OpGELU        Op = "gelu"
	OpSiLU        Op = "silu"
	OpELU         Op = "elu"
	OpSoftplus    Op = "softplus"
	OpMish        Op = "mish"
	OpHardswish   Op = "hardswish"
	OpHardsigmoid Op = "hardsigmoid"
	OpSoftsign    Op = "softsign"
	OpExp         Op = "exp"
	OpLog         Op = "log"
	OpSqrt        Op = "sqrt"
	OpNeg         Op = "neg"
	OpAbs         Op = "abs"
	OpReciprocal  Op = "reciprocal"
	OpPow         Op = "pow"   // x^Exponent, a constant exponent
	OpClamp       Op = "clamp" // min(max(x, Min), Max)

	// The gradients of the unary ops the optimizer and fusion name; every
	// unary op U has one, Op(U+"_grad"): see GradOf.
	OpSigmoidGrad   Op = "sigmoid_grad"
	OpReLUGrad      Op = "relu_grad"
	OpTanhGrad      Op = "tanh_grad"
	OpLeakyReLUGrad Op = "leaky_relu_grad"
	OpGELUGrad      Op = "gelu_grad"

	// Elementwise functions of two values, broadcast as NumPy does.
	OpAdd Op = "add"
	OpSub Op = "sub"
	OpMul Op = "mul"
	OpDiv Op = "div"

	// Rows: over the last axis of each value.
	OpSoftmax        Op = "softmax"          // e^x / Σ e^x
	OpLogSoftmax     Op = "log_softmax"      // x - log Σ e^x
	OpSoftmaxGrad    Op = "softmax_grad"     // dy, y -> y·(dy - Σ dy·y)
	OpLogSoftmaxGrad Op = "log_softmax_grad" // dy, y -> dy - e^y·Σ dy

	// Normalization over the trailing Axes, as F.layer_norm: x̂ = (x -
	// mean) / sqrt(var + Eps), then, with the optional weight w and bias b
	// shaped like the normalized axes, x̂·w + b, in the same loop.
	OpLayerNorm           Op = "layer_norm"
	OpLayerNormGrad       Op = "layer_norm_grad"        // dy, x, y -> dx, without weight and bias
	OpLayerNormAffineGrad Op = "layer_norm_affine_grad" // dy, x, w -> dx, x̂ recomputed from x
	OpLayerNormWeightGrad Op = "layer_norm_weight_grad" // dy, x -> dw = Σ dy·x̂ over the leading axes

	// Batch normalization over the channels (axis 1) of x [B, C, *spatial]
	// in the model's mode, as BatchNorm1d and BatchNorm2d with their
	// weight and bias: see batchnorm.go.
	OpBatchNorm           Op = "batch_norm"
	OpBatchNormGrad       Op = "batch_norm_grad"        // dy, x[, running_mean, running_var][, weight] -> dx, in the model's mode
	OpBatchNormWeightGrad Op = "batch_norm_weight_grad" // dy, x[, running_mean, running_var] -> Σ dy·x̂ per channel
	// Dropout: y = x · dropout_mask(x), which the front ends write out,
	// so that the gradient is mul's (dy·mask) and the mask a value the
	// planner keeps for Backward. The mask is 0 with probability P and
	// 1/(1-P) otherwise in training mode, 1 in evaluation mode; it does not
	// depend on x's numbers (x gives its shape and its place in the
	// schedule) and passes no gradient to it.
	OpDropoutMask Op = "dropout_mask"
	// The causal mask of attention scores [..., L, S] (PyTorch's attn_mask
	// of a causal model, added before softmax): y = x where j ≤ i, -∞
	// above the diagonal. Its gradient passes dy where j ≤ i, 0 above.
	OpCausalMask     Op = "causal_mask"
	OpCausalMaskGrad Op = "causal_mask_grad"

	// A recurrent layer's step (ir.Recurrent), on each row of the leading
	// axes, the gates being blocks of the last axis:
	//   gru_cell(gi [, gh [, h]]): nn.GRU's new state from the gate
	//     pre-activations gi = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh
	//     ([..., 3H] each; gh also [3H], the bias alone, at a zero state;
	//     absent with it, without bias) and the state h ([..., H]; absent:
	//     zeros): r, z = σ(gi + gh) on the first two blocks, n = tanh(gi_n
	//     + r·gh_n), h' = n + z·(h - n).
	//   lstm_cell(s [, c]): nn.LSTM's new cell state from the summed
	//     pre-activations s = gi + gh [..., 4H] (gates i, f, g, o) and the
	//     cell state c (absent: zeros): c' = σ(f)·c + σ(i)·tanh(g).
	//   lstm_hidden(s, c'): the new hidden state σ(o)·tanh(c').
	// Their gradient ops take dy and the op's arguments, and give the
	// gradient of argument Wrt (recomputing the gates).
	OpGRUCell        Op = "gru_cell"
	OpGRUCellGrad    Op = "gru_cell_grad"
	OpLSTMCell       Op = "lstm_cell"
	OpLSTMCellGrad   Op = "lstm_cell_grad"
	OpLSTMHidden     Op = "lstm_hidden"
	OpLSTMHiddenGrad Op = "lstm_hidden_grad"

	// Reductions over Axes, keeping them as 1s when KeepDims.
	OpSum     Op = "sum"
	OpMean    Op = "mean"
	OpMax     Op = "max"      // the largest value, as torch.amax
	OpMaxGrad Op = "max_grad" // dy, x, y -> dy at the first place where x is the maximum y, 0 elsewhere

	// Movement: the same numbers in another arrangement.
	OpReshape   Op = "reshape"    // To, the same number of elements in row-major order
	OpPermute   Op = "permute"    // axis i of the result is axis Perm[i] of the argument
	OpExpand    Op = "expand"     // broadcast to To
	OpSumTo     Op = "sum_to"     // sum over the axes that expand would broadcast, back to To
	OpConcat    Op = "concat"     // the arguments one after another along Axis
	OpSlice     Op = "slice"      // elements Start to End-1 along Axis
	OpSliceGrad Op = "slice_grad" // dy placed at Start along Axis of a zero tensor shaped To

	// Convolutions over 1 or 2 spatial axes (see conv.go).
	OpConv           Op = "conv"             // x [B, in, *spatial], w [out, in/groups, *kernel], optional b [out]
	OpConvInputGrad  Op = "conv_input_grad"  // dy, w -> dx shaped To
	OpConvWeightGrad Op = "conv_weight_grad" // dy, x -> dw shaped To
	OpMaxPool        Op = "max_pool"         // the largest of each window (Kernel, Stride, Pad, Dilation)
	OpMaxPoolGrad    Op = "max_pool_grad"    // dy, x -> dy at each window's first largest x
	OpAvgPool        Op = "avg_pool"         // the mean of each window, the padding counted
	OpAvgPoolGrad    Op = "avg_pool_grad"    // dy -> dy spread evenly over each window, shaped To

	// Lookups: rows of a table picked by integer ids.
	OpEmbedding     Op = "embedding"      // weight [N,D], ids [...] -> [..., D]; a bag (Reduction) sums or averages over ids' last axis
	OpEmbeddingGrad Op = "embedding_grad" // dy, ids -> dweight shaped To: dy's rows added into the rows the ids pick

	// Products.
	OpMatMul  Op = "matmul"   // a·b over the last two axes, either transposed by attribute, batched over the others
	OpSumRows Op = "sum_rows" // a[B,n] -> [n], the sum over the batch

	// Losses, each a scalar from the output and the target.
	OpMSE              Op = "mse"             // (y-t)²
	OpL1               Op = "l1"              // |y-t|
	OpBCEWithLogits    Op = "bce_with_logits" // -[t·log σ(z) + (1-t)·log(1-σ(z))]
	OpCrossEntropy     Op = "cross_entropy"   // logits [B,C], class indices [B] -> -log softmax(z)[class]
	OpMSEGrad          Op = "mse_grad"        // y, t, dl -> dl·2(y-t)/N
	OpL1Grad           Op = "l1_grad"         // y, t, dl -> dl·sign(y-t)/N
	OpBCEGrad          Op = "bce_with_logits_grad"
	OpCrossEntropyGrad Op = "cross_entropy_grad" // z, class, dl -> dl·(softmax(z) - onehot)/B
	// Their options (Weight, IgnoreIndex, LabelSmoothing, Delta) are
	// PyTorch's; see codegen/losses.go for the formulas.
	OpNLL          Op = "nll_loss"       // log-probabilities [B,C], class indices [B] -> -logp[class]
	OpNLLGrad      Op = "nll_loss_grad"  // logp, class, dl -> -dl·weight[class]·onehot/Σweight
	OpSmoothL1     Op = "smooth_l1"      // 0.5·d²/β where |d| < β, else |d| - 0.5·β (d = y-t)
	OpSmoothL1Grad Op = "smooth_l1_grad" // y, t, dl -> dl·clamp(d/β, -1, 1)/N
	OpHuber        Op = "huber"          // 0.5·d² where |d| < δ, else δ·(|d| - 0.5·δ)
	OpHuberGrad    Op = "huber_grad"     // y, t, dl -> dl·clamp(d, -δ, δ)/N

	// Update: optimizer steps, in place on the parameter and its state.
	OpStepCount   Op = "step_count"   // step -> step+1, in place
	OpSGD         Op = "sgd"          // p, g, lr, weight_decay
	OpSGDMomentum Op = "sgd_momentum" // p, g, buf, step, lr, momentum, dampening, weight_decay; Nesterov
	OpAdam        Op = "adam"         // p, g, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay; Decoupled for AdamW
)

// OpDef is what the passes and back ends know about an op besides its
// code: its arguments and the shape of its result. An elementwise function
// of one value also has a Unary row, which says the rest.
type OpDef struct {
	MinArgs, MaxArgs int
	// Shape gives the result shape from the arguments, or an error for
	// arguments the op cannot take; nil for leaves, whose shape is declared.
	Shape func(v *Value) (Shape, error)
	// InPlace: the result is stored into the first argument's storage.
	InPlace bool
	// IntArg is the position of the one argument that holds integers
	// (class indices, the step count), or 0 for none; every other argument
	// has the graph's float type.
	IntArg int
	Unary  *Unary // elementwise functions of one value
	// GradOf is, for the gradient op of a unary function, that function.
	GradOf *Unary
	// Samples says whether the result has a row per sample where an
	// argument does (see Samples); nil where an argument cannot.
	Samples sampleRule
}

// defs holds every op's definition.
var defs = buildDefs()

func buildDefs() map[Op]OpDef {
	d := map[Op]OpDef{
		OpInput: {}, OpParam: {}, OpState: {}, OpBuffer: {}, OpHyper: {}, OpConst: {},
		OpLinear:              {MinArgs: 2, MaxArgs: 3, Shape: linearShape, Samples: linearSamples},
		OpAdd:                 {MinArgs: 2, MaxArgs: 2, Shape: broadcastShape, Samples: keepSamples},
		OpSub:                 {MinArgs: 2, MaxArgs: 2, Shape: broadcastShape, Samples: keepSamples},
		OpMul:                 {MinArgs: 2, MaxArgs: 2, Shape: broadcastShape, Samples: keepSamples},
		OpDiv:                 {MinArgs: 2, MaxArgs: 2, Shape: broadcastShape, Samples: keepSamples},
		OpSoftmax:             {MinArgs: 1, MaxArgs: 1, Shape: rowsShape, Samples: rowSamples},
		OpLogSoftmax:          {MinArgs: 1, MaxArgs: 1, Shape: rowsShape, Samples: rowSamples},
		OpSoftmaxGrad:         {MinArgs: 2, MaxArgs: 2, Shape: rowsShape, Samples: rowSamples},
		OpLogSoftmaxGrad:      {MinArgs: 2, MaxArgs: 2, Shape: rowsShape, Samples: rowSamples},
		OpLayerNorm:           {MinArgs: 1, MaxArgs: 3, Shape: layerNormShape, Samples: normSamples},
		OpLayerNormGrad:       {MinArgs: 3, MaxArgs: 3, Shape: layerNormShape, Samples: normSamples},
		OpLayerNormAffineGrad: {MinArgs: 3, MaxArgs: 3, Shape: layerNormShape, Samples: normSamples},
		OpLayerNormWeightGrad: {MinArgs: 2, MaxArgs: 2, Shape: layerNormShape, Samples: normWeightGradSamples},
		OpBatchNorm:           {MinArgs: 1, MaxArgs: 6, Shape: batchNormShape, IntArg: 3, Samples: batchNormSamples},
		OpBatchNormGrad:       {MinArgs: 2, MaxArgs: 5, Shape: batchNormGradShape, Samples: batchNormSamples},
		OpBatchNormWeightGrad: {MinArgs: 2, MaxArgs: 4, Shape: batchNormGradShape, Samples: batchNormSamples},
		OpDropoutMask:         {MinArgs: 1, MaxArgs: 1, Shape: dropoutShape, Samples: keepSamples},
		OpCausalMask:          {MinArgs: 1, MaxArgs: 1, Shape: causalShape, Samples: rowSamples},
		OpCausalMaskGrad:      {MinArgs: 1, MaxArgs: 1, Shape: causalShape, Samples: rowSamples},
		OpGRUCell:             {MinArgs: 1, MaxArgs: 3, Shape: cellShape, Samples: rowSamples},
		OpGRUCellGrad:         {MinArgs: 2, MaxArgs: 4, Shape: cellShape, Samples: rowSamples},
		OpLSTMCell:            {MinArgs: 1, MaxArgs: 2, Shape: cellShape, Samples: rowSamples},
		OpLSTMCellGrad:        {MinArgs: 2, MaxArgs: 3, Shape: cellShape, Samples: rowSamples},
		OpLSTMHidden:          {MinArgs: 2, MaxArgs: 2, Shape: cellShape, Samples: rowSamples},
		OpLSTMHiddenGrad:      {MinArgs: 3, MaxArgs: 3, Shape: cellShape, Samples: rowSamples},
		OpSum:                 {MinArgs: 1, MaxArgs: 1, Shape: reduceShape, Samples: reduceSamples},
		OpMean:                {MinArgs: 1, MaxArgs: 1, Shape: reduceShape, Samples: reduceSamples},
		OpMax:                 {MinArgs: 1, MaxArgs: 1, Shape: reduceShape, Samples: reduceSamples},
		OpMaxGrad:             {MinArgs: 3, MaxArgs: 3, Shape: maxGradShape, Samples: maxGradSamples},
		OpReshape:             {MinArgs: 1, MaxArgs: 1, Shape: reshapeShape, Samples: reshapeSamples},
		OpPermute:             {MinArgs: 1, MaxArgs: 1, Shape: permuteShape, Samples: permuteSamples},
		OpExpand:              {MinArgs: 1, MaxArgs: 1, Shape: expandShape, Samples: keepSamples},
		OpSumTo:               {MinArgs: 1, MaxArgs: 1, Shape: sumToShape, Samples: sumToSamples},
		OpConcat:              {MinArgs: 1, MaxArgs: 1 << 16, Shape: concatShape, Samples: axisSamples},
		OpSlice:               {MinArgs: 1, MaxArgs: 1, Shape: sliceShape, Samples: axisSamples},
		OpSliceGrad:           {MinArgs: 1, MaxArgs: 1, Shape: sliceGradShape, Samples: axisSamples},
		OpConv:                {MinArgs: 2, MaxArgs: 3, Shape: convShape, Samples: convSamples},
		OpConvInputGrad:       {MinArgs: 2, MaxArgs: 2, Shape: convInputGradShape, Samples: convInputGradSamples},
		OpConvWeightGrad:      {MinArgs: 2, MaxArgs: 2, Shape: convWeightGradShape, Samples: convWeightGradSamples},
		OpMaxPool:             {MinArgs: 1, MaxArgs: 1, Shape: poolShape, Samples: keepSamples},
		OpMaxPoolGrad:         {MinArgs: 2, MaxArgs: 2, Shape: maxPoolGradShape, Samples: keepSamples},
		OpAvgPool:             {MinArgs: 1, MaxArgs: 1, Shape: poolShape, Samples: keepSamples},
		OpAvgPoolGrad:         {MinArgs: 1, MaxArgs: 1, Shape: avgPoolGradShape, Samples: keepSamples},
		OpEmbedding:           {MinArgs: 2, MaxArgs: 2, Shape: embeddingShape, IntArg: 1, Samples: embeddingSamples},
		OpEmbeddingGrad:       {MinArgs: 2, MaxArgs: 2, Shape: embeddingGradShape, IntArg: 1, Samples: noSamples},
		OpMatMul:              {MinArgs: 2, MaxArgs: 2, Shape: matmulShape, Samples: matmulSamples},
		OpSumRows:             {MinArgs: 1, MaxArgs: 1, Shape: sumRowsShape, Samples: noSamples},
		OpMSE:                 {MinArgs: 2, MaxArgs: 2, Shape: lossShape, Samples: noSamples},
		OpL1:                  {MinArgs: 2, MaxArgs: 2, Shape: lossShape, Samples: noSamples},
		OpBCEWithLogits:       {MinArgs: 2, MaxArgs: 2, Shape: lossShape, Samples: noSamples},
		OpCrossEntropy:        {MinArgs: 2, MaxArgs: 2, Shape: lossShape, IntArg: 1, Samples: noSamples},
		OpMSEGrad:             {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, Samples: lossGradSamples},
		OpL1Grad:              {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, Samples: lossGradSamples},
		OpBCEGrad:             {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, Samples: lossGradSamples},
		OpCrossEntropyGrad:    {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, IntArg: 1, Samples: lossGradSamples},
		OpNLL:                 {MinArgs: 2, MaxArgs: 2, Shape: lossShape, IntArg: 1, Samples: noSamples},
		OpNLLGrad:             {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, IntArg: 1, Samples: lossGradSamples},
		OpSmoothL1:            {MinArgs: 2, MaxArgs: 2, Shape: lossShape, Samples: noSamples},
		OpSmoothL1Grad:        {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, Samples: lossGradSamples},
		OpHuber:               {MinArgs: 2, MaxArgs: 2, Shape: lossShape, Samples: noSamples},
		OpHuberGrad:           {MinArgs: 3, MaxArgs: 3, Shape: lossGradShape, Samples: lossGradSamples},
		OpStepCount:           {MinArgs: 1, MaxArgs: 1, Shape: stepCountShape, InPlace: true, Samples: updateSamples},
		OpSGD:                 {MinArgs: 4, MaxArgs: 4, Shape: updateShape(0), InPlace: true, Samples: updateSamples},
		OpSGDMomentum:         {MinArgs: 8, MaxArgs: 8, Shape: updateShape(1), InPlace: true, IntArg: 3, Samples: updateSamples},
		OpAdam:                {MinArgs: 10, MaxArgs: 10, Shape: updateShape(2), InPlace: true, IntArg: 4, Samples: updateSamples},
	}
	for i := range unaryOps {
		u := &unaryOps[i]
		d[u.Op] = OpDef{MinArgs: 1, MaxArgs: 1, Shape: u.shape, Unary: u, Samples: keepSamples}
		d[u.Grad()] = OpDef{MinArgs: 2, MaxArgs: 2, Shape: u.shape, GradOf: u, Samples: keepSamples}
	}
	return d
}

// Def returns op's definition.
func Def(op Op) (OpDef, bool) {
	d, ok := defs[op]
	return d, ok
}

// UnaryOf returns the unary row of op, or nil if op is not an elementwise
// function of one value.
func UnaryOf(op Op) *Unary { return defs[op].Unary }

// Activation describes an op that linear can absorb by fusion: every
// unary function, and softmax.
type Activation struct {
	Grad Op // computes the gradient from the upstream gradient and ...
	// FromInput: ... the activation's input; otherwise from its output.
	FromInput bool
	// RowWise: it needs a sample's whole row (softmax), not one element.
	RowWise bool
}

// ActivationOf returns how linear can absorb op, if it can.
func ActivationOf(op Op) (Activation, bool) {
	if op == OpSoftmax {
		return Activation{Grad: OpSoftmaxGrad, RowWise: true}, true
	}
	for i := range unaryOps {
		if u := &unaryOps[i]; u.Op == op {
			return Activation{Grad: u.Grad(), FromInput: u.FromInput}, true
		}
	}
	return Activation{}, false
}

// Activations lists every op linear can absorb, with how.
func Activations() map[Op]Activation {
	acts := map[Op]Activation{}
	for _, op := range append([]Op{OpSoftmax}, unaryOpNames()...) {
		acts[op], _ = ActivationOf(op)
	}
	return acts
}

func unaryOpNames() []Op {
	ops := make([]Op, len(unaryOps))
	for i, u := range unaryOps {
		ops[i] = u.Op
	}
	return ops
}

// Losses maps each loss to the op computing its gradient.
var Losses = map[Op]Op{
	OpMSE:           OpMSEGrad,
	OpL1:            OpL1Grad,
	OpBCEWithLogits: OpBCEGrad,
	OpCrossEntropy:  OpCrossEntropyGrad,
	OpNLL:           OpNLLGrad,
	OpSmoothL1:      OpSmoothL1Grad,
	OpHuber:         OpHuberGrad,
}

// LossAttrs are the attributes of a loss that its gradient op takes too:
// the reduction and the options.
func (a Attrs) LossAttrs() Attrs {
	return Attrs{Reduction: a.Reduction, Weight: a.Weight, IgnoreIndex: a.IgnoreIndex, Ignores: a.Ignores,
		LabelSmoothing: a.LabelSmoothing, Delta: a.Delta}
}

// ClassLoss reports whether the loss op (or its gradient) reads class
// indices: one per sample, against a row of scores per sample.
func ClassLoss(op Op) bool {
	return op == OpCrossEntropy || op == OpCrossEntropyGrad || op == OpNLL || op == OpNLLGrad
}

// IsLeaf reports whether op takes no arguments.
func IsLeaf(op Op) bool {
	d, ok := defs[op]
	return ok && d.Shape == nil
}

// InPlace reports whether op's result is stored into its first argument.
func InPlace(op Op) bool { return defs[op].InPlace }

// argDType is the dtype op wants for argument i in a graph of dtype d.
func argDType(op Op, i int, d DType) DType {
	if def := defs[op]; op == OpStepCount || def.IntArg != 0 && def.IntArg == i {
		if op == OpBatchNorm {
			return I64 // num_batches_tracked, an int64 buffer as in PyTorch's state_dict
		}
		return Int
	}
	return d
}

// InferShape computes v's shape from its op and arguments.
func InferShape(v *Value) (Shape, error) {
	d, ok := defs[v.Op]
	if !ok {
		return nil, fmt.Errorf("unknown op %q", v.Op)
	}
	if d.Shape == nil {
		return v.Shape, nil
	}
	if n := len(v.Args); n < d.MinArgs || n > d.MaxArgs {
		if d.MinArgs == d.MaxArgs {
			plural := "s"
			if d.MinArgs == 1 {
				plural = ""
			}
			return nil, fmt.Errorf("%s takes %d argument%s, got %d", v.Op, d.MinArgs, plural, n)
		}
		return nil, fmt.Errorf("%s takes %d to %d arguments, got %d", v.Op, d.MinArgs, d.MaxArgs, n)
	}
	return d.Shape(v)
}

func sameShape(v *Value) (Shape, error) {
	for _, a := range v.Args[1:] {
		if !slices.Equal(a.Shape, v.Args[0].Shape) {
			return nil, fmt.Errorf("%s: shapes %v and %v differ", v.Op, v.Args[0].Shape, a.Shape)
		}
	}
	return v.Args[0].Shape, nil
}

// shape is the shape rule of the function and of its gradient.
func (u *Unary) shape(v *Value) (Shape, error) {
	if u.Check != nil {
		if err := u.Check(v.Attrs); err != nil {
			return nil, fmt.Errorf("%s: %v", v.Op, err)
		}
	}
	return sameShape(v)
}
