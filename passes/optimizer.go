package passes

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// lowerOptimizer writes the optimizer's update of every parameter as IR, so
// Step is generated like any other code. Its state (momentum buffers,
// Adam's moments, the step count) becomes state values: fields of the
// model. Its settings become hyperparameters: fields users may change
// between steps, as learning-rate schedules do.
func lowerOptimizer(g *ir.Graph, _ Options) (err error) {
	o := g.Optimizer
	if o == nil || g.Loss == nil {
		return nil
	}
	lower, ok := optimizers[o.Kind]
	if !ok {
		return fmt.Errorf("%s: optimizer %s has no lowering", o.Pos, o.Kind)
	}
	b := &builder{g: g, phase: ir.Update}
	defer b.recover(&err)
	made := map[string]*ir.Value{}
	lower(b, o, func(name string) *ir.Value {
		if made[name] == nil {
			made[name] = b.hyper(name, o.Params[name])
		}
		return made[name]
	})
	return nil
}

// A hyperFunc returns the hyperparameter holding an optimizer setting,
// adding it on first use: settings that the chosen update never reads
// (momentum in plain SGD) do not become fields.
type hyperFunc func(name string) *ir.Value

// optimizers lower each optimizer, following torch.optim (PyTorch 1.13).
var optimizers = map[string]func(b *builder, o *ir.Optimizer, h hyperFunc){
	"sgd": func(b *builder, o *ir.Optimizer, h hyperFunc) {
		if o.Params["momentum"] == 0 {
			for _, p := range b.g.Params() {
				b.update(ir.OpSGD, ir.Attrs{}, p, p.Grad, h("lr"), h("weight_decay"))
			}
			return
		}
		step := b.steps()
		for _, p := range b.g.Params() {
			buf := b.state(p.Name+".momentum_buffer", p.Shape)
			b.update(ir.OpSGDMomentum, ir.Attrs{Nesterov: o.Params["nesterov"] != 0},
				p, p.Grad, buf, step, h("lr"), h("momentum"), h("dampening"), h("weight_decay"))
		}
	},
	"adam":  adam,
	"adamw": adam,
}

func adam(b *builder, o *ir.Optimizer, h hyperFunc) {
	step := b.steps()
	for _, p := range b.g.Params() {
		m := b.state(p.Name+".exp_avg", p.Shape)
		v := b.state(p.Name+".exp_avg_sq", p.Shape)
		b.update(ir.OpAdam, ir.Attrs{Decoupled: o.Kind == "adamw"},
			p, p.Grad, m, v, step, h("lr"), h("beta1"), h("beta2"), h("eps"), h("weight_decay"))
	}
}

func (b *builder) update(op ir.Op, attrs ir.Attrs, args ...*ir.Value) {
	b.add(op, attrs, args...).Name = args[0].Name
}

// steps adds the step count and its increment, and returns the count after
// it: 1 in the first Step.
func (b *builder) steps() *ir.Value {
	count := b.g.Leaf(ir.OpState, "steps", ir.Shape{}, ir.Attrs{})
	count.DType, count.Phase = ir.Int, b.phase
	next := b.add(ir.OpStepCount, ir.Attrs{}, count)
	next.DType, next.Name = ir.Int, "steps"
	return next
}

func (b *builder) state(name string, shape ir.Shape) *ir.Value {
	v := b.g.Leaf(ir.OpState, name, shape, ir.Attrs{})
	v.Phase = b.phase
	return v
}

func (b *builder) hyper(name string, value float64) *ir.Value {
	v := b.g.Leaf(ir.OpHyper, name, ir.Shape{}, ir.Attrs{Value: value})
	v.Phase = b.phase
	return v
}
