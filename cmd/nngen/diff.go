package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// diffContext is how many unchanged lines surround each change, as in diff -u.
const diffContext = 3

// unifiedDiff returns the changes from old to new as diff -u --label
// oldLabel --label newLabel would print them, or nil when they are equal.
func unifiedDiff(oldLabel, newLabel string, old, new []byte) []byte {
	a, b := splitLines(old), splitLines(new)
	deleted, inserted := diffLines(a, b)
	changes := changeBlocks(deleted, inserted)
	if len(changes) == 0 {
		return nil
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldLabel, newLabel)
	for len(changes) > 0 {
		// A hunk takes every next change whose leading context would touch
		// or overlap the trailing context of the one before, like diff -u.
		n := 1
		for n < len(changes) && changes[n].a0-changes[n-1].a1 <= 2*diffContext {
			n++
		}
		writeHunk(&out, a, b, changes[:n])
		changes = changes[n:]
	}
	return out.Bytes()
}

// splitLines splits text after each newline; the last line lacks one when
// the text does not end in a newline. Keeping the newline in the line makes
// "x" and "x\n" different lines, which is how diff sees a missing final
// newline.
func splitLines(text []byte) []string {
	lines := strings.SplitAfter(string(text), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// A change replaces the lines a[a0:a1] of the old file by b[b0:b1] of the
// new one; either range may be empty.
type change struct{ a0, a1, b0, b1 int }

// changeBlocks turns the marks of a line diff into runs of changed lines,
// in order; the unchanged lines between them pair up one to one.
func changeBlocks(deleted, inserted []bool) []change {
	var changes []change
	i, j := 0, 0
	for i < len(deleted) || j < len(inserted) {
		if i < len(deleted) && j < len(inserted) && !deleted[i] && !inserted[j] {
			i, j = i+1, j+1
			continue
		}
		c := change{a0: i, b0: j}
		for i < len(deleted) && deleted[i] {
			i++
		}
		for j < len(inserted) && inserted[j] {
			j++
		}
		c.a1, c.b1 = i, j
		if c.a0 == c.a1 && c.b0 == c.b1 {
			panic("diff: unchanged lines do not pair up")
		}
		changes = append(changes, c)
	}
	return changes
}

// writeHunk writes one hunk holding changes and the context around them.
func writeHunk(out *bytes.Buffer, a, b []string, changes []change) {
	first, last := changes[0], changes[len(changes)-1]
	before := min(diffContext, first.a0)
	after := min(diffContext, len(a)-last.a1)
	aStart, aEnd := first.a0-before, last.a1+after
	bStart, bEnd := first.b0-before, last.b1+after
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(aStart, aEnd), hunkRange(bStart, bEnd))
	i := aStart
	for _, c := range changes {
		writeLines(out, ' ', a[i:c.a0])
		writeLines(out, '-', a[c.a0:c.a1])
		writeLines(out, '+', b[c.b0:c.b1])
		i = c.a1
	}
	writeLines(out, ' ', a[i:aEnd])
}

// hunkRange formats the lines [start, end) as a hunk header does: "3" for
// one line, "3,4" for four, and for none the number of the line before.
func hunkRange(start, end int) string {
	switch end - start {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, end-start)
}

func writeLines(out *bytes.Buffer, prefix byte, lines []string) {
	for _, l := range lines {
		out.WriteByte(prefix)
		out.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// diffLines finds a shortest edit script from a to b (a short one when
// they differ beyond diffCostLimit) and returns which lines of a it
// deletes and which lines of b it inserts.
func diffLines(a, b []string) (deleted, inserted []bool) {
	ids := map[string]int{}
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	aIDs, bIDs := intern(a), intern(b)
	inA, inB := make([]bool, len(ids)), make([]bool, len(ids))
	for _, id := range aIDs {
		inA[id] = true
	}
	for _, id := range bIDs {
		inB[id] = true
	}

	// A line found in only one of the files is changed in every edit
	// script, so the search can leave it out: a rewritten file then costs
	// little, and the script stays as short as it can be.
	m := &myers{deleted: make([]bool, len(a)), inserted: make([]bool, len(b)), costLimit: diffCostLimit}
	for i, id := range aIDs {
		if inB[id] {
			m.a, m.aLine = append(m.a, id), append(m.aLine, i)
		} else {
			m.deleted[i] = true
		}
	}
	for j, id := range bIDs {
		if inA[id] {
			m.b, m.bLine = append(m.b, id), append(m.bLine, j)
		} else {
			m.inserted[j] = true
		}
	}
	m.offset = len(m.b) + 1
	m.forward = make([]int, len(m.a)+len(m.b)+3)
	m.backward = make([]int, len(m.a)+len(m.b)+3)
	m.compare(0, len(m.a), 0, len(m.b))
	return m.deleted, m.inserted
}

// diffCostLimit bounds the edits that one search for a middle point may
// take before it settles for a good point instead (as GNU diff does): it
// keeps two files with little in common from taking seconds, at the price
// of a diff that is not always the shortest. Files with few changes never
// reach it. A variable so that tests can reach the fallback with small
// files.
var diffCostLimit = 1024

// myers is Eugene Myers' O(ND) difference algorithm in its linear-space
// form ("An O(ND) Difference Algorithm and Its Variations", 1986, section
// 4b): find the middle of a shortest edit script by searching from both
// ends at once, then solve the two halves the same way. Time is
// O((N+M)·D) for D changed lines; space is O(N+M).
//
// Points are (x, y): x lines of a and y lines of b consumed. Diagonal
// k = x - y. forward[k+offset] holds the furthest x on diagonal k that the
// search from the start has reached, backward[k+offset] the smallest x the
// search from the end has reached.
type myers struct {
	a, b              []int // line ids
	aLine, bLine      []int // where a[i] and b[j] are in the whole files
	deleted, inserted []bool
	forward, backward []int
	offset            int
	costLimit         int
}

// compare marks the edits that turn a[aLo:aHi] into b[bLo:bHi].
func (m *myers) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && m.a[aLo] == m.b[bLo] {
		aLo, bLo = aLo+1, bLo+1
	}
	for aLo < aHi && bLo < bHi && m.a[aHi-1] == m.b[bHi-1] {
		aHi, bHi = aHi-1, bHi-1
	}
	switch {
	case aLo == aHi:
		for _, j := range m.bLine[bLo:bHi] {
			m.inserted[j] = true
		}
	case bLo == bHi:
		for _, i := range m.aLine[aLo:aHi] {
			m.deleted[i] = true
		}
	default:
		// Both ends differ, so at least two edits are needed; each half
		// below needs fewer (or, past the cost limit, is a smaller box),
		// so the recursion ends.
		x, y := m.split(aLo, aHi, bLo, bHi)
		m.compare(aLo, x, bLo, y)
		m.compare(x, aHi, y, bHi)
	}
}

// split returns a point (x, y) that a shortest edit script from (aLo, bLo)
// to (aHi, bHi) passes through, with about half its edits on either side.
//
// Each search step takes one more edit on every diagonal it has reached.
// Unlike the paper, a step never leaves the box: a deletion needs x < aHi
// and an insertion y < bHi. Since the cost to reach a point only grows
// along a diagonal, the points reachable in d edits start each diagonal,
// so the furthest one that can still move is known, and the reached
// frontier stays exact up to the box's edges.
func (m *myers) split(aLo, aHi, bLo, bHi int) (x, y int) {
	const unreachedForward, unreachedBackward = -1, math.MaxInt
	fwd, bwd, off := m.forward, m.backward, m.offset
	kMin, kMax := aLo-bHi, aHi-bLo // the diagonals the box holds
	kStart, kEnd := aLo-bLo, aHi-bHi
	odd := (kEnd-kStart)%2 != 0 // the shortest script has odd length; the forward search finds its middle
	fMin, fMax, bMin, bMax := kStart, kStart, kEnd, kEnd
	fwd[kStart+off], bwd[kEnd+off] = aLo, aHi
	for cost := 1; ; cost++ {
		if cost > m.costLimit {
			return m.furthest(aLo, aHi, bLo, bHi, fMin, fMax, bMin, bMax)
		}
		if fMin > kMin {
			fMin--
			fwd[fMin-1+off] = unreachedForward
		} else {
			fMin++
		}
		if fMax < kMax {
			fMax++
			fwd[fMax+1+off] = unreachedForward
		} else {
			fMax--
		}
		for k := fMax; k >= fMin; k -= 2 {
			x = unreachedForward
			if lo := fwd[k-1+off]; lo != unreachedForward {
				x = min(lo+1, aHi) // a deletion from diagonal k-1
			}
			if hi := fwd[k+1+off]; hi != unreachedForward {
				x = max(x, min(hi, bHi+k)) // an insertion from diagonal k+1
			}
			y = x - k
			for x < aHi && y < bHi && m.a[x] == m.b[y] {
				x, y = x+1, y+1
			}
			fwd[k+off] = x
			if odd && bMin <= k && k <= bMax && bwd[k+off] <= x {
				return x, y
			}
		}

		if bMin > kMin {
			bMin--
			bwd[bMin-1+off] = unreachedBackward
		} else {
			bMin++
		}
		if bMax < kMax {
			bMax++
			bwd[bMax+1+off] = unreachedBackward
		} else {
			bMax--
		}
		for k := bMax; k >= bMin; k -= 2 {
			x = unreachedBackward
			if hi := bwd[k+1+off]; hi != unreachedBackward {
				x = max(hi, aLo+1) - 1 // a deletion, undone, from diagonal k+1
			}
			if lo := bwd[k-1+off]; lo != unreachedBackward {
				x = min(x, max(lo, bLo+k)) // an insertion, undone, from diagonal k-1
			}
			y = x - k
			for x > aLo && y > bLo && m.a[x-1] == m.b[y-1] {
				x, y = x-1, y-1
			}
			bwd[k+off] = x
			if !odd && fMin <= k && k <= fMax && x <= fwd[k+off] {
				return x, y
			}
		}
	}
}

// furthest returns the point that either search has pushed furthest from
// its corner, for a split that gave up on the shortest script. Both
// searches have taken a step, so the point is neither corner and both
// halves are smaller than the box.
func (m *myers) furthest(aLo, aHi, bLo, bHi, fMin, fMax, bMin, bMax int) (x, y int) {
	fwd, bwd, off := m.forward, m.backward, m.offset
	fBest, bBest := math.MinInt, math.MaxInt
	var fx, bx, fk, bk int
	for k := fMax; k >= fMin; k -= 2 {
		if x := fwd[k+off]; 2*x-k > fBest {
			fBest, fx, fk = 2*x-k, x, k
		}
	}
	for k := bMax; k >= bMin; k -= 2 {
		if x := bwd[k+off]; 2*x-k < bBest {
			bBest, bx, bk = 2*x-k, x, k
		}
	}
	if fBest-(aLo+bLo) >= (aHi+bHi)-bBest {
		return fx, fx - fk
	}
	return bx, bx - bk
}
