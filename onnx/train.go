package onnx

import (
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/syntax"
)

// An ONNX model holds the network alone; training needs a loss and an
// optimizer, which Options give in the words of a .nn file's loss and
// optimizer statements: "mse(reduction=sum)", "sgd(lr=0.1, momentum=0.9)".

// train adds the loss and the optimizer that the options ask for. The
// loss's target is a new input, "target": [batch, outputs] like the
// output, or for cross_entropy and nll_loss one class index per sample.
func (l *lowerer) train() {
	if l.g.Loss != nil { // the model's own, from its loss node
		if l.opts.Loss != "" {
			l.errorf("the model computes its loss (%s); give no loss option, or export the network without its loss", l.g.Loss.Op)
		} else if l.opts.Optimizer != "" {
			l.optimizer()
		}
		return
	}
	if l.opts.Loss == "" {
		if l.opts.Optimizer != "" {
			l.errorf("optimizer %s without a loss to minimize; give a loss too", quote(l.opts.Optimizer))
		}
		return
	}
	op, attrs, ok := l.loss()
	if !ok {
		return
	}
	y := l.lossOutput()
	if y == nil {
		return
	}
	shape := slices.Clone(y.Shape)
	if ir.ClassLoss(op) {
		shape = shape[:max(len(shape)-1, 1)] // a class index per row of the logits
	}
	t := l.g.Leaf(ir.OpInput, "target", shape, ir.Attrs{})
	t.Pos, t.Phase = l.pos, ir.Loss
	if ir.ClassLoss(op) {
		t.DType = ir.Int
	}
	v, err := l.g.Add(op, attrs, y, t)
	if err != nil {
		l.errorf("loss %s: %v", quote(l.opts.Loss), err)
		return
	}
	v.Name, v.Pos, v.Phase = "loss", l.pos, ir.Loss
	l.g.Loss = v
	if l.opts.Optimizer != "" {
		l.optimizer()
	}
}

// lossOutput is the output the loss takes: the model's only one, or the
// one Options.LossOutput names.
func (l *lowerer) lossOutput() *ir.Value {
	outs := l.g.Outputs
	var names []string
	for i, o := range outs {
		names = append(names, quote(l.outputNames[i])+" "+o.Shape.String())
	}
	if l.opts.LossOutput == "" {
		if len(outs) != 1 {
			l.errorf("the model has %d outputs (%s): name the one the loss takes with the loss output option (nngen build -loss-output %s)", len(outs), strings.Join(names, ", "), l.outputNames[0])
			return nil
		}
		return outs[0]
	}
	for i, o := range outs {
		if l.outputNames[i] == l.opts.LossOutput {
			return o
		}
	}
	l.errorf("loss output %s: the model has no output of that name; its outputs are %s", quote(l.opts.LossOutput), strings.Join(names, ", "))
	return nil
}

// loss reads Options.Loss as a .nn loss statement writes the loss, without
// its operands ("mse(reduction=sum)"): package syntax parses and checks it.
func (l *lowerer) loss() (ir.Op, ir.Attrs, bool) {
	op, attrs, err := syntax.LossOption(l.opts.Loss)
	l.optionErrors("loss", l.opts.Loss, err)
	return op, attrs, err == nil
}

// optimizer reads Options.Optimizer as a .nn optimizer statement writes
// it ("sgd(lr=0.1, momentum=0.9)"): package syntax parses and checks it.
func (l *lowerer) optimizer() {
	opt, err := syntax.OptimizerOption(l.opts.Optimizer, l.g.DType, l.pos)
	l.optionErrors("optimizer", l.opts.Optimizer, err)
	if err == nil {
		l.g.Optimizer = opt
	}
}

// optionErrors reports each problem of an option on a line of its own.
func (l *lowerer) optionErrors(what, text string, err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		l.errorf("%s %s: %v", what, quote(text), e)
	}
}
