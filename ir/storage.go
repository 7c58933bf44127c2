package ir

import "fmt"

// StorageKind says where a value's elements live in the generated code.
type StorageKind uint8

const (
	Unplanned StorageKind = iota
	InArg                 // an argument of the generated method (inputs)
	InParam               // the parameter's field (parameters, their updates)
	InGrad                // the parameter's gradient field
	InState               // the optimizer state's field
	InBuffer              // the buffer's field
	InHyper               // the hyperparameter's field
	InConst               // a literal in the code
	InSlot                // a scratch slot of the model, shared over time
)

// Storage is where one value lives.
type Storage struct {
	Kind  StorageKind
	Slot  int    // InSlot: index into Graph.Slots
	Param *Value // InParam, InGrad: the parameter; InState, InBuffer: the leaf
}

func (s Storage) String() string {
	switch s.Kind {
	case InArg:
		return "arg"
	case InParam:
		return "param(" + s.Param.Name + ")"
	case InGrad:
		return "grad(" + s.Param.Name + ")"
	case InState:
		return "state"
	case InBuffer:
		return "buffer(" + s.Param.Name + ")"
	case InHyper:
		return "hyper"
	case InConst:
		return "const"
	case InSlot:
		return fmt.Sprintf("slot%d", s.Slot)
	}
	return ""
}

// Slot is a scratch buffer of the generated model; values whose lifetimes
// do not overlap share one.
type Slot struct {
	Size   int      // elements: the largest value it holds
	Values []*Value // the values it holds, in schedule order
}

// CheckPlanned is what a back end checks before it emits code: the graph
// verifies and buffer planning gave every value its storage.
func (g *Graph) CheckPlanned() error {
	if err := g.Verify(); err != nil {
		return fmt.Errorf("invalid IR:\n%w", err)
	}
	for _, v := range g.Values {
		if v.Storage.Kind == Unplanned {
			return fmt.Errorf("%s has no storage; run the plan pass first", v)
		}
	}
	return nil
}

// ComputedBy maps each value that another's code computes in the same loop
// or kernel (an activation fused with Also) to that value: the back ends
// emit nothing of its own for it.
func (g *Graph) ComputedBy() map[*Value]*Value {
	by := map[*Value]*Value{}
	for _, v := range g.Values {
		if v.Also != nil {
			by[v.Also] = v
		}
	}
	return by
}
