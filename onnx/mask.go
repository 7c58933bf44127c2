package onnx

import "math"

// causalMask reports whether the constant c, added to computed scores
// shaped scores, is the square subsequent mask: 0 on and below the
// diagonal of its last two axes, −∞ above, any axes before them of 1.
// nn.MultiheadAttention's and nn.TransformerEncoderLayer's export adds it
// (torch.triu of −∞ made inside forward, folded from Trilu, or stored as
// a constant) to the scores q·kᵀ before their softmax; nngen lowers that
// Add to causal_mask, the op of .nn's causal=true, rather than to the
// addition of a parameter holding −∞.
func causalMask(c *tensor, scores []int) bool {
	r := len(c.shape)
	if c.c == nil || r < 2 || r > len(scores) {
		return false
	}
	s := c.shape[r-1]
	if c.shape[r-2] != s || scores[len(scores)-2] != s || scores[len(scores)-1] != s || s < 2 {
		return false
	}
	for _, d := range c.shape[:r-2] {
		if d != 1 {
			return false
		}
	}
	for i, v := range c.c.data {
		row, col := i/s, i%s
		if col > row && !math.IsInf(v, -1) || col <= row && v != 0 {
			return false
		}
	}
	return true
}
