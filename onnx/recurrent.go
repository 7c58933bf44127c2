package onnx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// onnxGates maps each of PyTorch's gate blocks to ONNX's: a GRU's r, z, n
// are ONNX's blocks 1, 0, 2 (z, r, h); an LSTM's i, f, g, o are ONNX's
// blocks 0, 2, 3, 1 (i, o, f, c).
var onnxGates = map[ir.Cell][]int{ir.GRU: {1, 0, 2}, ir.LSTM: {0, 2, 3, 1}}

// lowerRecurrent lowers GRU and LSTM as torch.onnx.export writes nn.GRU
// and nn.LSTM, one node per layer: X [seq, batch, in], the constants W
// [1, gates·H, in], R [1, gates·H, H] and B [1, 2·gates·H] in ONNX's gate
// order, an optional initial_h (and initial_c) [1, batch, H] of zeros or
// computed (a bidirectional node: [2, ...] of each, the reverse
// direction second). It becomes ir.Recurrent, the .nn front end's unrolled layer,
// with the parameters back in PyTorch's layout, gate order and names:
// MODULE.weight_ih_lK, weight_hh_lK, bias_ih_lK and bias_hh_lK (and
// the reverse direction's, with the suffix _reverse), where
// MODULE is the node's scope (node "/rnn/GRU_1" of module rnn) and K
// counts the scope's recurrent nodes in graph order (the exporter writes
// a multi-layer module's layers in order); a node without a scope takes
// W's name as MODULE. Only what PyTorch exports is read: forward or
// bidirectional, the default activations, no clip, layout 0, a GRU with
// linear_before_reset 1, an LSTM without peepholes or input_forget.
func lowerRecurrent(cell ir.Cell) rule {
	return func(l *lowerer, n *node) ([]*tensor, error) {
		gates := cell.Gates()
		most := map[ir.Cell]int{ir.GRU: 6, ir.LSTM: 8}[cell]
		if err := arity(n, 3, most); err != nil {
			return nil, err
		}
		if err := recurrentAttrs(n, cell); err != nil {
			return nil, err
		}
		x := n.in[0]
		d, err := exact(x, "X")
		if err != nil {
			return nil, err
		}
		if d != 0 || len(x.shape) != 3 {
			return nil, fmt.Errorf("X is %v; nngen reads [seq, batch, in] with a batch axis", x.shape)
		}
		steps, batch, in := x.shape[0], x.shape[1], x.shape[2]
		hidden, err := intAttr(n.NodeProto, "hidden_size", 0)
		if err != nil {
			return nil, err
		}
		h := int(hidden)
		dirs := 1
		if dir, _ := stringAttr(n.NodeProto, "direction", "forward"); dir == "bidirectional" {
			dirs = 2
		}
		w, r := n.in[1], n.in[2]
		if w.c == nil || r.c == nil || !slices.Equal(w.shape, []int{dirs, gates * h, in}) || !slices.Equal(r.shape, []int{dirs, gates * h, h}) {
			return nil, fmt.Errorf("W and R must be constants of shapes [%d, %d, %d] and [%d, %d, %d] (hidden_size %d), found %v and %v",
				dirs, gates*h, in, dirs, gates*h, h, h, w.shape, r.shape)
		}
		var bias *tensor
		if len(n.in) > 3 && n.in[3] != nil {
			bias = n.in[3]
			if bias.c == nil || !slices.Equal(bias.shape, []int{dirs, 2 * gates * h}) {
				return nil, fmt.Errorf("B must be a constant of shape [%d, %d], found %v", dirs, 2*gates*h, bias.shape)
			}
		}
		if len(n.in) > 4 && n.in[4] != nil {
			lens := n.in[4]
			if lens.c == nil || slices.ContainsFunc(lens.c.data, func(v float64) bool { return v != float64(steps) }) {
				return nil, fmt.Errorf("sequence_lens must be absent or the constant %d for every sample: nngen runs fixed sequences", steps)
			}
		}
		if len(n.in) > 7 && n.in[7] != nil {
			return nil, fmt.Errorf("peepholes (input P) are not supported; nn.LSTM has none")
		}
		layer := ir.Recurrent{Cell: cell, Hidden: h}
		for i, what := range []string{"initial_h", "initial_c"} {
			if i == 1 && cell == ir.GRU || len(n.in) <= 5+i || n.in[5+i] == nil {
				continue
			}
			s, err := l.initialState(n.in[5+i], what, []int{dirs, batch, h})
			if err != nil {
				return nil, err
			}
			if i == 0 {
				layer.H0 = s
			} else {
				layer.C0 = s
			}
		}
		module, k := l.recurrentModule(n, w.c.name)
		rows := gates * h
		for d := range dirs {
			suffix := fmt.Sprintf("_l%d", k) + []string{"", "_reverse"}[d]
			var p ir.RecurrentLayer
			if p.WeightIH, err = l.param(module+".weight_ih"+suffix, ir.Shape{rows, in}, reorderGates(w.c.data[d*rows*in:(d+1)*rows*in], cell)); err != nil {
				return nil, err
			}
			if p.WeightHH, err = l.param(module+".weight_hh"+suffix, ir.Shape{rows, h}, reorderGates(r.c.data[d*rows*h:(d+1)*rows*h], cell)); err != nil {
				return nil, err
			}
			if bias != nil {
				b := bias.c.data[d*2*rows : (d+1)*2*rows] // Wb, then Rb
				if p.BiasIH, err = l.param(module+".bias_ih"+suffix, ir.Shape{rows}, reorderGates(b[:rows], cell)); err != nil {
					return nil, err
				}
				if p.BiasHH, err = l.param(module+".bias_hh"+suffix, ir.Shape{rows}, reorderGates(b[rows:], cell)); err != nil {
					return nil, err
				}
			}
			for _, v := range []*ir.Value{p.WeightIH, p.WeightHH, p.BiasIH, p.BiasHH} {
				if v != nil {
					v.FanIn = h // PyTorch's init bound, 1/√hidden
				}
			}
			if d == 0 {
				layer.Layers = []ir.RecurrentLayer{p}
			} else {
				layer.Reverse = []ir.RecurrentLayer{p}
			}
		}
		out, hN, cN, err := layer.Build(l.g, x.v)
		if err != nil {
			return nil, err
		}
		// Y is [seq, num_directions, batch, hidden]; the layer's output
		// holds the directions side by side, [seq, batch, dirs·hidden].
		yShape := []int{steps, dirs, batch, h}
		var y *ir.Value
		if dirs == 1 {
			y, err = l.add(ir.OpReshape, ir.Attrs{To: irShape(0, yShape)}, out)
		} else if y, err = l.add(ir.OpReshape, ir.Attrs{To: irShape(0, []int{steps, batch, dirs, h})}, out); err == nil {
			y, err = l.add(ir.OpPermute, ir.Attrs{Perm: []int{0, 2, 1, 3}}, y)
		}
		if err != nil {
			return nil, err
		}
		outs := []*tensor{{shape: yShape, v: y}, {shape: []int{dirs, batch, h}, v: hN}}
		if cell == ir.LSTM {
			outs = append(outs, &tensor{shape: []int{dirs, batch, h}, v: cN})
		}
		for _, t := range outs {
			t.v.Pos = l.pos
		}
		return outs, nil
	}
}

