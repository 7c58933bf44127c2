package nnrt

import "math"

// DropoutRNG is the generator of a model's dropout masks for New(seed):
// a stream of its own, apart from the one that initialises the
// parameters, so that adding dropout to a network does not change its
// starting parameters.
func DropoutRNG(seed uint64) RNG {
	r := RNG{state: seed ^ 0xd809_0a75_5eed_0001}
	return RNG{state: r.Uint64()}
}

// DropoutMasks is the hook through which a caller supplies a training
// step's dropout masks (a generated Model's DropoutMasks field): it sets
// each element of keep to 1 (keep) or 0 (drop) for the dropout layer named
// layer. The generated code scales the kept elements by 1/(1-p) itself.
type DropoutMasks[T Float] func(layer string, keep []T)

// DropoutMask sets mask for one dropout layer, which then multiplies its
// input: in evaluation mode (eval) or for p = 0, every element 1; for
// p = 1, every element 0, as PyTorch's F.dropout gives zeros; otherwise 0
// with probability p and 1/(1-p) else, chosen by masks where it is not nil
// and drawn from r where it is. It does not allocate.
func DropoutMask[T Float](mask []T, p float64, eval bool, r *RNG, masks DropoutMasks[T], layer string) {
	switch {
	case eval || p == 0:
		for i := range mask {
			mask[i] = 1
		}
		return
	case p >= 1:
		clear(mask)
		return
	}
	scale := T(1 / (1 - p))
	if masks != nil {
		masks(layer, mask)
		for i, keep := range mask {
			if keep != 0 {
				mask[i] = scale
			}
		}
		return
	}
	drawKeep(mask, p, scale, r)
}

// drawKeep sets each element of mask to scale with probability 1-p, else
// to 0: for p = 1/2 one bit of r per element, 64 from each draw; for
// another p two elements per draw, each keeping if 32 random bits fall
// below (1-p)·2³² (exact to 2⁻³³).
func drawKeep[T Float](mask []T, p float64, scale T, r *RNG) {
	if p == 0.5 {
		for i := 0; i < len(mask); i += 64 {
			bits := r.Uint64()
			for j := i; j < min(i+64, len(mask)); j++ {
				mask[j] = scale * T(bits&1)
				bits >>= 1
			}
		}
		return
	}
	below := uint64(math.Round((1 - p) * (1 << 32)))
	keep := func(bits uint64) T {
		if bits < below {
			return scale
		}
		return 0
	}
	for i := 0; i < len(mask); i += 2 {
		bits := r.Uint64()
		mask[i] = keep(bits & 0xffff_ffff)
		if i+1 < len(mask) {
			mask[i+1] = keep(bits >> 32)
		}
	}
}
