package nnrt

// The elementwise terms of PyTorch's smooth_l1_loss and huber_loss and
// their derivatives, of d = y - t, written as aten's CPU kernels write
// them: the forward compares |d| with the threshold (strictly below: the
// square), the derivative d itself (at ±threshold: the linear side, which
// has the same value).

// SmoothL1 is 0.5·d²/β where |d| < β, else |d| - 0.5·β. β > 0.
func SmoothL1[T Float](d, beta T) T {
	if a := Abs(d); a < beta {
		return 0.5 * a * a / beta
	} else {
		return a - 0.5*beta
	}
}

// SmoothL1Grad is SmoothL1's derivative in d: d/β, clamped to [-1, 1].
func SmoothL1Grad[T Float](d, beta T) T {
	switch {
	case d <= -beta:
		return -1
	case d >= beta:
		return 1
	}
	return d / beta
}

// Huber is 0.5·d² where |d| < δ, else δ·(|d| - 0.5·δ). δ > 0.
func Huber[T Float](d, delta T) T {
	if a := Abs(d); a < delta {
		return 0.5 * a * a
	} else {
		return delta * (a - 0.5*delta)
	}
}

// HuberGrad is Huber's derivative in d: d clamped to [-δ, δ].
func HuberGrad[T Float](d, delta T) T {
	switch {
	case d <= -delta:
		return -delta
	case d >= delta:
		return delta
	}
	return d
}
