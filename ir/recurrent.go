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
					hPrev = b.gru(gi, gh, hPrev, hid)
				case LSTM:
					hPrev, cPrev = b.lstm(gi, gh, cPrev, hid)
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

// gates is rows k·hid to (k+n)·hid along the last axis of v (nil stays nil).
func (b *builder) gates(v *Value, k, n, hid int) *Value {
	if v == nil {
		return nil
	}
	return b.add(OpSlice, Attrs{Axis: len(v.Shape) - 1, Start: k * hid, End: (k + n) * hid}, v)
}

// gru is nn.GRU's step: r, z = σ(gi_rz + gh_rz), n = tanh(gi_n + r·gh_n),
// h' = (1-z)·n + z·h, written n + z·(h - n), and n - z·n for h = 0.
func (b *builder) gru(gi, gh, h *Value, hid int) *Value {
	rz := b.add(OpSigmoid, Attrs{}, b.sum(b.gates(gi, 0, 2, hid), b.gates(gh, 0, 2, hid)))
	r, z := b.gates(rz, 0, 1, hid), b.gates(rz, 1, 1, hid)
	n := b.gates(gi, 2, 1, hid)
	if ghn := b.gates(gh, 2, 1, hid); ghn != nil {
		n = b.add(OpAdd, Attrs{}, n, b.add(OpMul, Attrs{}, r, ghn))
	}
	n = b.add(OpTanh, Attrs{}, n)
	if h == nil {
		return b.add(OpSub, Attrs{}, n, b.add(OpMul, Attrs{}, z, n))
	}
	return b.add(OpAdd, Attrs{}, n, b.add(OpMul, Attrs{}, z, b.add(OpSub, Attrs{}, h, n)))
}

// lstm is nn.LSTM's step: i, f, g, o from the gates (σ, σ, tanh, σ),
// c' = f·c + i·g, h' = o·tanh(c').
func (b *builder) lstm(gi, gh, c *Value, hid int) (*Value, *Value) {
	s := b.sum(gi, gh)
	ifg := b.add(OpSigmoid, Attrs{}, b.gates(s, 0, 2, hid))
	i, f := b.gates(ifg, 0, 1, hid), b.gates(ifg, 1, 1, hid)
	g := b.add(OpTanh, Attrs{}, b.gates(s, 2, 1, hid))
	o := b.add(OpSigmoid, Attrs{}, b.gates(s, 3, 1, hid))
	cNext := b.add(OpMul, Attrs{}, i, g)
	if c != nil {
		cNext = b.add(OpAdd, Attrs{}, b.add(OpMul, Attrs{}, f, c), cNext)
	}
	return b.add(OpMul, Attrs{}, o, b.add(OpTanh, Attrs{}, cNext)), cNext
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
