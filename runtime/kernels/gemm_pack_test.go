package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestPackRows checks every set's packRows against its definition for
// every sliver width up to 2·packW (the masked loop and the plain one of
// each whole-vector width), with a partial last sliver or none, and that
// it writes nothing outside the slivers: the gaps between them and the
// memory after them keep their NaNs.
func TestPackRows(t *testing.T) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		for _, g := range []*gemmKernel[float32]{&ks.sgemm, &ks.sgemm8, &ks.snt.pack} {
			testPackRows(t, ks.name, g)
		}
		testPackRows(t, ks.name, &ks.dgemm)
	}
}

func testPackRows[T float32 | float64](t *testing.T, set string, g *gemmKernel[T]) {
	if g.packRows == nil {
		return
	}
	nan := T(math.NaN())
	// Rows 101 elements apart, and 1031: a page or more (the loops that
	// prefetch).
	for _, lds := range []int{101, 1031} {
		for width := 1; width <= 2*g.packW; width++ {
			testPackRowsWidth(t, set, g, nan, lds, width)
		}
	}
}

func testPackRowsWidth[T float32 | float64](t *testing.T, set string, g *gemmKernel[T], nan T, lds, width int) {
	for _, n := range []int{width, 3 * width, 3*width - 1, 2*width + 1, 1} {
		if n < 1 {
			continue
		}
		const count = 5
		slivers := (n + width - 1) / width
		stride := count*width + 3 // a gap after each sliver
		src := make([]T, (count-1)*lds+n)
		for i := range src {
			src[i] = T(i + 1)
		}
		dst := make([]T, slivers*stride+7)
		for i := range dst {
			dst[i] = nan
		}
		g.packRows(&src[0], lds, n, &dst[0], width, stride, count)
		name := fmt.Sprintf("%s %T lds %d width %d n %d", set, src[0], lds, width, n)
		for i := range dst {
			s, off := i/stride, i%stride
			want := nan
			if s < slivers && off < count*width {
				p, j := off/width, s*width+off%width
				want = 0
				if j < n {
					want = src[p*lds+j]
				}
			}
			if got := dst[i]; got != want && !(got != got && want != want) {
				t.Fatalf("%s: dst[%d] (sliver %d, offset %d) = %v, want %v", name, i, s, off, got, want)
			}
		}
	}
}
