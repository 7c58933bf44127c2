package onnx

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// torch.onnx.export writes nn.EmbeddingBag(mode="mean" or "sum") of 2-D
// ids [B, L] as a Loop over the bags:
//
//	flat = Reshape(ids, [-1])
//	offsets = [0, L, 2L, ...] (Range of the shapes, or a constant), ends = offsets[1:] and B·L
//	Loop(trip count B, cond true) body(i, cond):
//	    bag = Slice(flat, Unsqueeze(Gather(offsets, i)), Unsqueeze(Gather(ends, i)), [0])
//	    y = ReduceMean or ReduceSum(Gather(weight, bag), axes [0], keepdims 0)
//	    return Cast(true), y
//
// The trip count and offsets are shape arithmetic, constants once the
// shapes are fixed; the bags are then rows of the ids, and the Loop is
// nngen's embedding bag over the ids [B, L] (ir.OpEmbedding with a
// Reduction), the table a parameter named as its initializer. lowerLoop
// recognizes exactly this: any other Loop is refused, saying what it
// found.

// loopSupported ends the messages about a Loop that is not this one.
const loopSupported = `nngen takes a Loop only as torch.onnx.export writes nn.EmbeddingBag(mode="mean" or "sum") of 2-D ids: a constant trip count, no loop-carried values, and a body that Gathers the table's rows of the flattened ids [offsets[i], offsets[i+1]) and reduces them with ReduceMean or ReduceSum over axis 0, each bag a row of the ids`

// loopValue is what a name stands for inside the body: a constant or a
// tensor of the enclosing graph (t), or a value that depends on the
// iteration.
type loopValue struct {
	t *tensor

	iter bool // the iteration number, the body's first input
	// perIter: a scalar (or [1]) from a constant, one value per iteration.
	perIter []int
	shape   []int
	// bag: the slice [starts[i], ends[i]) of the flattened ids.
	starts, ends []int
	flat         string // the name of the sliced tensor
	// rows: the table's rows of the bag; reduced: their mean or sum.
	table   string
	bag     *loopValue
	reduced ir.Reduce
	rows    *loopValue
}

// lowerLoop lowers the Loop of an nn.EmbeddingBag export (above).
func (l *lowerer) lowerLoop(n *node) {
	p := n.NodeProto
	fail := func(format string, args ...any) {
		l.nodeErrorf(n, format+"; "+loopSupported, args...)
		l.poison(p)
	}
	in := p.GetInput()
	switch {
	case len(in) > 2:
		fail("the Loop carries %d value(s) from one iteration to the next (v_initial)", len(in)-2)
		return
	case len(in) < 2 || in[0] == "":
		fail("the Loop has no trip count")
		return
	case len(p.GetOutput()) != 1:
		fail("the Loop has %d outputs, not 1 (the bags' results)", len(p.GetOutput()))
		return
	}
	var trip, cond *tensor
	for i, name := range in {
		if name == "" {
			continue // no condition: true
		}
		t, defined := l.values[name]
		switch {
		case !defined:
			fail("input %s is not defined before the node; nngen reads nodes in the file's order", quote(name))
			return
		case t == nil:
			l.poison(p) // its producer failed, and said why
			return
		}
		if i == 0 {
			trip = t
		} else {
			cond = t
		}
	}
	count, err := ints(trip, "the trip count")
	if err != nil || len(count) != 1 || count[0] < 1 {
		fail("the trip count is not a positive constant (%v)", describeConstant(trip))
		return
	}
	if cond != nil && (cond.c == nil || len(cond.c.data) != 1 || cond.c.data[0] == 0) {
		fail("the condition is not the constant true (%v)", describeConstant(cond))
		return
	}
	a := attr(p, "body")
	if a == nil || a.GetG() == nil {
		fail("the Loop has no body")
		return
	}
	body := a.GetG()
	if len(body.GetInput()) != 2 || len(body.GetOutput()) != 2 {
		fail("the body takes %d inputs and gives %d outputs, not 2 and 2 (iteration and condition in, condition and the bag's result out)",
			len(body.GetInput()), len(body.GetOutput()))
		return
	}
	env := map[string]*loopValue{
		body.GetInput()[0].GetName(): {iter: true},
		body.GetInput()[1].GetName(): {t: &tensor{shape: []int{}, c: &constant{data: []float64{1}, integer: true}}},
	}
	for _, t := range body.GetInitializer() {
		c, err := initializer(t)
		if err != nil {
			fail("the body's %v", err)
			return
		}
		env[t.GetName()] = &loopValue{t: c}
	}
	for _, q := range body.GetNode() {
		poisoned, err := l.loopNode(n, q, env, count[0])
		if poisoned {
			l.poison(p)
			return
		}
		if err != nil {
			fail("the body's %s: %v", (&node{NodeProto: q, index: n.index}).describe(), err)
			return
		}
	}
	condOut, yOut := env[body.GetOutput()[0].GetName()], env[body.GetOutput()[1].GetName()]
	switch {
	case condOut == nil || condOut.t == nil || condOut.t.c == nil || len(condOut.t.c.data) != 1 || condOut.t.c.data[0] == 0:
		fail("the body's condition %s is not the constant true", quote(body.GetOutput()[0].GetName()))
		return
	case yOut == nil || yOut.reduced == 0:
		fail("the body's output %s is not a ReduceMean or ReduceSum of a Gather of the table's rows", quote(body.GetOutput()[1].GetName()))
		return
	}
	y, err := l.embeddingBag(n, count[0], yOut)
	if err != nil {
		fail("%v", err)
		return
	}
	l.define(n, p.GetOutput()[0], y)
}

