package ir

import (
	"fmt"
	"slices"
)

// Cell is a recurrent layer's cell: PyTorch's nn.GRU or nn.LSTM.
type Cell uint8

const (
	GRU  Cell = iota // gates r, z, n: 3·hidden rows per weight
	LSTM             // gates i, f, g, o: 4·hidden rows per weight
)

func (c Cell) String() string { return [...]string{"gru", "lstm"}[c] }

// Gates is the number of blocks of hidden rows in the cell's weights.
func (c Cell) Gates() int { return [...]int{3, 4}[c] }

// RecurrentLayer holds one layer's parameters in PyTorch's layout and gate
// order: weight_ih [gates·H, in], weight_hh [gates·H, H], and the biases
// bias_ih, bias_hh [gates·H], both nil without bias.
type RecurrentLayer struct {
	WeightIH, WeightHH, BiasIH, BiasHH *Value
}

// Recurrent is a GRU or LSTM over a fixed number of steps, as nn.GRU and
// nn.LSTM compute it, unrolled into existing ops so that backpropagation
// through time is the generic autodiff's: per step, the gate
// pre-activations are two linear maps (x_t·W_ihᵀ + b_ih and h·W_hhᵀ +
// b_hh), sliced into gates. Layer l+1 reads layer l's per-step states
// directly; the sequence output is the last layer's states concatenated
// along the time axis.
type Recurrent struct {
	Cell   Cell
	Hidden int
	// BatchFirst puts the batch axis in front of every tensor of the
	// layer: x [batch, seq, in] and the states [batch, layers, hidden];
	// else they are [seq, batch, in] and [layers, batch, hidden], PyTorch's
	// default and ONNX's layout.
	BatchFirst bool
	Layers     []RecurrentLayer
	// Reverse, for a bidirectional layer, holds each layer's parameters of
	// the reverse direction (PyTorch's NAME.weight_ih_l0_reverse), which
	// runs the steps from the last to the first; nil for one direction.
	// Layer l's states are then its forward states beside its reverse ones
	// ([batch, 2·hidden] per step), which layer l+1 reads, and the
	// initial and final states hold 2·layers rows, in PyTorch's order:
	// layer 0 forward, layer 0 reverse, layer 1 forward, ...
	Reverse []RecurrentLayer
	// H0 and C0 are the initial states (C0 for an LSTM), or nil for zeros.
	H0, C0 *Value
}

// Directions is 2 for a bidirectional layer, else 1.
func (r Recurrent) Directions() int {
	if r.Reverse != nil {
		return 2
	}
	return 1
}

