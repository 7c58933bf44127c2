package dist

import "testing"

func BenchmarkScale4MiB(b *testing.B) {
	x := make([]float32, 1<<20)
	b.SetBytes(4 << 20)
	for b.Loop() {
		scale(x, 3)
	}
}
