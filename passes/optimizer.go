package passes

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// lowerOptimizer writes the optimizer's update of every parameter as IR, so
// Step is generated like any other code. Settings users may change between
// steps (the learning rate) become hyperparameters: fields of the model.
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
	lower(b, o)
	return nil
}

var optimizers = map[string]func(b *builder, o *ir.Optimizer){
	// sgd: p ← p - lr·∇p (PyTorch's SGD without momentum or weight decay).
	"sgd": func(b *builder, o *ir.Optimizer) {
		lr := b.hyper("lr", o.Params["lr"])
		for _, p := range b.g.Params() {
			b.add(ir.OpSGD, ir.Attrs{}, p, p.Grad, lr).Name = p.Name
		}
	},
}

func (b *builder) hyper(name string, value float64) *ir.Value {
	v := b.g.Leaf(ir.OpHyper, name, ir.Shape{}, ir.Attrs{Value: value})
	v.Phase = b.phase
	return v
}
