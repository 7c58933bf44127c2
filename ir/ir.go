// Package ir is nngen's intermediate representation: a typed dataflow graph
// with static shapes, built by a front end, rewritten by passes and turned
// into code by codegen.
//
// A Graph is a schedule: its Values are in an order that computes every
// argument before its users. Each value belongs to one phase (forward, loss,
// backward, update), which tells codegen which method computes it.
package ir

import (
	"fmt"
	"maps"
	"slices"
)

// DType is the element type of a tensor: the graph's float type for
// everything computed, integers for indices.
type DType uint8

const (
	F32 DType = iota
	F64
	Int // class indices and step counts, Go's int
	I32 // indices read from int32 data
	I64 // indices read from int64 data (ONNX's INT64); integer buffers, int64 in Go
)

func (d DType) String() string {
	return [...]string{"f32", "f64", "int", "i32", "i64"}[d]
}

// Bytes is the size of one element in the generated Go code.
func (d DType) Bytes() int {
	if d == F32 || d == I32 {
		return 4
	}
	return 8
}

// Shape lists a tensor's dimensions, outermost first. A scalar has none.
type Shape []int

// Size is the number of elements.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string {
	b := []byte{'['}
	for i, d := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", d)
	}
	return string(append(b, ']'))
}

// Pos is a position in a source file; the zero Pos means unknown.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	if !p.IsValid() {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Phase says which generated method computes a value.
type Phase uint8

const (
	Forward  Phase = iota // Forward (and the start of Backward)
	Loss                  // Backward, after the forward values
	Backward              // Backward, gradients
	Update                // Step
)

func (p Phase) String() string {
	return [...]string{"forward", "loss", "backward", "update"}[p]
}

// Attrs are an op's compile-time parameters. Each op uses the few it needs
// (see the op table); the others stay zero.
type Attrs struct {
	Act       Op      // linear: the fused activation ("" for none)
	Alpha     float64 // leaky_relu (and linear fused with it): the negative slope
	Approx    Approx  // gelu: the exact erf form, or the tanh approximation
	TransA    bool    // matmul: use the first argument transposed
	TransB    bool    // matmul: use the second argument transposed
	Reduction Reduce  // losses: mean or sum over the elements; embedding: a bag's
	Value     float64 // const: the value; hyper: the starting value
	Nesterov  bool    // sgd_momentum: Nesterov momentum
	Decoupled bool    // adam: decoupled weight decay (AdamW)

	// cross_entropy, nll_loss and their gradients, as PyTorch's options:
	// a weight per class (nil: all 1); the class index whose samples count
	// for nothing, when Ignores (PyTorch's default is -100); and, for
	// cross_entropy, the label smoothing in [0, 1].
	Weight         []float64
	IgnoreIndex    int
	Ignores        bool
	LabelSmoothing float64
	Delta          float64 // smooth_l1: beta; huber: delta. Where the square turns linear

	Exponent float64 // pow: the constant exponent
	Eps      float64 // layer_norm, batch_norm: added to the variance
	// batch_norm: the running statistics' momentum, or with Cumulative
	// their cumulative average (PyTorch's momentum=None).
	Momentum   float64
	Cumulative bool
	P          float64 // dropout_mask: the probability of zeroing an element
	Min, Max   float64 // clamp: the bounds, either infinite for none
	Axes       []int   // sum, mean, max, max_grad: the axes reduced, increasing
	KeepDims   bool    // sum, mean, max, max_grad: reduced axes stay, as 1s
	Perm       []int   // permute: axis i of the result is axis Perm[i] of the argument
	To         Shape   // reshape, expand, sum_to, slice_grad: the result's shape
	Axis       int     // concat, slice, slice_grad: the axis
	Start      int     // slice, slice_grad: the first element along Axis
	End        int     // slice, slice_grad: one past the last
	// conv and its gradients: per spatial axis the stride, the zero
	// padding on each side and the dilation; and the channels' groups.
	Stride, Pad, Dilation []int
	Groups                int
	Kernel                []int // max_pool, avg_pool and their gradients: the window
	// embedding and its gradient: Padded says that the row PaddingIdx
	// takes no gradient and, in a bag, that ids equal to it are left out.
	Padded     bool
	PaddingIdx int
	// Wrt is, for the gradient op of a recurrent cell (gru_cell_grad,
	// lstm_cell_grad, lstm_hidden_grad), the argument of the cell whose
	// gradient it gives.
	Wrt int
	// FanIn is, for a parameter, the number of inputs of the layer it
	// belongs to: New draws it uniform in ±1/√FanIn, as PyTorch's layers
	// do. Init ones or zeros sets it instead (0 and no Init: zeros).
	FanIn int
	Init  Init
}

// Approx is gelu's form.
type Approx uint8