// describeConstant says what a trip count or condition is, for messages.
func describeConstant(t *tensor) string {
	if t == nil || t.c == nil {
		return "computed from the data"
	}
	if len(t.c.data) > 4 {
		return fmt.Sprintf("a constant %v", t.shape)
	}
	return fmt.Sprintf("%v", t.c.data)
}

// loopNode evaluates one node of the body into env: shape arithmetic on
// constants is folded by the ordinary rules; Gather, Unsqueeze, Slice and
// the reductions are followed through the iteration as the idiom uses
// them. poisoned says an input's producer failed (and said why).
func (l *lowerer) loopNode(loop *node, q *onnxpb.NodeProto, env map[string]*loopValue, trips int) (poisoned bool, err error) {
	if !standard(q) {
		return false, fmt.Errorf("op %s.%s", printable(q.GetDomain()), printable(q.GetOpType()))
	}
	var args []*loopValue
	constant := true
	for _, name := range q.GetInput() {
		if name == "" {
			args = append(args, nil)
			continue
		}
		v, ok := env[name]
		if !ok {
			t, defined := l.values[name]
			switch {
			case !defined:
				return false, fmt.Errorf("input %s is not defined before the Loop", quote(name))
			case t == nil:
				return true, nil
			}
			v = &loopValue{t: t}
		}
		if v.t == nil || v.t.c == nil {
			constant = false
		}
		args = append(args, v)
	}
	define := func(v *loopValue) error {
		if len(q.GetOutput()) != 1 {
			return fmt.Errorf("%s has %d outputs, not 1", printable(q.GetOpType()), len(q.GetOutput()))
		}
		env[q.GetOutput()[0]] = v
		return nil
	}
	n := &node{NodeProto: q, index: loop.index}
	for _, a := range args {
		var t *tensor
		if a != nil {
			t = a.t
		}
		n.in = append(n.in, t)
	}
	op := q.GetOpType()
	if constant && foldable[op] {
		rule, _ := ruleFor(op)
		outs, err := rule(l, n)
		if err != nil {
			return false, err
		}
		for i, t := range outs {
			if t.c == nil {
				return false, fmt.Errorf("%s computes from the data", printable(op))
			}
			if i < len(q.GetOutput()) {
				env[q.GetOutput()[i]] = &loopValue{t: t}
			}
		}
		return false, nil
	}
	axis, err := intAttr(q, "axis", 0)
	if err != nil {
		return false, err
	}
	switch {
	case op == "Gather" && len(args) == 2 && axis == 0 && args[1] != nil && args[1].iter:
		// offsets[i]
		c := args[0]
		if c == nil || c.t == nil || c.t.c == nil || len(c.t.shape) != 1 {
			return false, fmt.Errorf("gathers element i of a tensor that is not a 1-D constant (the bags' offsets)")
		}
		vals, err := ints(c.t, "the offsets")
		if err != nil {
			return false, err
		}
		if len(vals) < trips {
			return false, fmt.Errorf("gathers element i of %d offsets, for %d iterations", len(vals), trips)
		}
		return false, define(&loopValue{perIter: vals[:trips], shape: []int{}})
	case op == "Unsqueeze" && len(args) >= 1 && args[0] != nil && args[0].perIter != nil && len(args[0].shape) == 0:
		axes, _, err := axesInput(n, l.opset, 13, 1)
		if err != nil {
			return false, err
		}
		if !slices.Equal(axes, []int{0}) && !slices.Equal(axes, []int{-1}) {
			return false, fmt.Errorf("unsqueezes an offset along axes %v, not [0]", axes)
		}
		return false, define(&loopValue{perIter: args[0].perIter, shape: []int{1}})
	case op == "Slice":
		return false, l.loopSlice(n, args, define)
	case op == "Gather" && len(args) == 2 && args[1] != nil && args[1].starts != nil:
		// the table's rows of the bag
		w := args[0]
		if w == nil || w.t == nil || w.t.c == nil || len(w.t.shape) != 2 || axis != 0 || l.initializers[w.t.c.name] != w.t {
			return false, fmt.Errorf("gathers the bag's ids from something other than a [rows, features] initializer along axis 0")
		}
		return false, define(&loopValue{table: w.t.c.name, bag: args[1], shape: slices.Clone(w.t.shape)})
	case (op == "ReduceMean" || op == "ReduceSum") && len(args) >= 1 && args[0] != nil && args[0].table != "":
		from := int64(18)
		if op == "ReduceSum" {
			from = 13
		}
		axes, given, err := axesInput(n, l.opset, from, 1)
		if err != nil {
			return false, err
		}
		keep, err := intAttr(q, "keepdims", 1)
		if err != nil {
			return false, err
		}
		if !given || !slices.Equal(axes, []int{0}) || keep != 0 {
			return false, fmt.Errorf("%s over axes %v (keepdims %d) of the bag's rows; nngen takes axes [0] with keepdims 0", op, axes, keep)
		}
		mode := ir.ReduceMean
		if op == "ReduceSum" {
			mode = ir.ReduceSum
		}
		return false, define(&loopValue{reduced: mode, rows: args[0]})
	case op == "ReduceMax" && len(args) >= 1 && args[0] != nil && args[0].table != "":
		return false, fmt.Errorf(`reduces the bag's rows with ReduceMax: nn.EmbeddingBag(mode="max"), which nngen's embedding_bag does not support (mode mean or sum)`)
	}
	return false, fmt.Errorf("%s of %s, which is not the embedding bag's", printable(op), describeArgs(args))
}

