package onnx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// tensor is what an ONNX value name stands for while lowering: a value the
// network computes, or a constant.
type tensor struct {
	shape []int     // the shape ONNX gives it
	v     *ir.Value // the computed value, [rows, features]; nil for a constant
	c     *constant // the constant; nil for a computed value
	// transposed says v holds this 2-D tensor transposed: the model's input
	// read only through Gemm's transA, which the generated code takes as Aᵀ.
	transposed bool
	// padded says this is v padded with zeros, for the AveragePool that
	// reads it alone (lowerPad); nil for any other tensor.
	padded *padding
	// labels names the graph input of the loss's class indices, whose IR
	// input the loss declares (see declareLabels); "" for any other tensor.
	labels string
}

// padding is a Pad's zeros that an AveragePool takes as its own padding.
type padding struct {
	pads     []int // per spatial axis, at each end
	unpadded []int // the shape without them
}

// node is an ONNX node being lowered, with its inputs resolved.
type node struct {
	*onnxpb.NodeProto
	index int
	in    []*tensor // nil for an absent optional input
}

// describe names a node for messages: by its name, or for an unnamed one
// by its place in the graph and its first output.
func (n *node) describe() string {
	if n.GetName() != "" {
		return "node " + quote(n.GetName())
	}
	if len(n.GetOutput()) > 0 {
		return fmt.Sprintf("node %d (output %s)", n.index, quote(n.GetOutput()[0]))
	}
	return fmt.Sprintf("node %d", n.index)
}

// label is what generated code's comments call the node's result.
func (n *node) label() string {
	if n.GetName() != "" {
		return printable(n.GetName())
	}
	if len(n.GetOutput()) > 0 {
		return printable(n.GetOutput()[0])
	}
	return ""
}

type lowerer struct {
	pos   ir.Pos
	opts  Options
	graph *onnxpb.GraphProto
	opset int64 // of the default domain, which decides Softmax's default axis
	g     *ir.Graph
	errs  []error

	// values maps each ONNX value name defined so far to its tensor; a nil
	// entry marks a value whose node failed, so that its users are skipped
	// rather than reported again.
	values map[string]*tensor
	// initializers are the model's initializers by name, decoded.
	initializers map[string]*tensor
	// consumers lists the nodes reading each value name.
	consumers map[string][]*onnxpb.NodeProto
	outputs   map[string]bool // the graph's output names
	// absorbed are nodes lowered as part of another: the bias Add after a
	// MatMul, the ops inside a GELU formula.
	absorbed map[*onnxpb.NodeProto]bool
	// gelus are the last nodes of GELU formulas, which lower them.
	gelus map[*onnxpb.NodeProto]gelu

	params  map[string]*ir.Value
	weights map[string][]float64
	// recurrentLayers counts the GRU and LSTM nodes of each module so far,
	// the index of the next one's parameters (rnn.weight_ih_l1).
	recurrentLayers map[string]int
	// rows is the factor by which an input without a batch dimension is
	// given one (Options.Batch): every tensor's leading dimensions, times
	// rows, are the IR value's rows.
	rows int
	// outputNames are the graph's output names, by the place of the
	// output in g.Outputs.
	outputNames []string
}

func newLowerer(filename string, m *onnxpb.ModelProto, opts Options) *lowerer {
	l := &lowerer{
		pos:          ir.Pos{File: filename},
		opts:         opts,
		graph:        m.GetGraph(),
		opset:        13,
		values:       map[string]*tensor{},
		initializers: map[string]*tensor{},
		consumers:    map[string][]*onnxpb.NodeProto{},
		outputs:      map[string]bool{},
		absorbed:     map[*onnxpb.NodeProto]bool{},
		gelus:        map[*onnxpb.NodeProto]gelu{},
		params:       map[string]*ir.Value{},
		weights:      map[string][]float64{},
		rows:         1,

		recurrentLayers: map[string]int{},
	}
	l.readVersions(m)
	return l
}

// The opsets of the default domain that nngen reads. Opset 6 is that of
// the oldest of ONNX's node tests that golden runs (test_Linear); the ops
// before it (with consumed_inputs) are not tested. Opset 18 moves the
// reductions' axes to an input and gives Split num_outputs; opset 20 adds
// Gelu; opset 21 only widens types.
// PyTorch 1.13 exports opsets 7 to 17, by default 14.
const (
	minOpset = 6
	maxOpset = 21
)