const (
	ApproxNone Approx = iota // 0.5·x·(1+erf(x/√2)), PyTorch's approximate="none"
	ApproxTanh               // PyTorch's approximate="tanh"
)

func (a Approx) String() string {
	if a == ApproxTanh {
		return "tanh"
	}
	return "none"
}

// Reduce is how a loss reduces its elements to one number; the zero value
// is no reduction, which a loss does not accept.
type Reduce uint8

const (
	ReduceMean Reduce = 1 + iota // PyTorch's reduction="mean"
	ReduceSum                    // reduction="sum"
)

func (r Reduce) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case 0:
		return "none"
	}
	return fmt.Sprintf("Reduce(%d)", uint8(r))
}

// ParseReduce reads PyTorch's name of a reduction.
func ParseReduce(name string) (Reduce, bool) {
	switch name {
	case "mean":
		return ReduceMean, true
	case "sum":
		return ReduceSum, true
	}
	return 0, false
}

// Init is how New sets a parameter.
type Init uint8

const (
	InitUniform Init = iota // uniform in ±1/√FanIn (zeros when FanIn is 0)
	InitZeros
	InitOnes
	InitNormal // N(0, 1), as nn.Embedding's weight
	// Uniform in ±√(6/(fan_in + fan_out)) of a [fan_out, fan_in] matrix,
	// PyTorch's xavier_uniform_ (nn.MultiheadAttention's in_proj_weight).
	InitXavierUniform
)

func (i Init) String() string {
	switch i {
	case InitZeros:
		return "zeros"
	case InitOnes:
		return "ones"
	case InitNormal:
		return "normal"
	case InitXavierUniform:
		return "xavier_uniform"
	}
	return "uniform"
}

// Value is one node of the graph: an op applied to earlier values.
type Value struct {
	ID    int
	Op    Op
	Args  []*Value
	DType DType
	Shape Shape
	Name  string // source name, or the state_dict name of a parameter
	Pos   Pos    // where the source defined it, for errors
	Phase Phase
	Attrs

	// Grad is, for a parameter after autodiff, the value of dLoss/dParam.
	Grad *Value
	// Also is, for a linear fused with an activation whose gradient needs
	// the pre-activation, the activation value that the linear's loop
	// computes too; the linear itself holds the pre-activation.
	Also *Value
	// Storage is where the value lives, filled in by buffer planning.
	Storage Storage
}

// Graph is a network: its values in schedule order and what they mean.
type Graph struct {
	Name  string // the network's name, used for the generated type's comment
	DType DType
	// Batch is the number of samples per call. Activations are always
	// [Batch, features]; Unbatched says the generated API takes one sample
	// without a batch dimension (Batch is then 1), as PyTorch allows.
	Batch     int
	Unbatched bool

	Values    []*Value
	Outputs   []*Value   // the network's outputs, in declaration order
	Loss      *Value     // the scalar loss; nil for an inference-only graph
	Optimizer *Optimizer // how Step updates parameters; nil without training
	Slots     []Slot     // scratch buffers, from buffer planning

	nextID int
}

// New returns an empty graph.
func New(name string, dtype DType, batch int, unbatched bool) *Graph {
	return &Graph{Name: name, DType: dtype, Batch: batch, Unbatched: unbatched}
}

// Add appends a value computing op over args, inferring its shape from the
// op's rule. The graph is unchanged when the rule rejects the arguments.
func (g *Graph) Add(op Op, attrs Attrs, args ...*Value) (*Value, error) {
	v := &Value{Op: op, Args: args, DType: g.DType, Attrs: attrs}
	if len(args) > 0 {
		v.Phase = args[0].Phase
		for _, a := range args {
			v.Phase = max(v.Phase, a.Phase)
		}
	}
	shape, err := InferShape(v)
	if err != nil {
		return nil, err
	}
	v.Shape = shape
	g.push(v)
	return v, nil
}

// Leaf appends an input, parameter, hyperparameter or constant.
func (g *Graph) Leaf(op Op, name string, shape Shape, attrs Attrs) *Value {
	v := &Value{Op: op, Name: name, Shape: shape, DType: g.DType, Attrs: attrs}
	g.push(v)
	return v
}

func (g *Graph) push(v *Value) {
	v.ID = g.nextID
	g.nextID++
	g.Values = append(g.Values, v)
}

// Compact renumbers the values in the order of their ids, without the gaps
// that removed values leave, so that a pass that replaces values reads as
// if the front end had built the result.
func (g *Graph) Compact() {
	values := slices.Clone(g.Values)
	slices.SortFunc(values, func(a, b *Value) int { return a.ID - b.ID })
	for i, v := range values {
		v.ID = i
	}
	g.nextID = len(values)
}

// Params lists the trainable parameters in declaration order.
func (g *Graph) Params() []*Value { return g.filter(OpParam) }

// Buffers lists the buffers (the state_dict's tensors that are not
// trained) in declaration order.
func (g *Graph) Buffers() []*Value { return g.filter(OpBuffer) }