// foldable are the ops that the body may evaluate on constants.
var foldable = map[string]bool{
	"Constant": true, "Cast": true, "Unsqueeze": true, "Squeeze": true, "Reshape": true, "Concat": true,
	"Gather": true, "Shape": true, "Slice": true, "Add": true, "Sub": true, "Mul": true, "Div": true, "Equal": true, "Range": true,
}

// describeArgs names what a body node's inputs are, for messages.
func describeArgs(args []*loopValue) string {
	var out []string
	for _, a := range args {
		switch {
		case a == nil:
			out = append(out, "nothing")
		case a.iter:
			out = append(out, "the iteration number")
		case a.perIter != nil:
			out = append(out, "an offset")
		case a.starts != nil:
			out = append(out, "a bag of ids")
		case a.table != "":
			out = append(out, "the table's rows")
		case a.reduced != 0:
			out = append(out, "the reduced bag")
		case a.t.c != nil:
			out = append(out, "a constant")
		default:
			out = append(out, "a computed tensor")
		}
	}
	if len(out) == 0 {
		return "no inputs"
	}
	return fmt.Sprint(out)
}

// loopSlice follows Slice(flat, [offsets[i]], [ends[i]], [0]): a bag.
func (l *lowerer) loopSlice(n *node, args []*loopValue, define func(*loopValue) error) error {
	if len(args) < 3 || len(args) > 5 || args[0] == nil || args[1] == nil || args[2] == nil {
		return fmt.Errorf("Slice takes 3 to 5 inputs (data, starts, ends, axes, steps)")
	}
	data, starts, ends := args[0], args[1], args[2]
	if data.t == nil || data.t.c != nil || len(data.t.shape) != 1 {
		return fmt.Errorf("slices %s, not the flattened ids", describeArgs(args[:1]))
	}
	if starts.perIter == nil || ends.perIter == nil || !slices.Equal(starts.shape, []int{1}) || !slices.Equal(ends.shape, []int{1}) {
		return fmt.Errorf("slices from %s to %s, not from one offset to the next", describeArgs(args[1:2]), describeArgs(args[2:3]))
	}
	for i, what := range []string{"axes", "steps"} {
		k := 3 + i
		if k >= len(args) || args[k] == nil {
			continue
		}
		v, err := ints(args[k].t, what)
		if err != nil {
			return err
		}
		if !slices.Equal(v, []int{i}) && !(i == 0 && slices.Equal(v, []int{-1})) {
			return fmt.Errorf("slices with %s %v, not [%d]", what, v, i)
		}
	}
	name := n.GetInput()[0]
	dim := data.t.shape[0]
	s, e := make([]int, len(starts.perIter)), make([]int, len(ends.perIter))
	for i := range s {
		s[i], e[i] = clampIndex(starts.perIter[i], dim), clampIndex(ends.perIter[i], dim)
	}
	return define(&loopValue{starts: s, ends: e, flat: name})
}