// Build adds the unrolled layer over x to g. It returns the sequence
// output ([batch, seq, directions·hidden] or [seq, batch,
// directions·hidden]) and the final states (c only for an LSTM), in the
// layout BatchFirst says.
func (r Recurrent) Build(g *Graph, x *Value) (out, h, c *Value, err error) {
	b := &builder{g: g}
	timeAxis, batchAxis := 1, 0
	if !r.BatchFirst {
		timeAxis, batchAxis = 0, 1
	}
	if len(x.Shape) != 3 {
		layout := map[bool]string{true: "[batch, seq, features]", false: "[seq, batch, features]"}[r.BatchFirst]
		return nil, nil, nil, fmt.Errorf("%s's input must be %s, found %v", r.Cell, layout, x.Shape)
	}
	steps, batch, hid := x.Shape[timeAxis], x.Shape[batchAxis], r.Hidden
	for i, s := range []*Value{r.H0, r.C0} {
		if want := r.StateShape(batch); s != nil && !slices.Equal(s.Shape, want) {
			return nil, nil, nil, fmt.Errorf("%s's initial state %s must be %v, found %v", r.Cell, [...]string{"h0", "c0"}[i], want, s.Shape)
		}
	}
	// Layer 0's inputs, one [batch, in] per step.
	inputs := make([]*Value, steps)
	for t := range inputs {
		xt := b.add(OpSlice, Attrs{Axis: timeAxis, Start: t, End: t + 1}, x)
		inputs[t] = b.add(OpReshape, Attrs{To: Shape{batch, x.Shape[2]}}, xt)
	}
	// The states' layer axis.
	layerAxis := 1 - batchAxis
	dirs := r.Directions()
	var lastH, lastC []*Value
	for l := range r.Layers {
		var next [2][]*Value // each direction's states, by step
		for dir := range dirs {
			layer := r.Layers[l]
			if dir == 1 {
				layer = r.Reverse[l]
			}
			hPrev := b.stateOf(r.H0, layerAxis, l*dirs+dir, batch, hid)
			cPrev := b.stateOf(r.C0, layerAxis, l*dirs+dir, batch, hid)
			next[dir] = make([]*Value, steps)
			for i := range steps {
				t := i
				if dir == 1 {
					t = steps - 1 - i
				}
				gi := b.linear(inputs[t], layer.WeightIH, layer.BiasIH)
				gh := b.linear(hPrev, layer.WeightHH, layer.BiasHH)
				switch r.Cell {
				case GRU:
					hPrev = b.gru(gi, gh, hPrev)
				case LSTM:
					hPrev, cPrev = b.lstm(gi, gh, cPrev)
				}
				next[dir][t] = hPrev
			}
			lastH, lastC = append(lastH, hPrev), append(lastC, cPrev)
		}
		for t := range inputs {
			inputs[t] = next[0][t]
			if dirs == 2 {
				inputs[t] = b.add(OpConcat, Attrs{Axis: 1}, next[0][t], next[1][t])
			}
		}
	}
	// The output: the last layer's states along the time axis.
	one := Shape{batch, 1, dirs * hid}
	if !r.BatchFirst {
		one = Shape{1, batch, dirs * hid}
	}
	for t := range inputs {
		inputs[t] = b.add(OpReshape, Attrs{To: one}, inputs[t])
	}
	out = b.add(OpConcat, Attrs{Axis: timeAxis}, inputs...)
	state := Shape{batch, 1, hid} // one row of the states
	if !r.BatchFirst {
		state = Shape{1, batch, hid}
	}
	h = b.stack(lastH, state, layerAxis)
	if r.Cell == LSTM {
		c = b.stack(lastC, state, layerAxis)
	}
	return out, h, c, b.err
}

// builder adds values to a graph, keeping the first error.
type builder struct {
	g   *Graph
	err error
}

func (b *builder) add(op Op, attrs Attrs, args ...*Value) *Value {
	if b.err != nil {
		return nil
	}
	for _, a := range args {
		if a == nil {
			b.err = fmt.Errorf("%s: a missing argument", op)
			return nil
		}
	}
	v, err := b.g.Add(op, attrs, args...)
	if err != nil {
		b.err = err
	}
	return v
}

// stateOf is layer l's initial state [batch, hidden] of s, or nil (zeros).
func (b *builder) stateOf(s *Value, layerAxis, l, batch, hid int) *Value {
	if s == nil {
		return nil
	}
	sl := b.add(OpSlice, Attrs{Axis: layerAxis, Start: l, End: l + 1}, s)
	return b.add(OpReshape, Attrs{To: Shape{batch, hid}}, sl)
}

// linear is x·wᵀ + bias; x nil is zeros: the bias alone, or nil.
func (b *builder) linear(x, w, bias *Value) *Value {
	if x == nil {
		return bias
	}
	y := b.add(OpMatMul, Attrs{TransB: true}, x, w)
	if bias == nil {
		return y
	}
	return b.add(OpAdd, Attrs{}, y, bias)
}

// sum is a + b where nil is zero.
func (b *builder) sum(x, y *Value) *Value {
	if y == nil {
		return x
	}
	return b.add(OpAdd, Attrs{}, x, y)
}

