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
