package syntax

import (
	"fmt"

	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
)

// layerOps are the ops a "NAME = op(...)" statement can call. An activation
// without settings is one line here. It is filled in by init, as the rules
// themselves look ops up in it (nested calls).
var layerOps map[string]layerRule

func init() {
	layerOps = map[string]layerRule{
		"linear":     lowerLinear,
		"sigmoid":    activation(ir.OpSigmoid),
		"relu":       activation(ir.OpReLU),
		"tanh":       activation(ir.OpTanh),
		"leaky_relu": lowerLeakyReLU,
		"gelu":       lowerGELU,
		"softmax":    lowerSoftmax,
		"identity":   lowerIdentity,
		"layer_norm": lowerLayerNorm,
		"dropout":    lowerDropout,

		"multihead_attention":       lowerMultiheadAttention,
		"transformer_encoder_layer": lowerEncoderLayer,
		"conv1d":                    lowerConv(1),
		"conv2d":                    lowerConv(2),

		"embedding":     lowerEmbedding(false),
		"embedding_bag": lowerEmbedding(true),

		"max_pool1d":          lowerPool(ir.OpMaxPool, 1),
		"max_pool2d":          lowerPool(ir.OpMaxPool, 2),
		"avg_pool1d":          lowerPool(ir.OpAvgPool, 1),
		"avg_pool2d":          lowerPool(ir.OpAvgPool, 2),
		"adaptive_avg_pool1d": lowerAdaptiveAvgPool(1),
		"adaptive_avg_pool2d": lowerAdaptiveAvgPool(2),
		"batch_norm1d":        lowerBatchNorm(1),
		"batch_norm2d":        lowerBatchNorm(2),
	}
	addTensorOps()
}

// losses are the functions a loss statement can call, each comparing an
// output with a target of the same shape, except cross_entropy and
// nll_loss, whose target is one class index per sample.
var losses = map[string]ir.Op{
	"mse":             ir.OpMSE,
	"l1":              ir.OpL1,
	"bce_with_logits": ir.OpBCEWithLogits,
	"cross_entropy":   ir.OpCrossEntropy,
	"nll_loss":        ir.OpNLL,
	"smooth_l1":       ir.OpSmoothL1,
	"huber":           ir.OpHuber,
}

// layerRule lowers one op call defining name; it returns nil after
// reporting why it cannot.
type layerRule func(l *lowerer, name token, c call) *ir.Value

// Generated code holds tensors in fixed-size arrays; these limits keep any
// one of them allocatable, and every size product within an int.
const (
	maxDim      = 1 << 24 // largest batch or feature count
	maxElements = 1 << 28 // largest tensor
)

type lowerer struct {
	errs  *ErrorList
	g     *ir.Graph
	names map[string]binding
	order []string // the defined names, in order, for suggestions
	// definedAt is where each name is defined anywhere in the file, to
	// explain a use that comes before its definition.
	definedAt map[string]ir.Pos
	// firstStmt is where each keyword's statement first appears.
	firstStmt map[string]ir.Pos
	// suggestBudget bounds the work spent on "did you mean" hints.
	suggestBudget int
}

// binding is what a name stands for. A nil value marks a name whose
// definition had an error already reported: its uses are skipped silently
// rather than reported as undefined. Names defined by identity(x) share
// x's value.
type binding struct {
	pos   ir.Pos
	value *ir.Value
}

