package onnx

import (
	"fmt"

	"github.com/nngen/nngen/onnx/onnxpb"
)

// lowerIf lowers an If whose condition is a constant, as the shape
// arithmetic of a dynamic export makes it once every shape is fixed:
// torch.onnx.export writes x.squeeze(d) of a dimension it cannot see as
// If(size == 1, Squeeze, Identity). The branch taken is lowered in place,
// its nodes reading the enclosing graph's values by name, and its outputs
// become the If's. A condition computed from the data is refused: the
// generated code has no branches.
func (l *lowerer) lowerIf(n *node) {
	p := n.NodeProto
	fail := func(format string, args ...any) {
		l.nodeErrorf(n, format, args...)
		l.poison(p)
	}
	if len(p.GetInput()) != 1 {
		fail("If takes 1 input (the condition), got %d", len(p.GetInput()))
		return
	}
	cond, defined := l.values[p.GetInput()[0]]
	switch {
	case !defined:
		fail("input %s is not defined before the node; nngen reads nodes in the file's order", quote(p.GetInput()[0]))
		return
	case cond == nil:
		l.poison(p) // its producer failed, and said why
		return
	case cond.c == nil:
		fail("the condition is computed from the data; nngen generates code without branches and takes an If only when its condition is a constant (from shapes)")
		return
	case len(cond.c.data) != 1:
		fail("the condition has %d elements, not 1", len(cond.c.data))
		return
	}
	name := "else_branch"
	if cond.c.data[0] != 0 {
		name = "then_branch"
	}
	a := attr(p, name)
	if a == nil || a.GetG() == nil {
		fail("no %s graph", name)
		return
	}
	branch := a.GetG()
	if len(branch.GetOutput()) != len(p.GetOutput()) {
		fail("%s has %d outputs, the node %d", name, len(branch.GetOutput()), len(p.GetOutput()))
		return
	}
	if err := l.branchInitializers(branch); err != nil {
		fail("%s: %v", name, err)
		return
	}
	for _, q := range branch.GetNode() {
		l.node(n.index, q)
	}
	for i, out := range branch.GetOutput() {
		t, ok := l.values[out.GetName()]
		if !ok {
			fail("%s's output %s is not computed in it", name, quote(out.GetName()))
			return
		}
		if t == nil {
			l.poison(p)
			return
		}
		if o := p.GetOutput()[i]; o != "" {
			l.define(n, o, t)
		}
	}
}

// branchInitializers defines the constants a branch holds.
func (l *lowerer) branchInitializers(g *onnxpb.GraphProto) error {
	for _, t := range g.GetInitializer() {
		if _, dup := l.values[t.GetName()]; dup {
			return fmt.Errorf("initializer %s is already defined", quote(t.GetName()))
		}
		c, err := initializer(t)
		if err != nil {
			return err
		}
		l.values[t.GetName()] = c
	}
	return nil
}