// embeddingBag checks that the bags are the rows of the ids, which the
// flattened ids are a Reshape of, and adds the embedding bag.
func (l *lowerer) embeddingBag(n *node, trips int, y *loopValue) (*tensor, error) {
	bag := y.rows.bag
	var reshape *onnxpb.NodeProto
	for _, q := range l.graph.GetNode() {
		if slices.Contains(q.GetOutput(), bag.flat) {
			reshape = q
		}
	}
	if reshape == nil || reshape.GetOpType() != "Reshape" || !standard(reshape) || len(reshape.GetInput()) < 1 {
		return nil, fmt.Errorf("the bags slice %s, which is not a Reshape of the model's ids", quote(bag.flat))
	}
	ids := l.values[reshape.GetInput()[0]]
	if ids == nil || ids.v == nil || ids.v.Op != ir.OpInput || ids.v.DType != ir.Int {
		return nil, fmt.Errorf("the bags slice %s, a Reshape of %s, which is not the model's INT64 ids", quote(bag.flat), quote(reshape.GetInput()[0]))
	}
	if len(ids.shape) != 2 || !slices.Equal(ids.v.Shape, ir.Shape(ids.shape)) {
		return nil, fmt.Errorf("the ids are %v; nngen takes an nn.EmbeddingBag of ids [batch, bag]", ids.shape)
	}
	b, length := ids.shape[0], ids.shape[1]
	if trips != b {
		return nil, fmt.Errorf("the Loop runs %d times over ids %v; nngen takes one bag per row of the ids (a static export fixes the batch in its offsets: export with a dynamic batch to build another)", trips, ids.shape)
	}
	for i := range trips {
		if bag.starts[i] != i*length || bag.ends[i] != (i+1)*length {
			return nil, fmt.Errorf("bag %d is [%d, %d) of the %d flattened ids; nngen takes bags of equal length, the ids' last axis (%d): bag i is [%d·i, %d·(i+1))",
				i, bag.starts[i], bag.ends[i], ids.shape[0]*ids.shape[1], length, length, length)
		}
	}
	table := l.initializers[y.rows.table]
	w, err := l.param(y.rows.table, ir.Shape(slices.Clone(table.shape)), table.c.data)
	if err != nil {
		return nil, err
	}
	v, err := l.add(ir.OpEmbedding, ir.Attrs{Reduction: y.reduced}, w, ids.v)
	if err != nil {
		return nil, err
	}
	return &tensor{shape: []int{b, table.shape[1]}, v: v}, nil
}