// lower builds the graph. The statements that shape the whole graph (network,
// batch, dtype) count wherever they are; the others are lowered in file
// order, so a name can be used only below its definition, and the schedule
// is the file's order.
func lower(file string, stmts []stmt, errs *ErrorList) *ir.Graph {
	l := &lowerer{
		errs:          errs,
		names:         map[string]binding{},
		definedAt:     map[string]ir.Pos{},
		firstStmt:     map[string]ir.Pos{},
		suggestBudget: 1 << 22,
	}
	l.g = l.header(stmts)
	for _, s := range stmts {
		l.statement(s)
	}
	// A missing statement has no place of its own; the top of the file is
	// where a reader looks for the declarations.
	start := ir.Pos{File: file, Line: 1, Col: 1}
	for _, required := range []struct{ keyword, example string }{
		{"network", "network MyModel"},
		{"input", "input x[4]"},
		{"output", "output y"},
	} {
		if _, ok := l.firstStmt[required.keyword]; !ok {
			l.errorf(start, "missing %s statement; add one like: %s", required.keyword, required.example)
		}
	}
	if pos, ok := l.firstStmt["optimizer"]; ok {
		if _, ok := l.firstStmt["loss"]; !ok {
			l.errorf(pos, "optimizer without a loss to minimize; add one like: loss mse(y, target[3])")
		}
	}
	if len(*l.errs) == 0 {
		l.unused()
	}
	return l.g
}

// unused reports layers that neither the output nor the loss reads, as Go
// reports unused variables: their parameters would get no gradient, and
// the line is most likely a mistake.
func (l *lowerer) unused() {
	needed := l.g.NeededByResults()
	for _, v := range l.g.Values {
		if !needed[v] && !ir.IsLeaf(v.Op) && v.Name != "" { // unnamed: a part of a named value
			l.errorf(v.Pos, "%s is never used: neither the output nor the loss depends on it", v.Name)
		}
	}
}

// header reads the statements that shape the whole graph, wherever they
// are, and creates the graph; it also notes where every name is defined.
func (l *lowerer) header(stmts []stmt) *ir.Graph {
	name, dtype, batch, unbatched := "", ir.F32, 1, true
	for _, s := range stmts {
		switch s := s.(type) {
		case networkStmt:
			if l.once(s.keyword) {
				name = s.name.text
			}
		case batchStmt:
			if n, ok := l.size(s.size, "batch"); l.once(s.keyword) && ok {
				batch, unbatched = n, false
			}
		case dtypeStmt:
			if l.once(s.keyword) {
				switch s.dtype.text {
				case "float32":
					dtype = ir.F32
				case "float64":
					dtype = ir.F64
				default:
					l.errorf(s.dtype.pos, "dtype must be float32 or float64, found %s", s.dtype)
				}
			}
		case inputStmt:
			l.noteDefinition(s.name)
		case assignStmt:
			for _, t := range s.names() {
				l.noteDefinition(t)
			}
		case paramStmt:
			l.noteDefinition(s.name)
		case lossStmt:
			for _, t := range lossDeclarations(s.value) {
				l.noteDefinition(t)
			}
		case badStmt:
			for _, t := range s.defines {
				l.noteDefinition(t)
			}
		}
	}
	return ir.New(name, dtype, batch, unbatched)
}

func (l *lowerer) noteDefinition(t token) {
	if _, ok := l.definedAt[t.text]; !ok {
		l.definedAt[t.text] = t.pos
	}
}

func (l *lowerer) statement(s stmt) {
	switch s := s.(type) {
	case inputStmt:
		var v *ir.Value
		if shape, ok := l.shape(s.sizes, s.name.text); ok && l.fits(s.name, s.name.text, shape) {
			v = l.g.Leaf(ir.OpInput, s.name.text, shape, ir.Attrs{})
			v.Pos = s.name.pos
			if s.dtype.text == "int" {
				v.DType = ir.Int
			}
		}
		if _, ok := l.firstStmt["input"]; !ok {
			l.firstStmt["input"] = s.keyword.pos
		}
		l.define(s.name, v)
	case paramStmt:
		l.define(s.name, l.declareParam(s))
	case assignStmt:
		if len(s.more) > 0 {
			vs := l.assignMany(s.names(), s.value)
			for i, name := range s.names() {
				var v *ir.Value
				if vs != nil {
					v = vs[i]
				}
				l.define(name, v)
			}
			return
		}
		v := l.assign(s.name, s.value)
		if v != nil && v.Name == "" {
			v.Name, v.Pos = s.name.text, s.name.pos
		}
		l.define(s.name, v)
	case outputStmt:
		if !l.once(s.keyword) {
			return
		}
		for _, name := range s.names {
			if v, ok := l.lookup(name); ok && v.Phase != ir.Forward {
				l.errorf(name.pos, "output %s: the loss target is not computed by the network", name.text)
			} else if ok && slices.Contains(l.g.Outputs, v) {
				l.errorf(name.pos, "output %s is listed twice", name.text)
			} else if ok {
				l.g.Outputs = append(l.g.Outputs, v)
			}
		}
	case lossStmt:
		l.loss(s)
	case optimizerStmt:
		l.optimizer(s)
	case badStmt:
		if _, ok := l.firstStmt[s.keyword]; s.keyword != "" && !ok {
			l.firstStmt[s.keyword] = s.pos
		}
		for _, t := range s.defines {
			l.poison(t)
		}
	}
}

