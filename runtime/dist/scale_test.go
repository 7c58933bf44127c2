package dist

import (
	"testing"
)

// TestScale checks the mean of the sum of 2 and of 3 ranks' numbers.
func TestScale(t *testing.T) {
	x := []float32{3, -1, 1e-30, 7}
	scale(x, 2)
	if x[0] != 1.5 || x[1] != -0.5 || x[2] != 5e-31 || x[3] != 3.5 {
		t.Errorf("sums of 2 ranks halved: %v", x)
	}
	y := []float64{3, 1}
	scale(y, 3)
	if y[0] != 1 || y[1] < 1.0/3-1e-16 || y[1] > 1.0/3+1e-16 {
		t.Errorf("sums of 3 ranks divided by 3: %v", y)
	}
}

func BenchmarkScale4MiB(b *testing.B) {
	x := make([]float32, 1<<20)
	b.SetBytes(4 << 20)
	for b.Loop() {
		scale(x, 3)
	}
}
