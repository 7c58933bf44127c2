package syntax

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// lowerLinear lowers linear(x, out) and linear(x, in, out), PyTorch's
// Linear(in, out): weight [out, in], bias [out], named as in its state_dict.
func lowerLinear(l *lowerer, name token, c call) *ir.Value {
	args, ok := l.positional(c, 2, 3, "linear(x, out) or linear(x, in, out)")
	keywords, keywordsOK := l.keywords(c, "bias")
	if !ok || !keywordsOK {
		return nil
	}
	x, xOK := l.valueArg(args[0], "linear's input")
	out, outOK := l.sizeArg(args[len(args)-1], "linear's output size")
	bias, biasOK := true, true
	if a, ok := keywords["bias"]; ok {
		var choice string
		choice, biasOK = l.choice(a, "true", "false")
		bias = choice == "true"
	}
	declaredIn, inOK := 0, true
	if len(args) == 3 {
		declaredIn, inOK = l.sizeArg(args[1], "linear's input size")
	}
	if !xOK || !outOK || !biasOK || !inOK {
		return nil
	}
	in := x.Shape[1] // every named value is an activation, [batch, features]
	if len(args) == 3 && declaredIn != in {
		l.errorf(args[1].value.pos, "%s: linear expects %d input features but %s has %d", name.text, declaredIn, args[0].value.text, in)
		return nil
	}
	if !l.fits(name, name.text+".weight", ir.Shape{out, in}) || !l.fits(name, name.text, ir.Shape{l.g.Batch, out}) {
		return nil
	}
	// Parameters come before their layer, in state_dict order.
	operands := []*ir.Value{x, l.param(name, ".weight", ir.Shape{out, in})}
	if bias {
		operands = append(operands, l.param(name, ".bias", ir.Shape{out}))
	}
	return l.add(name, ir.OpLinear, ir.Attrs{}, operands...)
}

// activation lowers an elementwise op of one value, such as sigmoid(x).
func activation(op ir.Op) layerRule {
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 1, 1, string(op)+"(x)")
		if _, keywordsOK := l.keywords(c); !ok || !keywordsOK {
			return nil
		}
		x, ok := l.valueArg(args[0], string(op)+"'s input")
		if !ok {
			return nil
		}
		return l.add(name, op, ir.Attrs{}, x)
	}
}

func (l *lowerer) param(layer token, suffix string, shape ir.Shape) *ir.Value {
	p := l.g.Leaf(ir.OpParam, layer.text+suffix, shape, ir.Attrs{})
	p.Pos = layer.pos
	return p
}

func (l *lowerer) add(name token, op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
	v, err := l.g.Add(op, attrs, args...)
	if err != nil {
		l.errorf(name.pos, "%s: %v", name.text, err)
		return nil
	}
	v.Name, v.Pos = name.text, name.pos
	return v
}

// positional returns a call's positional arguments, if their number is
// between least and most.
func (l *lowerer) positional(c call, least, most int, usage string) ([]arg, bool) {
	var args []arg
	for _, a := range c.args {
		if !a.isKeyword() {
			args = append(args, a)
		}
	}
	if most == 0 && len(args) > 0 {
		l.errorf(args[0].value.pos, "%s takes keyword arguments only, as in %s; found %s", c.fn.text, usage, args[0])
		return nil, false
	}
	if len(args) < least || len(args) > most {
		count := fmt.Sprint(least)
		if most > least {
			count += fmt.Sprintf(" or %d", most)
		}
		plural := "s"
		if most == 1 {
			plural = ""
		}
		l.errorf(c.fn.pos, "%s takes %s argument%s, as in %s; got %d", c.fn.text, count, plural, usage, len(args))
		return nil, false
	}
	return args, true
}

// keywords returns a call's keyword arguments, reporting any not allowed.
func (l *lowerer) keywords(c call, allowed ...string) (map[string]arg, bool) {
	found := map[string]arg{}
	ok := true
	for _, a := range c.args {
		key := a.key
		switch {
		case !a.isKeyword():
			continue
		case found[key.text].isKeyword():
			l.errorf(key.pos, "duplicate argument %s", key.text)
		case len(allowed) == 0:
			l.errorf(key.pos, "%s takes no keyword arguments, found %s", c.fn.text, key)
		case !slices.Contains(allowed, key.text):
			if s := closest(key.text, allowed, nil); s != "" {
				l.errorf(key.pos, "%s has no argument %s; did you mean %q?", c.fn.text, key, s)
			} else {
				l.errorf(key.pos, "%s has no argument %s (it takes: %s)", c.fn.text, key, strings.Join(allowed, ", "))
			}
		default:
			found[key.text] = a
			continue
		}
		ok = false
	}
	return found, ok
}

// valueArg resolves an argument that names a value.
func (l *lowerer) valueArg(a arg, what string) (*ir.Value, bool) {
	if a.value.kind != identifier || a.declares() {
		l.errorf(a.value.pos, "%s must be a value name, found %s", what, a)
		return nil, false
	}
	return l.lookup(a.value)
}

func (l *lowerer) sizeArg(a arg, what string) (int, bool) {
	if a.declares() {
		l.errorf(a.value.pos, "%s must be an integer from 1 to %d, found %s", what, maxDim, a)
		return 0, false
	}
	return l.size(a.value, what)
}

// choice reads a keyword argument whose value is one of a few words.
func (l *lowerer) choice(a arg, choices ...string) (string, bool) {
	if !slices.Contains(choices, a.value.text) || a.value.kind != identifier {
		l.errorf(a.value.pos, "%s must be %s, found %s", a.key.text, alternatives(choices), a.value)
		return "", false
	}
	return a.value.text, true
}