// recurrentAttrs refuses the attributes whose meaning PyTorch never
// exports.
func recurrentAttrs(n *node, cell ir.Cell) error {
	if dir, err := stringAttr(n.NodeProto, "direction", "forward"); err != nil || dir != "forward" && dir != "bidirectional" {
		return fmt.Errorf("direction %q is not supported; nngen runs forward and bidirectional layers, as PyTorch exports them", dir)
	}
	if layout, err := intAttr(n.NodeProto, "layout", 0); err != nil || layout != 0 {
		return fmt.Errorf("layout %d is not supported; torch.onnx.export writes layout 0 ([seq, batch, ...]) with Transposes around", layout)
	}
	if attr(n.NodeProto, "clip") != nil || attr(n.NodeProto, "activation_alpha") != nil || attr(n.NodeProto, "activation_beta") != nil {
		return fmt.Errorf("clip, activation_alpha and activation_beta are not supported; PyTorch exports none")
	}
	if a := attr(n.NodeProto, "activations"); a != nil {
		want := map[ir.Cell][]string{ir.GRU: {"Sigmoid", "Tanh"}, ir.LSTM: {"Sigmoid", "Tanh", "Tanh"}}[cell]
		var got []string
		for _, s := range a.GetStrings() {
			got = append(got, string(s))
		}
		if !slices.EqualFunc(got, want, strings.EqualFold) {
			return fmt.Errorf("activations %v are not supported; nngen computes the default %v", got, want)
		}
	}
	switch cell {
	case ir.GRU:
		if v, err := intAttr(n.NodeProto, "linear_before_reset", 0); err != nil || v != 1 {
			return fmt.Errorf("linear_before_reset 0 is not supported; PyTorch's GRU (linear_before_reset 1) applies the reset gate after the hidden state's linear map")
		}
	case ir.LSTM:
		if v, err := intAttr(n.NodeProto, "input_forget", 0); err != nil || v != 0 {
			return fmt.Errorf("input_forget is not supported; nn.LSTM has none")
		}
	}
	return nil
}

// initialState reads initial_h or initial_c: nil for a constant of zeros
// (what an export without one writes), else a computed [1, batch, hidden].
func (l *lowerer) initialState(t *tensor, what string, shape []int) (*ir.Value, error) {
	if !slices.Equal(t.shape, shape) {
		return nil, fmt.Errorf("%s is %v; nngen reads %v", what, t.shape, shape)
	}
	if t.c != nil {
		if slices.ContainsFunc(t.c.data, func(v float64) bool { return v != 0 }) {
			return nil, fmt.Errorf("%s is a constant other than zeros; nngen takes zeros or a computed state", what)
		}
		return nil, nil
	}
	if _, err := exact(t, what); err != nil {
		return nil, err
	}
	if lead(t) != 0 {
		return nil, fmt.Errorf("%s is %v with a leading axis; nngen reads %v", what, t.v.Shape, shape)
	}
	return t.v, nil
}

// recurrentModule is the PyTorch module a recurrent node belongs to, and
// its layer's index: the node's scope ("/rnn/GRU_1": rnn) and how many
// recurrent nodes of that scope came before it; w's name without one.
func (l *lowerer) recurrentModule(n *node, w string) (string, int) {
	module := w
	if scope := strings.Split(n.GetName(), "/"); len(scope) >= 3 && scope[len(scope)-2] != "" {
		module = scope[len(scope)-2]
	}
	k := l.recurrentLayers[module]
	l.recurrentLayers[module] = k + 1
	return module, k
}

// reorderGates rearranges the gate blocks of hidden rows of an ONNX
// weight or bias into PyTorch's order.
func reorderGates(data []float64, cell ir.Cell) []float64 {
	gates := onnxGates[cell]
	block := len(data) / len(gates)
	out := make([]float64, 0, len(data))
	for _, g := range gates {
		out = append(out, data[g*block:(g+1)*block]...)
	}
	return out
}