// readVersions checks the versions a model states: its IR version and the
// opset of the default domain, which decides what some ops mean (Softmax's
// axis before opset 13, Dropout's is_test before 7). A model that states
// neither is not one that nngen can read with certainty.
func (l *lowerer) readVersions(m *onnxpb.ModelProto) {
	if m.GetIrVersion() <= 0 {
		l.errorf("ir_version is %d; an ONNX model states the version of the format it is written in, from 1 up", m.GetIrVersion())
	}
	var versions []int64
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			versions = append(versions, o.GetVersion())
		}
	}
	switch {
	case len(versions) == 0:
		l.errorf("the model imports no opset of the default domain (opset_import with domain \"\" or \"ai.onnx\"); nngen reads opsets %d to %d", minOpset, maxOpset)
	case slices.Min(versions) != slices.Max(versions):
		l.errorf("the model imports the default domain twice, as opsets %d and %d", slices.Min(versions), slices.Max(versions))
	case versions[0] < minOpset || versions[0] > maxOpset:
		l.errorf("the model imports opset %d of the default domain; nngen reads opsets %d to %d", versions[0], minOpset, maxOpset)
	default:
		l.opset = versions[0]
	}
}

// lower builds the graph: the initializers, the input, every node in the
// file's order (ONNX requires a topological order), the output, and the
// loss and optimizer from the options.
func (l *lowerer) lower() {
	if l.graph == nil {
		l.errorf("the model has no graph")
		return
	}
	if l.opts.Batch < 0 || l.opts.Batch > maxDim {
		l.errorf("the batch size must be from 1 to %d, got %d", maxDim, l.opts.Batch)
		return
	}
	for _, n := range l.graph.GetNode() {
		for _, name := range n.GetInput() {
			if name != "" {
				l.consumers[name] = append(l.consumers[name], n)
			}
		}
	}
	for _, o := range l.graph.GetOutput() {
		l.outputs[o.GetName()] = true
	}
	l.readInitializers()
	if !l.declareInput() {
		return
	}
	l.findGELUs()
	for i, p := range l.graph.GetNode() {
		if !l.absorbed[p] {
			l.node(i, p)
		}
	}
	l.output()
	l.lossOutputs()
	if len(l.errs) == 0 {
		l.train()
	}
	if len(l.errs) == 0 {
		l.prune()
	}
}

func (l *lowerer) readInitializers() {
	if len(l.graph.GetSparseInitializer()) > 0 {
		l.errorf("the model has sparse initializers, which nngen does not read")
	}
	for _, t := range l.graph.GetInitializer() {
		name := t.GetName()
		if _, dup := l.initializers[name]; dup {
			l.errorf("initializer %s is defined twice", quote(name))
			continue
		}
		c, err := initializer(t)
		if err != nil {
			l.errorf("%v", err)
			l.initializers[name] = nil
			continue
		}
		l.initializers[name] = c
		l.values[name] = c
	}
}

// initializer is the constant an initializer holds.
func initializer(t *onnxpb.TensorProto) (*tensor, error) {
	shape, data, err := decodeTensor(t)
	if err != nil {
		return nil, fmt.Errorf("initializer %s: %v", quote(t.GetName()), err)
	}
	return &tensor{shape: shape, c: &constant{name: t.GetName(), data: data, integer: integerType(onnxpb.TensorProto_DataType(t.GetDataType()))}}, nil
}

// standard reports whether a node's op is from ONNX's default domain.
func standard(n *onnxpb.NodeProto) bool {
	return n.GetDomain() == "" || n.GetDomain() == "ai.onnx"
}

// node lowers one node, or records why it cannot.
func (l *lowerer) node(index int, p *onnxpb.NodeProto) {
	n := &node{NodeProto: p, index: index}
	if p.GetOpType() == "If" && standard(p) {
		l.lowerIf(n)
		return
	}
	if p.GetOpType() == "Loop" && standard(p) {
		l.lowerLoop(n)
		return
	}
	rule, ok := ruleFor(p.GetOpType())
	inputs := p.GetInput()
	if g, isGELU := l.gelus[p]; isGELU {
		rule, ok, inputs = g.lower, true, []string{g.x}
	}
	if !ok || !standard(p) {
		op := printable(p.GetOpType())
		if !standard(p) {
			op = printable(p.GetDomain()) + "." + op
		}
		l.nodeErrorf(n, "unsupported op %s", op)
		l.poison(p)
		return
	}
	for _, name := range inputs {
		if name == "" {
			n.in = append(n.in, nil)
			continue
		}
		t, defined := l.values[name]
		if !defined {
			l.nodeErrorf(n, "input %s is not defined before the node; nngen reads nodes in the file's order", quote(name))
			l.poison(p)
			return
		}
		if t == nil {
			l.poison(p) // its producer failed, and said why
			return
		}
		n.in = append(n.in, t)
	}
	outs, err := rule(l, n)
	if err != nil {
		errs := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap() // each on its own line, naming the file and node
		}
		for _, err := range errs {
			l.nodeErrorf(n, "%v", err)
		}
		l.poison(p)
		return
	}
	for i, t := range outs {
		if i < len(p.GetOutput()) && p.GetOutput()[i] != "" {
			l.define(n, p.GetOutput()[i], t)
		}
	}
}