// gru is nn.GRU's step, one gru_cell op: gh is nil or the bias alone
// where h is nil (a zero state).
func (b *builder) gru(gi, gh, h *Value) *Value {
	args := []*Value{gi}
	if gh != nil {
		args = append(args, gh)
		if h != nil {
			args = append(args, h)
		}
	}
	return b.add(OpGRUCell, Attrs{}, args...)
}

// lstm is nn.LSTM's step: s = gi + gh, then c' = lstm_cell(s, c) and h'
// = lstm_hidden(s, c').
func (b *builder) lstm(gi, gh, c *Value) (*Value, *Value) {
	s := b.sum(gi, gh)
	args := []*Value{s}
	if c != nil {
		args = append(args, c)
	}
	cNext := b.add(OpLSTMCell, Attrs{}, args...)
	return b.add(OpLSTMHidden, Attrs{}, s, cNext), cNext
}

// stack is the layers' states, each reshaped to one and concatenated
// along the layer axis.
func (b *builder) stack(states []*Value, one Shape, layerAxis int) *Value {
	var rows []*Value
	for _, s := range states {
		rows = append(rows, b.add(OpReshape, Attrs{To: one}, s))
	}
	return b.add(OpConcat, Attrs{Axis: layerAxis}, rows...)
}

// StateShape is the shape of the initial and final states for batch.
func (r Recurrent) StateShape(batch int) Shape {
	rows := r.Directions() * len(r.Layers)
	if r.BatchFirst {
		return Shape{batch, rows, r.Hidden}
	}
	return Shape{rows, batch, r.Hidden}
}

// CellGrad reports whether op is the gradient op of a recurrent cell,
// whose first argument is dy and whose Wrt names the cell's argument.
func CellGrad(op Op) bool {
	return op == OpGRUCellGrad || op == OpLSTMCellGrad || op == OpLSTMHiddenGrad
}

// cellShape: a recurrent cell op (gru_cell, lstm_cell, lstm_hidden) is
// [..., H], from its pre-activations [..., gates·H] and states [..., H];
// its gradient op, after dy [..., H], the cell's arguments, is shaped as
// argument Wrt over dy's leading axes (gru_cell's gh may be the bias
// alone, [3H]: its gradient per row is summed back by the autodiff).
func cellShape(v *Value) (Shape, error) {
	args, grad := v.Args, CellGrad(v.Op)
	if grad {
		args = v.Args[1:]
	}
	gates := 4
	if v.Op == OpGRUCell || v.Op == OpGRUCellGrad {
		gates = 3
	}
	s := args[0].Shape
	if len(s) == 0 || s[len(s)-1]%gates != 0 {
		return nil, fmt.Errorf("%s: want pre-activations [..., %d·hidden], got %v", v.Op, gates, s)
	}
	hid := s[len(s)-1] / gates
	lead := s[:len(s)-1]
	state := append(slices.Clone(lead), hid)
	for i, a := range args[1:] {
		want := state
		if (v.Op == OpGRUCell || v.Op == OpGRUCellGrad) && i == 0 {
			want = s
			if slices.Equal(a.Shape, Shape{s[len(s)-1]}) {
				continue // the bias alone, at a zero state
			}
		}
		if !slices.Equal(a.Shape, want) {
			return nil, fmt.Errorf("%s: argument %d is %v, want %v beside pre-activations %v", v.Op, i+2, a.Shape, want, s)
		}
	}
	if v.Op == OpLSTMHidden || v.Op == OpLSTMHiddenGrad {
		if len(args) != 2 {
			return nil, fmt.Errorf("%s: want the pre-activations and the new cell state", v.Op)
		}
	}
	if !grad {
		return state, nil
	}
	if !slices.Equal(v.Args[0].Shape, state) {
		return nil, fmt.Errorf("%s: dy is %v, want %v", v.Op, v.Args[0].Shape, state)
	}
	if v.Wrt < 0 || v.Wrt >= len(args) {
		return nil, fmt.Errorf("%s: no argument %d among %d", v.Op, v.Wrt, len(args))
	}
	a := args[v.Wrt].Shape
	return append(slices.Clone(lead), a[len(a)-1]), nil
}
