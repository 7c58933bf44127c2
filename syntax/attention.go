package syntax

import (
	"math"

	"github.com/nngen/nngen/ir"
)

// attention holds what multihead_attention and transformer_encoder_layer
// share: nn.MultiheadAttention's settings, self-attention over x [batch,
// seq, embed_dim] with batch_first=True and need_weights=False.
type attention struct {
	embed, heads int
	causal, bias bool
	dropout      float64   // on the attention weights, as PyTorch's dropout_p
	padding      *ir.Value // key_padding_mask: [batch, seq], added to the scores
	// The parameters, in state_dict order: in_proj_weight [3E, E],
	// in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E].
	inW, inB, outW, outB *ir.Value
}

// attentionParams declares the parameters of nn.MultiheadAttention named
// prefix, drawn as its _reset_parameters draws them.
func (l *lowerer) attentionParams(prefix token, a *attention) {
	e := a.embed
	a.inW = l.param(prefix, ".in_proj_weight", ir.Shape{3 * e, e})
	a.inW.Init = ir.InitXavierUniform
	if a.bias {
		a.inB = l.param(prefix, ".in_proj_bias", ir.Shape{3 * e})
		a.inB.Init = ir.InitZeros
	}
	a.outW = l.param(prefix, ".out_proj.weight", ir.Shape{e, e})
	a.outW.FanIn = e // nn.Linear's default
	if a.bias {
		a.outB = l.param(prefix, ".out_proj.bias", ir.Shape{e})
		a.outB.Init = ir.InitZeros
	}
}

// selfAttention lowers F.multi_head_attention_forward(x, x, x) as PyTorch
// 1.13 computes it in training: the packed projection, the heads, q scaled
// by 1/√head_dim before q·kᵀ, the masks added, softmax, dropout of the
// weights, ·v, the heads joined and the output projection. name names the
// result; prefix the attention weights' dropout (prefix.attn_dropout).
func (l *lowerer) selfAttention(name, prefix token, x *ir.Value, a *attention) *ir.Value {
	at := token{pos: name.pos}
	b, seq, e, h := x.Shape[0], x.Shape[1], a.embed, a.heads
	hd := e / h
	qkv := l.linearND(at, x, a.inW, a.inB) // [b, seq, 3e]
	if qkv == nil {
		return nil
	}
	heads := func(part int) *ir.Value {
		s := l.add(at, ir.OpSlice, ir.Attrs{Axis: 2, Start: part * e, End: (part + 1) * e}, qkv)
		r := l.add(at, ir.OpReshape, ir.Attrs{To: ir.Shape{b, seq, h, hd}}, s)
		return l.add(at, ir.OpPermute, ir.Attrs{Perm: []int{0, 2, 1, 3}}, r) // [b, h, seq, hd]
	}
	q, k, v := heads(0), heads(1), heads(2)
	q = l.add(at, ir.OpDiv, ir.Attrs{}, q, l.constant(math.Sqrt(float64(hd)), name.pos))
	scores := l.add(at, ir.OpMatMul, ir.Attrs{TransB: true}, q, k) // [b, h, seq, seq]
	if a.causal {
		scores = l.add(at, ir.OpCausalMask, ir.Attrs{}, scores)
	}
	if a.padding != nil {
		m := l.add(at, ir.OpReshape, ir.Attrs{To: ir.Shape{b, 1, 1, seq}}, a.padding)
		scores = l.add(at, ir.OpAdd, ir.Attrs{}, scores, m)
	}
	weights := l.add(at, ir.OpSoftmax, ir.Attrs{}, scores)
	weights = l.dropoutOf(token{text: prefix.text + ".attn_dropout", pos: name.pos}, weights, a.dropout, false)
	o := l.add(at, ir.OpMatMul, ir.Attrs{}, weights, v)               // [b, h, seq, hd]
	o = l.add(at, ir.OpPermute, ir.Attrs{Perm: []int{0, 2, 1, 3}}, o) // [b, seq, h, hd]
	o = l.add(at, ir.OpReshape, ir.Attrs{To: ir.Shape{b, seq, e}}, o)
	return l.linearND(name, o, a.outW, a.outB)
}

// dropoutOf is x·dropout_mask(x) named name (its mask name.mask, which the
// DropoutMasks hook knows by name), or x itself for p = 0; named says
// whether the product takes the name too.
func (l *lowerer) dropoutOf(name token, x *ir.Value, p float64, named bool) *ir.Value {
	if x == nil || p == 0 {
		return x
	}
	mask := l.add(token{pos: name.pos}, ir.OpDropoutMask, ir.Attrs{P: p}, x)
	if mask == nil {
		return nil
	}
	mask.Name = name.text + ".mask"
	if !named {
		name = token{pos: name.pos}
	}
	return l.add(name, ir.OpMul, ir.Attrs{}, x, mask)
}

