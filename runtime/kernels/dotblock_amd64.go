//go:build amd64 && !noasm

package kernels

// The dot-product blocks of _gen/asmgen.go (genDotBlock): sdotBlockRxCAVX512
// adds to c[i*ldc+j] the dot products of a's row i and b's row j, each n
// long, for i < R and j < C, summed over samples whose rows lie sa and sb
// further on; strides in elements.

//go:noescape
func sdotBlock1x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock1x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock1x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock2x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock2x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock2x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock3x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock3x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock3x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock4x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock4x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock4x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock5x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock5x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock5x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock6x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock6x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock6x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock7x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock7x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock7x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock8x1AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock8x2AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

//go:noescape
func sdotBlock8x3AVX512(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int)

// dotBlocks32 is the blocks by rows and columns, less one.
var dotBlocks32 = [8][3]func(a *float32, lda int, b *float32, ldb int, n int, c *float32, ldc int, samples, sa, sb int){
	{sdotBlock1x1AVX512, sdotBlock1x2AVX512, sdotBlock1x3AVX512},
	{sdotBlock2x1AVX512, sdotBlock2x2AVX512, sdotBlock2x3AVX512},
	{sdotBlock3x1AVX512, sdotBlock3x2AVX512, sdotBlock3x3AVX512},
	{sdotBlock4x1AVX512, sdotBlock4x2AVX512, sdotBlock4x3AVX512},
	{sdotBlock5x1AVX512, sdotBlock5x2AVX512, sdotBlock5x3AVX512},
	{sdotBlock6x1AVX512, sdotBlock6x2AVX512, sdotBlock6x3AVX512},
	{sdotBlock7x1AVX512, sdotBlock7x2AVX512, sdotBlock7x3AVX512},
	{sdotBlock8x1AVX512, sdotBlock8x2AVX512, sdotBlock8x3AVX512},
}

// The grid convolution blocks of _gen/asmgen.go (genConvGrid): sconvGridCAVX512
// sets out[k*ldo+j] to Σ_t wt[t*C+k]·src[offs[t]+j] for k < C, j < n.

//go:noescape
func sconvGrid1AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid2AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid3AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid4AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid5AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid6AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid7AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

//go:noescape
func sconvGrid8AVX512(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int)

// convGrid32 is the blocks by output channels, less one.
var convGrid32 = [8]func(out *float32, ldo int, wt, src *float32, offs *int32, taps, n int){
	sconvGrid1AVX512, sconvGrid2AVX512, sconvGrid3AVX512, sconvGrid4AVX512, sconvGrid5AVX512, sconvGrid6AVX512, sconvGrid7AVX512, sconvGrid8AVX512,
}
