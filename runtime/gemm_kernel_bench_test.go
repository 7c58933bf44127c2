package runtime

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel runs each set's float32 micro-kernel alone on packed
// panels that stay in L1: the ceiling that blocking and packing approach.
func BenchmarkMicroKernel(b *testing.B) {
	for _, ks := range kernelSets {
		if !supported(ks.name) {
			continue
		}
		g := &ks.sgemm
		for _, kc := range []int{64, 128, 256, 512} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", ks.name, g.mr, g.nr, kc), func(b *testing.B) {
				a, bp, c := benchMatrix(g.mr*kc), benchMatrix(kc*g.nr), benchMatrix(g.mr*g.nr)
				for b.Loop() {
					g.micro(kc, &a[0], &bp[0], &c[0], g.nr, true)
				}
				reportGFLOPS(b, g.mr, g.nr, kc)
			})
		}
	}
}