// attentionSettings reads what multihead_attention and
// transformer_encoder_layer share: the input, the model width and heads
// (by position or keyword, under PyTorch's names), causal,
// key_padding_mask, dropout, batch_first. It reports misuse and returns
// false then.
func (l *lowerer) attentionSettings(c call, args []arg, keywords map[string]arg, widthKey, headsKey string, a *attention) (*ir.Value, bool) {
	fn := c.fn.text
	x, xOK := l.valueArg(args[0], fn+"'s input")
	ok := xOK
	sizes := []*int{&a.embed, &a.heads}
	for i, key := range []string{widthKey, headsKey} {
		v, given, vOK := l.optionalArg(c, args, i+1, keywords, key)
		switch {
		case !vOK:
			ok = false
		case !given:
			l.errorf(c.fn.pos, "%s needs %s", fn, key)
			ok = false
		default:
			n, nOK := l.sizeArg(v, fn+"'s "+key)
			*sizes[i], ok = n, ok && nOK
		}
	}
	for key, dst := range map[string]*bool{"causal": &a.causal, "bias": &a.bias} {
		if v, given := keywords[key]; given {
			b, bOK := l.boolArg(v)
			*dst, ok = b, ok && bOK
		}
	}
	if v, given := keywords["batch_first"]; given {
		if b, bOK := l.boolArg(v); bOK && !b {
			l.errorf(v.value.pos, "%s takes batch_first=true only: nngen's values have the batch axis first", fn)
			ok = false
		} else if !bOK {
			ok = false
		}
	}
	if v, given := keywords["dropout"]; given {
		p, pOK := l.number(v, "dropout")
		if pOK && !(p >= 0 && p <= 1) {
			l.errorf(v.value.pos, "dropout must be a probability from 0 to 1, found %s", v)
			pOK = false
		}
		a.dropout, ok = p, ok && pOK
	}
	if !ok {
		return nil, false
	}
	if a.embed%a.heads != 0 {
		l.errorf(c.fn.pos, "%s: %s %d is not divisible by %s %d", fn, widthKey, a.embed, headsKey, a.heads)
		return nil, false
	}
	if len(x.Shape) != 3 || x.Shape[2] != a.embed {
		l.errorf(args[0].value.pos, "%s's input %s must be [seq, %d] per sample (batch_first), found %v", fn, args[0].value.text, a.embed, l.sampleShape(x.Shape))
		return nil, false
	}
	if v, given := keywords["key_padding_mask"]; given {
		m, mOK := l.valueArg(v, fn+"'s key_padding_mask")
		if !mOK {
			return nil, false
		}
		if len(m.Shape) != 2 || m.Shape[0] != x.Shape[0] || m.Shape[1] != x.Shape[1] {
			l.errorf(v.value.pos, "%s's key_padding_mask %s must be [%d] per sample (one number per key), found %v", fn, v.value.text, x.Shape[1], l.sampleShape(m.Shape))
			return nil, false
		}
		a.padding = m
	}
	return x, true
}

// lowerMultiheadAttention lowers multihead_attention(x, embed_dim=E,
// num_heads=H, ...), nn.MultiheadAttention(E, H, dropout, bias,
// batch_first=True) called as self-attention with need_weights=False:
// a(x, x, x, attn_mask=causal mask, key_padding_mask=m)[0].
func lowerMultiheadAttention(l *lowerer, name token, c call) *ir.Value {
	usage := "multihead_attention(x, embed_dim=16, num_heads=2)"
	args, ok := l.positional(c, 1, 3, usage)
	keywords, keywordsOK := l.keywords(c, "embed_dim", "num_heads", "causal", "key_padding_mask", "bias", "batch_first", "dropout")
	if !ok || !keywordsOK {
		return nil
	}
	if name.text == "" {
		l.errorf(c.fn.pos, "multihead_attention must be the whole right-hand side of an assignment, which names its parameters: a = %s", usage)
		return nil
	}
	a := &attention{bias: true}
	x, ok := l.attentionSettings(c, args, keywords, "embed_dim", "num_heads", a)
	if !ok || !l.fits(name, name.text+".in_proj_weight", ir.Shape{3 * a.embed, a.embed}) {
		return nil
	}
	l.attentionParams(name, a)
	return l.selfAttention(name, name, x, a)
}

