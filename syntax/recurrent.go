package syntax

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// recurrentOps are the recurrent layers, each returning its sequence
// output and final states: out, h = gru(...), out, h, c = lstm(...).
var recurrentOps = map[string]ir.Cell{"gru": ir.GRU, "lstm": ir.LSTM}

// lowerRecurrent lowers gru and lstm, PyTorch's nn.GRU and nn.LSTM:
//
//	rnn, h = gru(x, 8, num_layers=2, batch_first=true, bias=true, h0=h0)
//	rnn, h, c = lstm(x, 8, h0=h0, c0=c0)
//
// x is [batch, seq, in]: batch_first=true is the default here, as every
// .nn value has its batch axis in front, and batch_first=false (PyTorch's
// default) is an error. An optional in before the hidden size is checked
// against x. The parameters are named after the first
// name, in state_dict order: NAME.weight_ih_l0 [gates·hidden, in],
// NAME.weight_hh_l0 [gates·hidden, hidden], NAME.bias_ih_l0,
// NAME.bias_hh_l0, then l1, ..., all uniform in ±1/√hidden as in
// PyTorch. The states have the batch axis in front too, as every .nn
// value: h0, c0 and the final h and c are [batch, num_layers, hidden]
// (PyTorch's h.transpose(0, 1)); without a batch line, one sample's x
// is [seq, in] and its states [num_layers, hidden], as PyTorch's
// unbatched input. h0 and c0 are zeros when not given.
func (l *lowerer) lowerRecurrent(names []token, c call, cell ir.Cell) []*ir.Value {
	fn := cell.String()
	usage := fmt.Sprintf("%s(x, hidden) or %s(x, in, hidden)", fn, fn)
	allowed := []string{"num_layers", "batch_first", "bias", "bidirectional", "h0"}
	results := "out, h"
	if cell == ir.LSTM {
		allowed = append(allowed, "c0")
		results = "out, h, c"
	}
	args, ok := l.positional(c, 2, 3, usage)
	keywords, keywordsOK := l.keywords(c, allowed...)
	if !ok || !keywordsOK {
		return nil
	}
	if want := map[ir.Cell]int{ir.GRU: 2, ir.LSTM: 3}[cell]; len(names) != want {
		l.errorf(names[0].pos, "%s returns %d tensors, the sequence output and the final state%s: %s = %s(...); found %d names",
			fn, want, map[bool]string{true: "s", false: ""}[cell == ir.LSTM], results, fn, len(names))
		return nil
	}
	name := names[0]
	x, settingsOK := l.valueArg(args[0], fn+"'s input")
	hidden, hiddenOK := l.sizeArg(args[len(args)-1], fn+"'s hidden size")
	declaredIn, inOK := 0, true
	if len(args) == 3 {
		declaredIn, inOK = l.sizeArg(args[1], fn+"'s input size")
	}
	settingsOK = settingsOK && hiddenOK && inOK
	layers := 1
	if a, ok := keywords["num_layers"]; ok {
		n, ok := l.sizeArg(a, fn+"'s num_layers")
		layers, settingsOK = n, settingsOK && ok
	}
	batchFirst, bias, bidirectional := true, true, false
	for _, flag := range []struct {
		key string
		dst *bool
	}{{"batch_first", &batchFirst}, {"bias", &bias}, {"bidirectional", &bidirectional}} {
		if a, ok := keywords[flag.key]; ok {
			*flag.dst, ok = l.boolArg(a)
			settingsOK = settingsOK && ok
		}
	}
	var states [2]*ir.Value
	for i, key := range []string{"h0", "c0"} {
		if a, ok := keywords[key]; ok {
			v, ok := l.valueArg(a, fn+"'s "+key)
			states[i], settingsOK = v, settingsOK && ok
		}
	}
	if !settingsOK {
		return nil
	}
	if a := keywords["batch_first"]; !batchFirst {
		l.errorf(a.value.pos, "%s: batch_first=false would need x as [seq, batch, in], but every .nn value keeps its batch axis first; x is [batch, seq, in]", name.text)
		return nil
	}
	if len(x.Shape) != 3 {
		l.errorf(args[0].value.pos, "%s's input %s must be [seq, in] per sample, found %v", fn, args[0].value.text, l.sampleShape(x.Shape))
		return nil
	}
	in, batch := x.Shape[2], x.Shape[0]
	if len(args) == 3 && declaredIn != in {
		l.errorf(args[1].value.pos, "%s: %s expects %d input features but %s has %d", name.text, fn, declaredIn, args[0].value.text, in)
		return nil
	}
	dirs := 1
	if bidirectional {
		dirs = 2
	}
	stateShape := ir.Shape{batch, dirs * layers, hidden}
	for i, s := range states {
		if key := []string{"h0", "c0"}[i]; s != nil && !slices.Equal(stateShape, s.Shape) {
			rows := "num_layers"
			if bidirectional {
				rows = "2·num_layers"
			}
			l.errorf(keywords[key].value.pos, "%s's %s %s must be [%s, hidden] = %v per sample, found %v", fn, key, keywords[key].value.text,
				rows, l.sampleShape(stateShape), l.sampleShape(s.Shape))
			return nil
		}
	}
	rows := cell.Gates() * hidden
	if !l.fits(name, name.text+".weight_ih_l0", ir.Shape{rows, max(in, dirs*hidden)}) || !l.fits(name, name.text, ir.Shape{x.Shape[0], x.Shape[1], dirs * hidden}) {
		return nil
	}
	r := ir.Recurrent{Cell: cell, Hidden: hidden, BatchFirst: batchFirst, H0: states[0], C0: states[1]}
	for k := range layers {
		layerIn := in
		if k > 0 {
			layerIn = dirs * hidden // the previous layer's states, both directions side by side
		}
		for dir := range dirs {
			suffix := fmt.Sprintf("_l%d", k) + []string{"", "_reverse"}[dir]
			var p ir.RecurrentLayer
			p.WeightIH = l.param(name, ".weight_ih"+suffix, ir.Shape{rows, layerIn})
			p.WeightHH = l.param(name, ".weight_hh"+suffix, ir.Shape{rows, hidden})
			if bias {
				p.BiasIH = l.param(name, ".bias_ih"+suffix, ir.Shape{rows})
				p.BiasHH = l.param(name, ".bias_hh"+suffix, ir.Shape{rows})
			}
			for _, w := range []*ir.Value{p.WeightIH, p.WeightHH, p.BiasIH, p.BiasHH} {
				if w != nil {
					w.FanIn = hidden // PyTorch: uniform in ±1/√hidden for every tensor
				}
			}
			if dir == 0 {
				r.Layers = append(r.Layers, p)
			} else {
				r.Reverse = append(r.Reverse, p)
			}
		}
	}
	out, h, cState, err := r.Build(l.g, x)
	if err != nil {
		l.errorf(c.fn.pos, "%s: %v", name.text, err)
		return nil
	}
	results2 := []*ir.Value{out, h, cState}[:len(names)]
	for i, v := range results2 {
		v.Name, v.Pos = names[i].text, names[i].pos
	}
	return results2
}
