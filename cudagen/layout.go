package cudagen

import (
	"strconv"
	"strings"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
)

// buffer is one device allocation. The IR's storage plan decides them: an
// input, a parameter, a buffer of the model, a gradient, an optimizer state, or a scratch slot
// (whose values take turns at its start), plus the loss's per-row sums.
type buffer struct {
	name   string // the kernels' parameter name: layer1_weight
	goName string // the Go constant indexing it: bufLayer1Weight
	elems  int
	isInt  bool      // int64 elements: class indices, the step count
	leaf   *ir.Value // the input, parameter or state it holds; nil for scratch
	grad   bool      // it holds leaf's gradient
}

// layout maps the graph's storage to buffers, in a fixed order: inputs,
// parameters, buffers, gradients, optimizer state, slots, dropout masks, loss rows.
type layout struct {
	g        *ir.Graph
	buffers  []*buffer
	inputs   map[*ir.Value]*buffer
	params   map[*ir.Value]*buffer
	stored   map[*ir.Value]*buffer // the buffers (ir.OpBuffer)
	grads    map[*ir.Value]*buffer
	states   map[*ir.Value]*buffer
	slots    []*buffer
	masks    map[*ir.Value]*buffer // by dropout_mask value, the mask the host draws and uploads
	lossRows *buffer               // the loss's partial sums, one per sample; nil without a loss
	scratch  *buffer               // the convolutions' im2col columns for cuBLAS (convScratch); nil without
	used     map[string]bool
}

func newLayout(g *ir.Graph) *layout {
	l := &layout{g: g, inputs: map[*ir.Value]*buffer{}, params: map[*ir.Value]*buffer{}, stored: map[*ir.Value]*buffer{},
		grads: map[*ir.Value]*buffer{}, states: map[*ir.Value]*buffer{}, masks: map[*ir.Value]*buffer{}, used: map[string]bool{}}
	for _, name := range reservedC {
		l.used[name] = true
	}
	classic := codegen.ClassicAPI(g)
	for _, v := range g.Inputs() {
		// The classic API's x and target, else the input's own name.
		name := v.Name
		switch {
		case classic && v.Phase == ir.Forward:
			name = "x"
		case classic:
			name = "target"
		}
		l.inputs[v] = l.add(name, v.Shape.Size(), v.DType == ir.Int, v, false)
	}
	for _, p := range g.Params() {
		l.params[p] = l.add(p.Name, p.Shape.Size(), false, p, false)
	}
	for _, b := range g.Buffers() {
		l.stored[b] = l.add(b.Name, b.Shape.Size(), b.DType == ir.I64, b, false)
	}
	for _, p := range g.Params() {
		if p.Grad != nil {
			l.grads[p] = l.add(p.Name+".grad", p.Shape.Size(), false, p, true)
		}
	}
	for _, s := range g.States() {
		l.states[s] = l.add(s.Name, s.Shape.Size(), s.DType == ir.Int, s, false)
	}
	for i, s := range g.Slots {
		l.slots = append(l.slots, l.add("slot"+strconv.Itoa(i), s.Size, false, nil, false))
	}
	for _, v := range g.Values {
		if v.Op == ir.OpDropoutMask {
			l.masks[v] = l.add(v.Name+".drawn", v.Shape.Size(), false, nil, false)
		}
	}
	if g.Loss != nil {
		// Shared by the losses that the loss sums, one after another.
		rows := 0
		for _, v := range g.Values {
			if ir.Losses[v.Op] != "" {
				n, _ := lossRows(v)
				rows = max(rows, n)
			}
		}
		l.lossRows = l.add("loss_rows", rows, false, nil, false)
	}
	// Shared by the convolutions, one after another: each fills and reads
	// it within its own launches.
	scratch := 0
	for _, v := range g.Values {
		scratch = max(scratch, convScratch(v))
	}
	if scratch > 0 {
		l.scratch = l.add("gemm_scratch", scratch, false, nil, false)
	}
	return l
}

// reservedC are the names that a buffer cannot take: the kernels' own
// variables and C++'s keywords and types. A parameter named so gets a
// suffix (s_2).
var reservedC = []string{
	"t", "s", "d", "c", "i", "j", "k", "n", "o", "r", "row", "out", "top", "sum", "shift", "first", "scale",
	"row_dy", "row_y", "gw", "step_size", "root2", "correction1", "correction2", "real",
	"ci", "c0", "k0", "ih", "iw", "oh", "ow", "kh", "kw", "ohs", "ows", "plane", "at", "col",
	"auto", "bool", "break", "case", "char", "class", "const", "continue", "default", "delete", "do", "double",
	"else", "enum", "extern", "false", "float", "for", "goto", "if", "inline", "int", "long", "namespace", "new",
	"operator", "private", "protected", "public", "register", "return", "short", "signed", "sizeof", "static",
	"struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typename", "union", "unsigned",
	"using", "virtual", "void", "volatile", "while",
}

// add appends a buffer, its names made unique.
func (l *layout) add(name string, elems int, isInt bool, leaf *ir.Value, grad bool) *buffer {
	c := cName(name)
	for base, i := c, 2; l.used[c]; i++ {
		c = base + "_" + strconv.Itoa(i)
	}
	l.used[c] = true
	b := &buffer{name: c, goName: "buf" + codegen.GoName(c), elems: max(elems, 1), isInt: isInt, leaf: leaf, grad: grad}
	l.buffers = append(l.buffers, b)
	return b
}

// of is the buffer holding v, or nil for a hyperparameter or constant,
// which kernels take by value.
func (l *layout) of(v *ir.Value) *buffer {
	s := v.Storage
	switch s.Kind {
	case ir.InArg:
		return l.inputs[v]
	case ir.InParam:
		return l.params[s.Param]
	case ir.InGrad:
		return l.grads[s.Param]
	case ir.InState:
		return l.states[s.Param]
	case ir.InBuffer:
		return l.stored[s.Param]
	case ir.InSlot:
		return l.slots[s.Slot]
	}
	return nil
}

// cName makes a PyTorch-style name into a C identifier: layer1.weight
// becomes layer1_weight.
func cName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		s = "p_" + s
	}
	return s
}
