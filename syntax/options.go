package syntax

import (
	"errors"
	"maps"
	"slices"

	"github.com/nngen/nngen/ir"
)

// LossOption and OptimizerOption read a loss and an optimizer as a .nn
// file's statements write them, without the loss's operands: what a front
// end whose model does not state them takes as options (the ONNX one's
// -loss "mse(reduction=sum)" and -optimizer "sgd(lr=0.1, momentum=0.9)").
// They parse and check exactly as the statements do; each error is one
// problem, without a position.

// LossOption returns the loss op and its attributes: the reduction and the
// options (cross_entropy's weight, ignore_index, label_smoothing, ...).
func LossOption(text string) (ir.Op, ir.Attrs, error) {
	l, c, err := optionCall(text, "a loss function", ir.F64)
	if err != nil {
		return "", ir.Attrs{}, err
	}
	op, ok := losses[c.fn.text]
	if !ok {
		l.unknown("loss", c.fn, slices.Sorted(maps.Keys(losses)))
		return "", ir.Attrs{}, l.err()
	}
	_, positionalOK := l.positional(c, 0, 0, c.fn.text+"(reduction=sum)")
	keywords, keywordsOK := l.keywords(c, lossKeywords(op)...)
	var attrs ir.Attrs
	if keywordsOK {
		attrs, _ = l.lossAttrs(op, keywords)
	}
	if !positionalOK {
		return "", ir.Attrs{}, l.err()
	}
	if op == ir.OpSmoothL1 && attrs.Delta == 0 && l.err() == nil {
		op = ir.OpL1 // beta=0: PyTorch's smooth_l1_loss is l1_loss
	}
	return op, attrs, l.err()
}

// OptimizerOption returns the optimizer, checked for the model's dtype.
func OptimizerOption(text string, dtype ir.DType, pos ir.Pos) (*ir.Optimizer, error) {
	l, c, err := optionCall(text, "an optimizer", dtype)
	if err != nil {
		return nil, err
	}
	l.optimizer(optimizerStmt{keyword: token{text: "optimizer", pos: pos}, call: c})
	if err := l.err(); err != nil {
		return nil, err
	}
	l.g.Optimizer.Pos = pos
	return l.g.Optimizer, nil
}

// optionCall parses an option as a call, "name" alone standing for
// "name()", and returns a lowerer to check it with.
func optionCall(text, what string, dtype ir.DType) (*lowerer, call, error) {
	l := &lowerer{errs: &ErrorList{}, g: ir.New("", dtype, 1, true), names: map[string]binding{},
		definedAt: map[string]ir.Pos{}, firstStmt: map[string]ir.Pos{}, suggestBudget: 1 << 16}
	toks, scanErr := scanLine("", 1, []byte(text))
	if scanErr != nil {
		return nil, call{}, errors.New(scanErr.Msg)
	}
	if len(toks) == 2 && toks[0].kind == identifier {
		toks = []token{toks[0], {kind: punctuation, text: "("}, {kind: punctuation, text: ")"}, toks[1]}
	}
	p := &parser{toks: toks}
	c := p.call(what)
	if t := p.peek(); p.err == nil && t.kind != endOfLine {
		p.fail(t, "unexpected %s after the call", t)
	}
	if p.err != nil {
		return nil, call{}, errors.New(p.err.Msg)
	}
	return l, c, nil
}

// err is the lowerer's errors, each a line without its position.
func (l *lowerer) err() error {
	var errs []error
	for _, e := range *l.errs {
		errs = append(errs, errors.New(e.Msg))
	}
	return errors.Join(errs...)
}
