package passes

import (
	"errors"
	"fmt"

	"github.com/nngen/nngen/ir"
)

// autodiff derives dLoss/dParam for every parameter by one reverse walk over
// the schedule, applying the rule of each value's op (see gradRules) to the
// gradient flowing into it. Gradients reaching a value along several paths
// are summed. Gradients nobody needs (the input's) are left to deadcode.
func autodiff(g *ir.Graph, _ Options) (err error) {
	if g.Loss == nil {
		return nil
	}
	b := &builder{g: g, phase: ir.Backward}
	defer b.recover(&err)

	forward := append([]*ir.Value(nil), g.Values...)
	one := b.constant(1)
	grads := map[*ir.Value]*ir.Value{g.Loss: one}
	for i := len(forward) - 1; i >= 0; i-- {
		v := forward[i]
		dv := grads[v]
		if dv == nil || ir.IsLeaf(v.Op) {
			continue
		}
		rule, ok := ruleFor(v.Op)
		if !ok {
			return fmt.Errorf("%s: no gradient rule for %s", v.Pos, v.Op)
		}
		for j, da := range rule(b, v, dv) {
			if da == nil {
				continue
			}
			a := v.Args[j]
			if a.DType == ir.Int || a.Op == ir.OpConst || a.Op == ir.OpBuffer {
				continue // indices, constants and buffers take no gradient
			}
			da = fitTo(b, da, a)
			if da.Name == "" && a.Name != "" {
				da.Name = "d" + a.Name
			}
			if prev := grads[a]; prev != nil {
				da = b.add(ir.OpAdd, ir.Attrs{}, prev, da)
			}
			grads[a] = da
		}
	}
	var errs []error
	for _, p := range g.Params() {
		if p.Grad = grads[p]; p.Grad == nil {
			errs = append(errs, ir.Errorf(p.Pos, "%s does not affect the loss, so it would get no gradient; train only what the loss depends on", p.Name))
		}
	}
	return errors.Join(errs...)
}

// builder appends values for passes that derive new code. Its rules work on
// graphs that already verified, so a shape error here is a bug in a rule: it
// panics, and recover turns that into the pass's error.
type builder struct {
	g     *ir.Graph
	phase ir.Phase
}

type ruleError struct{ err error }

func (b *builder) add(op ir.Op, attrs ir.Attrs, args ...*ir.Value) *ir.Value {
	v, err := b.g.Add(op, attrs, args...)
	if err != nil {
		panic(ruleError{fmt.Errorf("building %s: %w", op, err)})
	}
	v.Phase = max(v.Phase, b.phase)
	return v
}

// constant is a scalar constant of the builder's phase.
func (b *builder) constant(x float64) *ir.Value {
	c := b.g.Leaf(ir.OpConst, "", ir.Shape{}, ir.Attrs{Value: x})
	c.Phase = b.phase
	return c
}

func (b *builder) recover(err *error) {
	if r := recover(); r != nil {
		re, ok := r.(ruleError)
		if !ok {
			panic(r)
		}
		*err = re.err
	}
}