// lowerEncoderLayer lowers transformer_encoder_layer(x, d_model=D,
// nhead=H, ...), nn.TransformerEncoderLayer(D, H, dim_feedforward,
// dropout, activation, layer_norm_eps, batch_first=True, norm_first) in
// PyTorch 1.13's order of operations, causal giving it the square
// subsequent mask as src_mask:
//
//	norm_first: x = x + sa(norm1(x)); x = x + ff(norm2(x))
//	otherwise:  x = norm1(x + sa(x)); x = norm2(x + ff(x))
//
// with sa(x) = dropout1(self_attn(x)) and ff(x) =
// dropout2(linear2(dropout(activation(linear1(x))))).
func lowerEncoderLayer(l *lowerer, name token, c call) *ir.Value {
	usage := "transformer_encoder_layer(x, d_model=16, nhead=2)"
	args, ok := l.positional(c, 1, 3, usage)
	keywords, keywordsOK := l.keywords(c, "d_model", "nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps",
		"norm_first", "causal", "key_padding_mask", "bias", "batch_first")
	if !ok || !keywordsOK {
		return nil
	}
	if name.text == "" {
		l.errorf(c.fn.pos, "transformer_encoder_layer must be the whole right-hand side of an assignment, which names its parameters: t = %s", usage)
		return nil
	}
	// nn.TransformerEncoderLayer's defaults; its bias is 1.13's (always).
	a := &attention{bias: true, dropout: 0.1}
	ff, activation, eps, normFirst := 2048, "relu", 1e-5, false
	ok = true
	if v, given := keywords["bias"]; given {
		l.errorf(v.key.pos, "transformer_encoder_layer has no argument bias in PyTorch 1.13: its layers always have biases")
		ok = false
	}
	if v, given := keywords["dim_feedforward"]; given {
		n, nOK := l.sizeArg(v, "dim_feedforward")
		ff, ok = n, ok && nOK
	}
	if v, given := keywords["activation"]; given {
		s, sOK := l.choice(v, "relu", "gelu")
		activation, ok = s, ok && sOK
	}
	if v, given := keywords["layer_norm_eps"]; given {
		f, fOK := l.number(v, "layer_norm_eps")
		if fOK && !(f > 0 && !math.IsInf(f, 1)) {
			l.errorf(v.value.pos, "layer_norm_eps must be a positive finite number, found %s", v)
			fOK = false
		}
		eps, ok = f, ok && fOK
	}
	if v, given := keywords["norm_first"]; given {
		b, bOK := l.boolArg(v)
		normFirst, ok = b, ok && bOK
	}
	x, xOK := l.attentionSettings(c, args, keywords, "d_model", "nhead", a)
	if !ok || !xOK || !l.fits(name, name.text+".linear1.weight", ir.Shape{ff, a.embed}) ||
		!l.fits(name, name.text, ir.Shape{x.Shape[0], x.Shape[1], ff}) {
		return nil
	}
	d := a.embed
	sub := func(s string) token { return token{text: name.text + "." + s, pos: name.pos} }
	// The parameters in state_dict order: self_attn, linear1, linear2,
	// norm1, norm2.
	l.attentionParams(sub("self_attn"), a)
	w1, b1 := l.param(name, ".linear1.weight", ir.Shape{ff, d}), l.param(name, ".linear1.bias", ir.Shape{ff})
	w2, b2 := l.param(name, ".linear2.weight", ir.Shape{d, ff}), l.param(name, ".linear2.bias", ir.Shape{d})
	w1.FanIn, b1.FanIn, w2.FanIn, b2.FanIn = d, d, ff, ff
	norm := func(i string) (*ir.Value, *ir.Value) {
		w, b := l.param(name, ".norm"+i+".weight", ir.Shape{d}), l.param(name, ".norm"+i+".bias", ir.Shape{d})
		w.Init, b.Init = ir.InitOnes, ir.InitZeros
		return w, b
	}
	n1w, n1b := norm("1")
	n2w, n2b := norm("2")
	at := token{pos: name.pos}
	layerNorm := func(x, w, b *ir.Value) *ir.Value {
		return l.add(at, ir.OpLayerNorm, ir.Attrs{Axes: []int{2}, Eps: eps}, x, w, b)
	}
	sa := func(x *ir.Value) *ir.Value {
		y := l.selfAttention(at, sub("self_attn"), x, a)
		return l.dropoutOf(sub("dropout1"), y, a.dropout, false)
	}
	act := ir.OpReLU
	if activation == "gelu" {
		act = ir.OpGELU
	}
	feedForward := func(x *ir.Value) *ir.Value {
		h := l.add(at, act, ir.Attrs{}, l.linearND(at, x, w1, b1))
		h = l.dropoutOf(sub("dropout"), h, a.dropout, false)
		y := l.linearND(at, h, w2, b2)
		return l.dropoutOf(sub("dropout2"), y, a.dropout, false)
	}
	var y *ir.Value
	if normFirst {
		y = l.add(at, ir.OpAdd, ir.Attrs{}, x, sa(layerNorm(x, n1w, n1b)))
		y = l.add(name, ir.OpAdd, ir.Attrs{}, y, feedForward(layerNorm(y, n2w, n2b)))
	} else {
		y = layerNorm(l.add(at, ir.OpAdd, ir.Attrs{}, x, sa(x)), n1w, n1b)
		y = l.add(at, ir.OpAdd, ir.Attrs{}, y, feedForward(y))
		y = l.add(name, ir.OpLayerNorm, ir.Attrs{Axes: []int{2}, Eps: eps}, y, n2w, n2b)
	}
	return y
}
