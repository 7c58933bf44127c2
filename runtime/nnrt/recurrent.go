package nnrt

// The steps of nn.GRU and nn.LSTM, one row each (a sample's gates and
// states), as PyTorch's CPU cells compute them; the generated code calls
// them for every row of a step. A nil state or gh is zeros.

// GRUCell writes nn.GRU's new state y [H] from the pre-activations gi =
// x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh ([3H], gates r, z, n) and the
// state h: r, z = σ(gi + gh), n = tanh(gi_n + r·gh_n), y = n + z·(h - n).
func GRUCell[T Float](y, gi, gh, h []T) {
	H := len(y)
	for j := range H {
		_, z, n := gru(gi, gh, H, j)
		var hj T
		if h != nil {
			hj = h[j]
		}
		y[j] = n + z*(hj-n)
	}
}

// gru is gate j's r, z and n.
func gru[T Float](gi, gh []T, H, j int) (r, z, n T) {
	var ghr, ghz, ghn T
	if gh != nil {
		ghr, ghz, ghn = gh[j], gh[H+j], gh[2*H+j]
	}
	r = Sigmoid(gi[j] + ghr)
	z = Sigmoid(gi[H+j] + ghz)
	n = Tanh(gi[2*H+j] + r*ghn)
	return r, z, n
}

// GRUCellGrad writes the gradient of GRUCell's argument wrt (0 gi, 1 gh, 2
// h) into dx from dy, the gates recomputed: with dn = dy·(1-z)·(1-n²),
// dgi = [dr, dz, dn] and dgh = [dr, dz, dn·r] where dr = dn·gh_n·r(1-r)
// and dz = dy·(h-n)·z(1-z); dh = dy·z.
func GRUCellGrad[T Float](dx, dy, gi, gh, h []T, wrt int) {
	H := len(dy)
	for j := range H {
		r, z, n := gru(gi, gh, H, j)
		if wrt == 2 {
			dx[j] = dy[j] * z
			continue
		}
		var hj, ghn T
		if h != nil {
			hj = h[j]
		}
		if gh != nil {
			ghn = gh[2*H+j]
		}
		dn := dy[j] * (1 - z) * (1 - n*n)
		dx[j] = dn * ghn * r * (1 - r)
		dx[H+j] = dy[j] * (hj - n) * z * (1 - z)
		if wrt == 1 {
			dn *= r
		}
		dx[2*H+j] = dn
	}
}

// LSTMCell writes nn.LSTM's new cell state y [H] from the summed
// pre-activations s = gi + gh ([4H], gates i, f, g, o) and the cell state
// c: y = σ(f)·c + σ(i)·tanh(g).
func LSTMCell[T Float](y, s, c []T) {
	H := len(y)
	for j := range H {
		i, g := Sigmoid(s[j]), Tanh(s[2*H+j])
		if c == nil {
			y[j] = i * g
			continue
		}
		y[j] = Sigmoid(s[H+j])*c[j] + i*g
	}
}

// LSTMCellGrad writes the gradient of LSTMCell's argument wrt (0 s, 1 c)
// into dx from dy: ds = [dy·g·i(1-i), dy·c·f(1-f), dy·i·(1-g²), 0] and
// dc = dy·f.
func LSTMCellGrad[T Float](dx, dy, s, c []T, wrt int) {
	H := len(dy)
	for j := range H {
		f := Sigmoid(s[H+j])
		if wrt == 1 {
			dx[j] = dy[j] * f
			continue
		}
		i, g := Sigmoid(s[j]), Tanh(s[2*H+j])
		var cj T
		if c != nil {
			cj = c[j]
		}
		dx[j] = dy[j] * g * i * (1 - i)
		dx[H+j] = dy[j] * cj * f * (1 - f)
		dx[2*H+j] = dy[j] * i * (1 - g*g)
		dx[3*H+j] = 0
	}
}

// LSTMHidden writes nn.LSTM's new hidden state y = σ(o)·tanh(c) [H] from
// the pre-activations s [4H] and the new cell state c.
func LSTMHidden[T Float](y, s, c []T) {
	H := len(y)
	for j := range H {
		y[j] = Sigmoid(s[3*H+j]) * Tanh(c[j])
	}
}

// LSTMHiddenGrad writes the gradient of LSTMHidden's argument wrt (0 s, 1
// c) into dx from dy: ds = [0, 0, 0, dy·tanh(c)·o(1-o)] and dc =
// dy·o·(1-tanh²(c)).
func LSTMHiddenGrad[T Float](dx, dy, s, c []T, wrt int) {
	H := len(dy)
	for j := range H {
		o, tc := Sigmoid(s[3*H+j]), Tanh(c[j])
		if wrt == 1 {
			dx[j] = dy[j] * o * (1 - tc*tc)
			continue
		}
		dx[j], dx[H+j], dx[2*H+j] = 0, 0, 0
		dx[3*H+j] = dy[j] * tc * o * (1 - o)
	}
}