func (l *lowerer) errorf(pos ir.Pos, format string, args ...any) {
	l.errs.add(pos, format, args...)
}

// once records the first statement with a keyword and reports the others.
func (l *lowerer) once(keyword token) bool {
	if first, ok := l.firstStmt[keyword.text]; ok {
		l.errorf(keyword.pos, "duplicate %s statement; first at %s", keyword.text, first)
		return false
	}
	l.firstStmt[keyword.text] = keyword.pos
	return true
}

// define binds a name to its value, or to nil when its statement failed.
// Names are unique, and so are the parameter names NAME.weight and
// NAME.bias derived from them, since names have no dots.
func (l *lowerer) define(name token, v *ir.Value) {
	if b, ok := l.names[name.text]; ok {
		l.errorf(name.pos, "duplicate name %s; first defined at %s", name.text, b.pos)
		return
	}
	l.names[name.text] = binding{name.pos, v}
	l.order = append(l.order, name.text)
}

// poison defines a name from a statement that failed, unless it is taken.
func (l *lowerer) poison(name token) {
	if _, ok := l.names[name.text]; !ok {
		l.define(name, nil)
	}
}

// lookup resolves a use of a name; false means the statement using it
// cannot be lowered, and any error is already reported.
func (l *lowerer) lookup(name token) (*ir.Value, bool) {
	if b, ok := l.names[name.text]; ok {
		return b.value, b.value != nil
	}
	msg := "undefined: " + name.text
	if pos, ok := l.definedAt[name.text]; ok && pos.Line > name.pos.Line {
		msg += fmt.Sprintf(" (it is defined later, at %s)", pos)
	} else if s := closest(name.text, l.order, &l.suggestBudget); s != "" {
		msg += "; did you mean " + s + "?"
	}
	l.errorf(name.pos, "%s", msg)
	return nil, false
}

func (l *lowerer) unknown(what string, name token, known []string) {
	if s := closest(name.text, known, nil); s != "" {
		l.errorf(name.pos, "unknown %s %s; did you mean %q?", what, name, s)
	} else {
		l.errorf(name.pos, "unknown %s %s (known: %s)", what, name, strings.Join(known, ", "))
	}
}

// size reads a batch size or feature count.
func (l *lowerer) size(t token, what string) (int, bool) {
	n, err := strconv.Atoi(t.text)
	if t.kind != number || err != nil || n < 1 || n > maxDim || strings.ContainsAny(t.text, "+-") {
		l.errorf(t.pos, "%s must be an integer from 1 to %d, found %s", what, maxDim, t)
		return 0, false
	}
	return n, true
}

// fits reports a tensor too large to generate code for.
func (l *lowerer) fits(at token, name string, shape ir.Shape) bool {
	if n := shape.Size(); n > maxElements {
		l.errorf(at.pos, "%s would be %v, %d elements; at most %d are allowed", name, shape, n, maxElements)
		return false
	}
	return true
}
