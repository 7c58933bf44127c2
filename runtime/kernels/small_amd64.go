//go:build amd64 && !noasm

package kernels

// The small-product tiles of _gen/asmgen.go (genSmallGemm): ssmallRxVAVX512
// sets the R×cols tile of C to op(A)·B, or adds it when load, for op(A)'s
// element (i, p) at a[i*rsA+p*csA] and B row-major, neither packed; then
// adds bias to each row unless it is nil, and applies relu when asked; V
// vectors of 16 columns, the last under a mask; strides in elements.

//go:noescape
func ssmall8x1AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall4x1AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall2x1AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall1x1AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall6x2AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall4x2AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall2x2AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall1x2AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall4x3AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall2x3AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall1x3AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall4x4AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall2x4AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

//go:noescape
func ssmall1x4AVX512(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, cols int, load bool, bias *float32, relu bool)

// stransposeSmallAVX512 sets dst[p*ldd+j] = src[j*lds+p] for j < rows ≤ 16
// and p < cols ≤ 16.
//
//go:noescape
func stransposeSmallAVX512(src *float32, lds, rows, cols int, dst *float32, ldd int)

// smallTiles32AVX512 is the tiles by vectors, less one: each row count
// generated, largest first.
var smallTiles32AVX512 = smallTiles32{transpose: stransposeSmallAVX512, tiles: [4][]smallTile{
	{{8, ssmall8x1AVX512}, {4, ssmall4x1AVX512}, {2, ssmall2x1AVX512}, {1, ssmall1x1AVX512}},
	{{6, ssmall6x2AVX512}, {4, ssmall4x2AVX512}, {2, ssmall2x2AVX512}, {1, ssmall1x2AVX512}},
	{{4, ssmall4x3AVX512}, {2, ssmall2x3AVX512}, {1, ssmall1x3AVX512}},
	{{4, ssmall4x4AVX512}, {2, ssmall2x4AVX512}, {1, ssmall1x4AVX512}},
}}
