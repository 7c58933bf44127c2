//go:build !amd64 || noasm

package kernels

import "runtime"

// Without assembly (another architecture, or the noasm tag) the pure-Go set
// is the only one.
var kernelSets = []*kernelSet{genericKernels}

func supported(name string) bool { return name == "generic" }

// spinWait yields: without assembly there is no PAUSE.
func spinWait() { runtime.Gosched() }

// maxPoolGradBlocks does none of the windows: no set here has the kernel.
func maxPoolGradBlocks(dx0, dx1, dy, x0, x1 *float32, n int) int { return 0 }

// maxPoolBlocks is never called here (no set has maxPoolGrad32).
func maxPoolBlocks(y, x0, x1 *float32, n int) { panic("kernels: no AVX-512 here") }

// dotBlocks32 is empty here: no set has the dot-product blocks.
var dotBlocks32 [8][3]func(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

// convGrid32 is empty here: no set has the grid convolution blocks.
var convGrid32 [8]func(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)
