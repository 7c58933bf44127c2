package codegen

import (
	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// vecMin is the size (elements) from which an elementwise pass calls the
// vector kernels of package kernels (kernels.AddBiasReLU32, ReLUGrad32, SGD32,
// SumRows32, ScaledDiff32, SumSquaredDiff32, Add32, Sub32, Mul32, DivScalar32, ...) instead of Go loops. The
// kernels run 8 or 16 elements per instruction where Go's loops run one;
// below this size a call costs about what it saves, and the loops keep
// constant bounds for tiny networks.
const vecMin = 64

// vectorized reports whether v is big enough for the vector kernels.
func vectorized(v *ir.Value) bool { return v.Shape.Size() >= vecMin }

// outputCopy copies the output value into the caller's y.
func (gen *generator) outputCopy(y *ir.Value) *jen.Statement {
	return jen.Copy(gen.flatArg("y", y), gen.flatValue(y))
}

// unrollMax is the most work (multiply-adds and elements, summed over every
// value the network computes) of a network whose loops are all written out
// as straight-line code. At the tutorial's size loop overhead, bounds and
// the serial sums' latency dominate: unrolled, the loads use constant
// offsets, nothing is checked and independent sums overlap. Larger networks
// keep loops so the code stays proportional to the number of layers.
const unrollMax = 1024

// unrolled reports whether g is small enough to unroll: no GEMM, and at most
// unrollMax work in all.
func unrolled(g *ir.Graph) bool {
	work := 0
	for _, v := range g.Values {
		if ir.IsLeaf(v.Op) {
			continue
		}
		if _, _, k, ok := productShape(v, false); ok {
			return false
		} else if k > 0 {
			work += v.Shape.Size() * k
			continue
		}
		work += v.Shape.Size()
		for _, a := range v.Args {
			work += a.Shape.Size()
		}
	}
	return work <= unrollMax
}