// define binds an output name; ONNX names each value once.
func (l *lowerer) define(n *node, name string, t *tensor) {
	if _, dup := l.values[name]; dup {
		l.nodeErrorf(n, "output %s is already defined", quote(name))
		return
	}
	if t.v != nil && t.v.Name == "" {
		t.v.Name = n.label()
	}
	l.values[name] = t
}

// poison marks a failed node's outputs, so that their users are skipped.
func (l *lowerer) poison(p *onnxpb.NodeProto) {
	for _, name := range p.GetOutput() {
		if _, ok := l.values[name]; !ok && name != "" {
			l.values[name] = nil
		}
	}
}

// output sets the graph's outputs, checking the shape the model declares
// for each against the one lowering found.
func (l *lowerer) output() {
	outs := l.graph.GetOutput()
	if len(outs) == 0 {
		l.errorf("the model has no output")
		return
	}
	for _, out := range outs {
		if v := l.outputValue(out); v != nil {
			if slices.Contains(l.g.Outputs, v) {
				l.errorf("output %s is the same value as another output; nngen returns each value once", quote(out.GetName()))
				continue
			}
			l.g.Outputs = append(l.g.Outputs, v)
			l.outputNames = append(l.outputNames, out.GetName())
		}
	}
}

func (l *lowerer) outputValue(out *onnxpb.ValueInfoProto) *ir.Value {
	name := out.GetName()
	t, ok := l.values[name]
	switch {
	case !ok:
		l.errorf("output %s is not computed by any node", quote(name))
		return nil
	case t == nil:
		return nil // its node failed
	case t.v == nil:
		l.errorf("output %s is a constant; nngen generates code for what the network computes from its input", quote(name))
		return nil
	case t.transposed:
		l.errorf("output %s is the input itself, read transposed", quote(name))
		return nil
	}
	if s := out.GetType().GetTensorType().GetShape(); s != nil && len(s.GetDim()) > 0 {
		declared := make([]string, len(s.GetDim()))
		match := len(s.GetDim()) == len(t.shape)
		for i, d := range s.GetDim() {
			declared[i] = dimString(d)
			fixed := d.GetDimValue() > 0 && !(i == 0 && l.opts.Batch > 0)
			if match && fixed && d.GetDimValue() != int64(t.shape[i]) {
				match = false
			}
		}
		if !match {
			l.errorf("output %s is declared [%s] but the nodes compute %v", quote(name), strings.Join(declared, ","), t.shape)
			return nil
		}
	}
	return t.v
}

// prune drops what the output and the loss do not need: ONNX allows dead
// nodes, and a parameter that nothing reads would get no gradient.
func (l *lowerer) prune() {
	needed := l.g.NeededByResults()
	dead := map[*ir.Value]bool{}
	for _, v := range l.g.Values {
		if !needed[v] && v.Op != ir.OpInput {
			dead[v] = true
			if v.Op == ir.OpParam {
				delete(l.weights, v.Name)
			}
		}
	}
	l.g.Remove(dead)
}

// param returns the parameter holding a constant, creating it on first
// use. data is row-major in shape, the IR's layout. A constant used twice
// (weights tied between layers) is one parameter, if both uses agree on
// its layout.
func (l *lowerer) param(name string, shape ir.Shape, data []float64) (*ir.Value, error) {
	if p, ok := l.params[name]; ok {
		if !slices.Equal(p.Shape, shape) || !slices.Equal(l.weights[name], l.rounded(data)) {
			return nil, fmt.Errorf("initializer %s is used again in another layout (%v, before %v); nngen gives each parameter one", quote(name), shape, p.Shape)
		}
		return p, nil
	}
	if name == "" || printable(name) != name {
		return nil, fmt.Errorf("parameter name %s must be printable text", quote(name))
	}
	if len(shape) == 0 || slices.Min(shape) < 1 || slices.Max(shape) > maxDim || shape.Size() > maxElements {
		return nil, fmt.Errorf("parameter %s would be %v, more than nngen's limits", quote(name), shape)
	}
	p := l.g.Leaf(ir.OpParam, name, shape, ir.Attrs{})
	p.Pos = l.pos
	l.params[name] = p
	l.weights[name] = l.rounded(data)
	return p, nil
}

// rounded is data in the graph's precision.
func (l *lowerer) rounded(data []float64) []float64 {
	if l.g.DType == ir.F64 {
		return data
	}
	out := make([]float64, len(data))
	for i, x := range data {
		out[i] = float64(float32(x))
	}
	return out
}

// add appends a computed value to the graph.
func (l *lowerer) add(op ir.Op, attrs ir.Attrs, args ...*ir.Value) (*ir.Value, error) {
	v, err := l.g.Add(op, attrs, args...)
	if err != nil {
		return nil, err
	}
	v.Pos = l.pos
	return v, nil
}