// Inputs lists the graph's inputs (data and loss targets) in order.
func (g *Graph) Inputs() []*Value { return g.filter(OpInput) }

// States lists the optimizer's state values in order.
func (g *Graph) States() []*Value { return g.filter(OpState) }

// Hypers lists the hyperparameters (settable scalars such as lr).
func (g *Graph) Hypers() []*Value { return g.filter(OpHyper) }

func (g *Graph) filter(op Op) []*Value {
	var out []*Value
	for _, v := range g.Values {
		if v.Op == op {
			out = append(out, v)
		}
	}
	return out
}

// Uses counts, for every value, how many argument slots refer to it,
// plus one for each role the graph gives it (output, loss, gradient).
func (g *Graph) Uses() map[*Value]int {
	n := make(map[*Value]int, len(g.Values))
	for _, v := range g.Values {
		for _, a := range v.Args {
			n[a]++
		}
		if v.Grad != nil {
			n[v.Grad]++
		}
	}
	for _, v := range g.Outputs {
		n[v]++
	}
	if g.Loss != nil {
		n[g.Loss]++
	}
	return n
}

// Replace makes every use of old (arguments and graph roles) use new.
func (g *Graph) Replace(old, new *Value) { g.ReplaceAll(map[*Value]*Value{old: new}) }

// ReplaceAll makes every use of each key (arguments and graph roles) use
// its value, in one walk over the graph.
func (g *Graph) ReplaceAll(subst map[*Value]*Value) {
	to := func(v *Value) *Value {
		if n, ok := subst[v]; ok {
			return n
		}
		return v
	}
	for _, v := range g.Values {
		for i, a := range v.Args {
			v.Args[i] = to(a)
		}
		if v.Grad != nil {
			v.Grad = to(v.Grad)
		}
	}
	for i, v := range g.Outputs {
		g.Outputs[i] = to(v)
	}
	if g.Loss != nil {
		g.Loss = to(g.Loss)
	}
}

// Needed is a set of values that something reads: the front ends find the
// layers nothing uses with it, and dead-code elimination what to keep.
type Needed map[*Value]bool

// Mark adds v and everything it reads, directly or through other values.
func (n Needed) Mark(v *Value) {
	if n[v] {
		return
	}
	n[v] = true
	for _, a := range v.Args {
		n.Mark(a)
	}
}

// NeededByResults is the set of values that the graph's outputs and loss
// read, themselves included.
func (g *Graph) NeededByResults() Needed {
	n := Needed{}
	for _, v := range g.Outputs {
		n.Mark(v)
	}
	if g.Loss != nil {
		n.Mark(g.Loss)
	}
	return n
}

// Remove deletes values from the schedule; callers make sure nothing uses them.
func (g *Graph) Remove(dead map[*Value]bool) {
	g.Values = slices.DeleteFunc(g.Values, func(v *Value) bool { return dead[v] })
}

// Error is an error at a place in the model's source, for problems that
// passes find in what the user wrote.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Pos == (Pos{}) {
		return e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Errorf returns an *Error at pos.
func Errorf(pos Pos, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Clone returns a deep copy of g, which passes may then change without
// touching g: every value, with its arguments, gradient, fused activation,
// storage and attributes remapped or copied, and the slots and optimizer.
func (g *Graph) Clone() *Graph {
	c := *g
	vals := make(map[*Value]*Value, len(g.Values))
	c.Values = make([]*Value, len(g.Values))
	for i, v := range g.Values {
		nv := *v
		nv.Shape = slices.Clone(v.Shape)
		nv.Axes, nv.Perm, nv.To = slices.Clone(v.Axes), slices.Clone(v.Perm), slices.Clone(v.To)
		c.Values[i], vals[v] = &nv, &nv
	}
	remap := func(v *Value) *Value {
		if v == nil {
			return nil
		}
		return vals[v]
	}
	remapAll := func(vs []*Value) []*Value {
		if vs == nil {
			return nil
		}
		out := make([]*Value, len(vs))
		for i, v := range vs {
			out[i] = remap(v)
		}
		return out
	}
	for _, v := range c.Values {
		v.Args = remapAll(v.Args)
		v.Grad, v.Also, v.Storage.Param = remap(v.Grad), remap(v.Also), remap(v.Storage.Param)
	}
	c.Outputs, c.Loss = remapAll(g.Outputs), remap(g.Loss)
	if g.Optimizer != nil {
		o := *g.Optimizer
		o.Params = maps.Clone(o.Params)
		c.Optimizer = &o
	}
	c.Slots = make([]Slot, len(g.Slots))
	for i, s := range g.Slots {
		c.Slots[i] = Slot{Size: s.Size, Values: remapAll(s.Values)}
	}
	if g.Slots == nil {
		c.Slots = nil
	}
	return &c
}
