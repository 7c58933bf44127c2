package nnrt

import (
	"math"
	"unsafe"
)

// RNG is the seeded generator behind a generated model's New(seed): the
// same seed gives the same starting parameters on every machine and in
// every version of nngen that keeps SupportPackageIsVersion1.
//
// It is SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and good
// enough for initialisation; it is not for cryptography.
type RNG struct{ state uint64 }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return &RNG{state: seed} }

// State is the generator's state as one int64 aliasing it, so that a
// checkpoint can save it and restore it: the numbers drawn after a
// restore are those drawn after the save.
func (r *RNG) State() []int64 { return unsafe.Slice((*int64)(unsafe.Pointer(&r.state)), 1) }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Uniform returns a uniform number in [lo, hi). The conversion rounds the
// product before the sum: without it Go may fuse the two into one
// multiply-add on arm64, ppc64le, s390x, riscv64 and loong64 (not on amd64),
// and the same seed would give other parameters there.
func (r *RNG) Uniform(lo, hi float64) float64 { return lo + float64((hi-lo)*r.Float64()) }

// FillUniform sets every element of dst to a uniform number in ±bound.
// It is PyTorch's default for nn.Linear: kaiming_uniform_(a=√5) on the
// weight, which comes to bound = 1/√fan_in, and the same bound for the bias.
func FillUniform[T Float](r *RNG, dst []T, bound float64) {
	for i := range dst {
		dst[i] = T(r.Uniform(-bound, bound))
	}
}

// LinearBound is the bound of PyTorch's default nn.Linear initialisation.
func LinearBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }

// FillNormal sets every element of dst to a standard normal number, by the
// Box-Muller transform: PyTorch's default for nn.Embedding, normal_(0, 1).
// The distribution is PyTorch's; the numbers are not (PyTorch's generator
// is another).
func FillNormal[T Float](r *RNG, dst []T) {
	for i := 0; i < len(dst); i += 2 {
		u := 1 - r.Float64() // in (0, 1], so the log is finite
		radius := math.Sqrt(-2 * math.Log(u))
		angle := float64(2*math.Pi) * r.Float64()
		dst[i] = T(radius * math.Cos(angle))
		if i+1 < len(dst) {
			dst[i+1] = T(radius * math.Sin(angle))
		}
	}
}
