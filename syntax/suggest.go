package syntax

// closest returns the candidate most likely meant by a misspelt word, or ""
// when none is close. Ties go to the later candidate: for value names that is
// the most recently defined one, the likeliest meant.
//
// budget, when not nil, caps the work over a whole compilation (counted in
// comparison cells), so that a file with many misspellings among many names
// stays linear rather than quadratic; once it is spent there are no hints.
func closest(word string, candidates []string, budget *int) string {
	maxDist := max(1, len(word)/3)
	best, bestDist := "", maxDist
	for _, c := range candidates {
		if len(c)-len(word) > maxDist || len(word)-len(c) > maxDist {
			continue
		}
		if budget != nil {
			cost := len(c)*len(word) + 1
			if cost > *budget {
				return best
			}
			*budget -= cost
		}
		// A single-letter name is one edit from every other; no hint then.
		if d := editDistance(word, c); d <= bestDist && d < len(word) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// adjacent bytes that turn a into b (optimal string alignment distance):
// a swap is a typo as common as the others.
func editDistance(a, b string) int {
	before := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)   // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			substitute := prev[j-1]
			if a[i-1] != b[j-1] {
				substitute++
			}
			cur[j] = min(substitute, prev[j]+1, cur[j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
