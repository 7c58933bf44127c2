package kernels

import (
	"fmt"

	"github.com/nngen/nngen/runtime/nnrt"
)

// A Conv is the geometry of a convolution over one or two spatial axes, as
// PyTorch's Conv1d and Conv2d: N samples of C channels of H×W, K output
// channels, a kernel of R×S, the channels in Groups groups, and per axis a
// stride, a zero padding on both sides and a dilation. A 1-D convolution
// has H = R = 1 (and stride and dilation 1, padding 0, along H). Arrays are
// row-major: x [N][C][H][W], w [K][C/Groups][R][S], y [N][K][P][Q] with P×Q
// the output's size (P and Q).
type Conv struct {
	N, C, K, Groups int
	H, W, R, S      int

	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
}

// P is the output's height.
func (c Conv) P() int { return (c.H+2*c.PadH-c.DilH*(c.R-1)-1)/c.StrideH + 1 }

// Q is the output's width.
func (c Conv) Q() int { return (c.W+2*c.PadW-c.DilW*(c.S-1)-1)/c.StrideW + 1 }

// check panics unless the slices hold the geometry's arrays.
func (c Conv) check(x, w, y int) {
	if c.N < 0 || c.Groups < 1 || c.C%c.Groups != 0 || c.K%c.Groups != 0 || c.P() < 1 || c.Q() < 1 {
		panic(fmt.Sprintf("kernels: Conv: bad geometry %+v", c))
	}
	if x < c.N*c.C*c.H*c.W || w < c.K*(c.C/c.Groups)*c.R*c.S || y < c.N*c.K*c.P()*c.Q() {
		panic(fmt.Sprintf("kernels: Conv %+v: x, w or y too short (%d, %d, %d)", c, x, w, y))
	}
}

// ConvForward32 sets y to the convolution of x by w, plus the bias b per
// output channel (nil for none).
func ConvForward32(c Conv, y, x, w, b []float32) { convForward(c, y, x, w, b) }

// ConvForward64 is ConvForward32 for float64.
func ConvForward64(c Conv, y, x, w, b []float64) { convForward(c, y, x, w, b) }

// ConvInputGrad32 sets dx to the gradient of a convolution's input: each
// output's gradient dy spread back over the inputs its kernel read.
func ConvInputGrad32(c Conv, dx, dy, w []float32) { convInputGrad(c, dx, dy, w) }

// ConvInputGrad64 is ConvInputGrad32 for float64.
func ConvInputGrad64(c Conv, dx, dy, w []float64) { convInputGrad(c, dx, dy, w) }

// ConvWeightGrad32 sets dw to the gradient of a convolution's weight: the
// sum over the samples and outputs of dy times the inputs each weight met.
func ConvWeightGrad32(c Conv, dw, dy, x []float32) { convWeightGrad(c, dw, dy, x) }

// ConvWeightGrad64 is ConvWeightGrad32 for float64.
func ConvWeightGrad64(c Conv, dw, dy, x []float64) { convWeightGrad(c, dw, dy, x) }

// forEach calls f for every output (n, k, p, q) at offset at of y, with
// every kernel tap (cg, r, s) that reads an input inside the padding's
// bounds, at offsets xi of x and wi of w. The loops are the direct
// convolution: correct first; the GEMM-based kernels come later.
func (c Conv) forEach(f func(at, xi, wi int)) {
	P, Q := c.P(), c.Q()
	cg, kg := c.C/c.Groups, c.K/c.Groups
	for n := range c.N {
		for k := range c.K {
			g := k / kg
			for p := range P {
				for q := range Q {
					at := ((n*c.K+k)*P+p)*Q + q
					for ci := range cg {
						xBase := (n*c.C + g*cg + ci) * c.H
						wBase := (k*cg + ci) * c.R
						for r := range c.R {
							h := p*c.StrideH - c.PadH + r*c.DilH
							if h < 0 || h >= c.H {
								continue
							}
							for s := range c.S {
								wc := q*c.StrideW - c.PadW + s*c.DilW
								if wc < 0 || wc >= c.W {
									continue
								}
								f(at, (xBase+h)*c.W+wc, (wBase+r)*c.S+s)
							}
						}
					}
				}
			}
		}
	}
}

func convForward[T nnrt.Float](c Conv, y, x, w, b []T) {
	c.check(len(x), len(w), len(y))
	P, Q := c.P(), c.Q()
	y = y[:c.N*c.K*P*Q]
	clear(y)
	c.forEach(func(at, xi, wi int) { y[at] += x[xi] * w[wi] })
	if b == nil {
		return
	}
	for i := range y {
		y[i] += b[i/(P*Q)%c.K]
	}
}

func convInputGrad[T nnrt.Float](c Conv, dx, dy, w []T) {
	c.check(len(dx), len(w), len(dy))
	clear(dx[:c.N*c.C*c.H*c.W])
	c.forEach(func(at, xi, wi int) { dx[xi] += dy[at] * w[wi] })
}

func convWeightGrad[T nnrt.Float](c Conv, dw, dy, x []T) {
	c.check(len(x), len(dw), len(dy))
	clear(dw[:c.K*(c.C/c.Groups)*c.R*c.S])
	c.forEach(func(at, xi, wi int) { dw[wi] += dy[at] * x[xi] })
}
