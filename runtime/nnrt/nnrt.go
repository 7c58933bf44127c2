// Package nnrt is the contract between nngen and the packages it
// generates: the parameter type (Param, Lookup), the seeded PyTorch-style
// initialisation (RNG, FillUniform, LinearBound) and the scalar and row
// functions generated loops call (Sigmoid, GELU, Softmax, LayerNorm, ...).
// Its name keeps it clear of the standard library's runtime, so generated
// code and users' code import both without an alias. The heavy arithmetic
// is package kernels; parameter files are package safetensors.
//
// Generated code checks this package at compile time: it refers to
// SupportPackageIsVersion1, which an nnrt incompatible with it does not
// define, so a mismatch fails the build with a message saying to
// regenerate instead of misbehaving at run time.
package nnrt

// SupportPackageIsVersion1 is referenced by generated code. A runtime that
// changes the contract with generated code renames it.
const SupportPackageIsVersion1 = true

// Float is the element type of a generated model.
type Float interface{ ~float32 | ~float64 }

// Param is one parameter tensor of a generated model, named as in
// PyTorch's state_dict. Value and Grad alias the model's arrays in row-major
// order, so writing through them sets the parameter (or gradient) in place.
type Param[T Float] struct {
	Name  string
	Shape []int
	Value []T
	Grad  []T // nil when the model was built for inference only
}

// Lookup returns the parameter named name.
func Lookup[T Float](params []Param[T], name string) (Param[T], bool) {
	for _, p := range params {
		if p.Name == name {
			return p, true
		}
	}
	return Param[T]{}, false
}

// Tensor is one tensor of a generated model's state, named as PyTorch
// names it: a parameter or buffer of the state_dict (the generated
// StateDict), or an entry of the optimizer's state_dict (OptimizerState).
// Its numbers alias the model's fields in row-major order: a float tensor's
// are in Float and Int is nil; an integer tensor's (an int64 buffer such as
// num_batches_tracked, the optimizer's step count) are in Int and Float is
// nil. A scalar has an empty Shape and one number. Several tensors may
// alias the same numbers (every parameter's step in OptimizerState is the
// model's one step count).
type Tensor[T Float] struct {
	Name  string
	Shape []int
	Float []T
	Int   []int64
}

// Len is the number of numbers t holds.
func (t Tensor[T]) Len() int {
	if t.Int != nil {
		return len(t.Int)
	}
	return len(t.Float)
}

// LookupTensor returns the tensor named name.
func LookupTensor[T Float](tensors []Tensor[T], name string) (Tensor[T], bool) {
	for _, t := range tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor[T]{}, false
}
