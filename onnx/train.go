package onnx

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// An ONNX model holds the network alone; training needs a loss and an
// optimizer, which Options give in the words of a .nn file's loss and
// optimizer statements: "mse(reduction=sum)", "sgd(lr=0.1, momentum=0.9)".

// losses are the losses Options.Loss names, as in .nn files.
var losses = map[string]ir.Op{
	"mse":             ir.OpMSE,
	"l1":              ir.OpL1,
	"bce_with_logits": ir.OpBCEWithLogits,
	"cross_entropy":   ir.OpCrossEntropy,
}

// train adds the loss and the optimizer that the options ask for. The
// loss's target is a new input, "target": [batch, outputs] like the
// output, or for cross_entropy one class index per sample.
func (l *lowerer) train() {
	if l.opts.Loss == "" {
		if l.opts.Optimizer != "" {
			l.errorf("optimizer %s without a loss to minimize; give a loss too", quote(l.opts.Optimizer))
		}
		return
	}
	op, reduction, ok := l.loss()
	if !ok {
		return
	}
	if len(l.g.Outputs) != 1 {
		l.errorf("the model has %d outputs; a loss option trains a model of one output (write the network in a .nn file to train several)", len(l.g.Outputs))
		return
	}
	y := l.g.Outputs[0]
	shape := slices.Clone(y.Shape)
	if op == ir.OpCrossEntropy {
		shape = shape[:1]
	}
	t := l.g.Leaf(ir.OpInput, "target", shape, ir.Attrs{})
	t.Pos, t.Phase = l.pos, ir.Loss
	if op == ir.OpCrossEntropy {
		t.DType = ir.Int
	}
	v, err := l.g.Add(op, ir.Attrs{Reduction: reduction}, y, t)
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

// loss reads Options.Loss: a loss's name, with reduction=mean or sum.
func (l *lowerer) loss() (ir.Op, string, bool) {
	name, args, err := parseCall(l.opts.Loss)
	if err != nil {
		l.errorf("loss %s: %v", quote(l.opts.Loss), err)
		return "", "", false
	}
	op, ok := losses[name]
	if !ok {
		l.errorf("loss %s: unknown loss %s (known: %s)", quote(l.opts.Loss), quote(name), strings.Join(slices.Sorted(maps.Keys(losses)), ", "))
		return "", "", false
	}
	reduction := "mean"
	for _, a := range args {
		switch {
		case a.key != "reduction":
			l.errorf("loss %s: %s has no setting %s (it takes: reduction)", quote(l.opts.Loss), name, quote(a.key))
			ok = false
		case a.word != "mean" && a.word != "sum":
			l.errorf("loss %s: reduction must be mean or sum", quote(l.opts.Loss))
			ok = false
		default:
			reduction = a.word
		}
	}
	return op, reduction, ok
}

// optimizer reads Options.Optimizer and checks it with ir.NewOptimizer,
// which knows each optimizer's settings, defaults and ranges.
func (l *lowerer) optimizer() {
	text := l.opts.Optimizer
	kind, args, err := parseCall(text)
	if err != nil {
		l.errorf("optimizer %s: %v", quote(text), err)
		return
	}
	spec := ir.OptimizerSettings[kind]
	given := map[string][]float64{}
	ok := true
	for _, a := range args {
		if _, dup := given[a.key]; dup {
			l.errorf("optimizer %s: %s is given twice", quote(text), a.key)
			ok = false
			continue
		}
		i := slices.IndexFunc(spec, func(s ir.Setting) bool { return s.Name == a.key })
		switch {
		case i >= 0 && spec[i].Kind == ir.Bool:
			switch a.word {
			case "true", "True":
				given[a.key] = []float64{1}
			case "false", "False":
				given[a.key] = []float64{0}
			default:
				l.errorf("optimizer %s: %s must be true or false", quote(text), a.key)
				ok = false
			}
			continue
		case a.word != "":
			l.errorf("optimizer %s: %s must be a number, not %s", quote(text), a.key, quote(a.word))
			ok = false
			continue
		}
		given[a.key] = a.values
	}
	if !ok {
		return
	}
	opt, errs := ir.NewOptimizer(kind, given, l.pos)
	errs = append(errs, opt.CheckFor(l.g.DType)...)
	for _, err := range errs {
		l.errorf("optimizer %s: %v", quote(text), err)
	}
	l.g.Optimizer = opt
}

// argument is one key=value of a loss or an optimizer: a word (mean,
// true), a number, or a pair of numbers written (0.9, 0.999).
type argument struct {
	key    string
	word   string
	values []float64
}

// parseCall reads "name" or "name(key=value, ...)".
func parseCall(text string) (string, []argument, error) {
	text = strings.TrimSpace(text)
	name, rest, hasArgs := strings.Cut(text, "(")
	name = strings.TrimSpace(name)
	if !isWord(name) {
		return "", nil, fmt.Errorf("want a name, as in sgd(lr=0.1)")
	}
	if !hasArgs {
		return name, nil, nil
	}
	inner, ok := strings.CutSuffix(rest, ")")
	if !ok {
		return "", nil, fmt.Errorf("missing ) at the end")
	}
	var args []argument
	for _, part := range splitTopLevel(inner) {
		key, value, ok := strings.Cut(part, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || !isWord(key) || value == "" {
			return "", nil, fmt.Errorf("%s is not key=value", quote(strings.TrimSpace(part)))
		}
		a := argument{key: key}
		switch {
		case strings.HasPrefix(value, "(") && strings.HasSuffix(value, ")"):
			items := strings.Split(value[1:len(value)-1], ",")
			for _, item := range items {
				f, err := strconv.ParseFloat(strings.TrimSpace(item), 64)
				if err != nil {
					return "", nil, fmt.Errorf("%s: %s is not a pair of numbers", key, quote(value))
				}
				a.values = append(a.values, f)
			}
		case isWord(value) && value != "inf" && value != "nan":
			a.word = value
		case len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] && isWord(value[1:len(value)-1]):
			a.word = value[1 : len(value)-1] // quoted, as in Python: reduction="sum"
		default:
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %s is not a number", key, quote(value))
			}
			a.values = []float64{f}
		}
		args = append(args, a)
	}
	return name, args, nil
}

// splitTopLevel splits at the commas outside parentheses; an empty text
// has no parts.
func splitTopLevel(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func isWord(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}
