package main

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// numbered returns the lines "1\n" to "n\n", with replace[i] instead of
// line i where given.
func numbered(n int, replace map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if r, ok := replace[i]; ok {
			b.WriteString(r + "\n")
		} else {
			fmt.Fprintf(&b, "%d\n", i)
		}
	}
	return b.String()
}

// diffCases hold the output of diff -u --label a --label b, written by hand;
// TestDiffMatchesGNU checks them against GNU diff where it is installed.
var diffCases = []struct {
	name, a, b, want string
}{
	{"identical", "a\nb\n", "a\nb\n", ""},
	{"both empty", "", "", ""},
	{"identical without final newline", "a\nb", "a\nb", ""},
	{"old empty", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n"},
	{"new empty", "a\nb\nc\n", "", "@@ -1,3 +0,0 @@\n-a\n-b\n-c\n"},
	{"one line each", "x\n", "y\n", "@@ -1 +1 @@\n-x\n+y\n"},
	{"final newline added", "x", "x\n", "@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"},
	{"final newline removed", "a\nb\nc\n", "a\nb\nc", "@@ -1,3 +1,3 @@\n a\n b\n-c\n+c\n\\ No newline at end of file\n"},
	{"no final newline in context", "a\nb\nc", "a\nB\nc",
		"@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n\\ No newline at end of file\n"},
	{"no final newline either side", "a\nb", "a\nc",
		"@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"},
	{"change at start", numbered(8, nil), numbered(8, map[int]string{1: "one"}),
		"@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n"},
	{"change at end", numbered(8, nil), numbered(8, map[int]string{8: "eight"}),
		"@@ -5,4 +5,4 @@\n 5\n 6\n 7\n-8\n+eight\n"},
	{"insertion", numbered(8, nil), numbered(8, map[int]string{4: "4\nnew"}),
		"@@ -2,6 +2,7 @@\n 2\n 3\n 4\n+new\n 5\n 6\n 7\n"},
	{"deletion", numbered(8, nil), strings.Replace(numbered(8, nil), "5\n", "", 1),
		"@@ -2,7 +2,6 @@\n 2\n 3\n 4\n-5\n 6\n 7\n 8\n"},
	{"all replaced", "a\nb\n", "c\nd\ne\n", "@@ -1,2 +1,3 @@\n-a\n-b\n+c\n+d\n+e\n"},
	{"six lines apart share a hunk", numbered(16, nil), numbered(16, map[int]string{3: "three", 10: "ten"}),
		"@@ -1,13 +1,13 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+ten\n 11\n 12\n 13\n"},
	{"seven lines apart make two hunks", numbered(16, nil), numbered(16, map[int]string{3: "three", 11: "eleven"}),
		"@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n" +
			"@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+eleven\n 12\n 13\n 14\n"},
	{"many small changes", numbered(10, nil), numbered(10, map[int]string{2: "two", 4: "four", 6: "six", 8: "eight"}),
		"@@ -1,10 +1,10 @@\n 1\n-2\n+two\n 3\n-4\n+four\n 5\n-6\n+six\n 7\n-8\n+eight\n 9\n 10\n"},
	{"repeated lines (Myers' example)", "a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n",
		"@@ -1,7 +1,6 @@\n-a\n-b\n c\n-a\n b\n+a\n b\n a\n+c\n"},
}

func TestUnifiedDiff(t *testing.T) {
	for _, c := range diffCases {
		got := string(unifiedDiff("a", "b", []byte(c.a), []byte(c.b)))
		want := ""
		if c.want != "" {
			want = "--- a\n+++ b\n" + c.want
		}
		if got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, got, want)
		}
	}
}

// TestDiffMatchesGNU checks the hand-written cases against GNU diff, which
// defines the format.
func TestDiffMatchesGNU(t *testing.T) {
	version, err := exec.Command("diff", "--version").Output()
	if err != nil || !strings.Contains(string(version), "GNU diffutils") {
		t.Skip("GNU diff is not installed")
	}
	dir := t.TempDir()
	for _, c := range diffCases {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		writeFile(t, a, c.a)
		writeFile(t, b, c.b)
		out, err := exec.Command("diff", "-u", "--label", "a", "--label", "b", a, b).Output()
		if len(out) == 0 && err != nil {
			t.Fatalf("%s: diff: %v", c.name, err)
		}
		if got := string(unifiedDiff("a", "b", []byte(c.a), []byte(c.b))); got != string(out) {
			t.Errorf("%s: got\n%s\nGNU diff -u prints\n%s", c.name, got, out)
		}
	}
}

// TestDiffApplies applies the diff of many random pairs of files and
// requires the new file back, with as few changed lines as possible.
func TestDiffApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 5000 {
		a := randomLines(rng, rng.IntN(30), 1+rng.IntN(6))
		var b []string
		if n%2 == 0 {
			b = randomLines(rng, rng.IntN(30), 1+rng.IntN(6))
		} else {
			b = randomEdit(rng, a, 1+rng.IntN(6))
		}
		old, new := strings.Join(a, ""), strings.Join(b, "")
		diff := string(unifiedDiff("a", "b", []byte(old), []byte(new)))
		got, changed, err := applyDiff(old, diff)
		if err != nil || got != new {
			t.Fatalf("old %q\nnew %q\ndiff:\n%s\napplied: %q, %v", old, new, diff, got, err)
		}
		if want := len(a) + len(b) - 2*lcsLength(a, b); changed != want {
			t.Fatalf("old %q\nnew %q\ndiff:\n%s\nchanges %d lines, the fewest is %d", old, new, diff, changed, want)
		}
	}
}

// TestDiffAppliesBeyondCostLimit is TestDiffApplies with the search for
// a shortest script cut short almost at once: the diffs are longer, but
// must still turn the old file into the new.
func TestDiffAppliesBeyondCostLimit(t *testing.T) {
	defer func(limit int) { diffCostLimit = limit }(diffCostLimit)
	rng := rand.New(rand.NewPCG(3, 4))
	longer := 0
	for _, limit := range []int{1, 2, 3, 5} {
		diffCostLimit = limit
		for range 2000 {
			a := randomLines(rng, rng.IntN(60), 1+rng.IntN(4))
			b := randomLines(rng, rng.IntN(60), 1+rng.IntN(4))
			old, new := strings.Join(a, ""), strings.Join(b, "")
			diff := string(unifiedDiff("a", "b", []byte(old), []byte(new)))
			got, changed, err := applyDiff(old, diff)
			if err != nil || got != new {
				t.Fatalf("cost limit %d: old %q\nnew %q\ndiff:\n%s\napplied: %q, %v", limit, old, new, diff, got, err)
			}
			if changed > len(a)+len(b)-2*lcsLength(a, b) {
				longer++
			}
		}
	}
	if longer == 0 {
		t.Error("the cost limit never took effect")
	}
}

// TestDiffLargeFile diffs two 20,000-line files that differ in a few
// lines, and a file against a rewrite of it; the search must not take
// memory for every pair of lines (20,000² would be gigabytes).
func TestDiffLargeFile(t *testing.T) {
	const n = 20000
	a := make([]string, n)
	for i := range a {
		a[i] = fmt.Sprintf("\tv%d = x[%d] * w[%d]\n", i, i%17, i%5)
	}
	b := append([]string(nil), a...)
	b[10] = "changed\n"
	b = append(b[:5000], b[5010:]...)
	b = append(b[:12000], append([]string{"inserted\n", "inserted\n"}, b[12000:]...)...)
	b[n-20] = "changed near the end\n"
	rewritten := make([]string, n)
	for i := range rewritten {
		rewritten[i] = fmt.Sprintf("\tu%d = y[%d] + b[%d]\n", i, i%13, i%3)
	}
	for _, c := range []struct {
		name    string
		b       []string
		changed int
	}{{"a few changes", b, 2 + 10 + 2 + 2}, {"rewritten", rewritten, 2 * n}} {
		old, new := strings.Join(a, ""), strings.Join(c.b, "")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		diff := string(unifiedDiff("a", "b", []byte(old), []byte(new)))
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: the diff allocated %d MiB", c.name, alloc>>20)
		}
		got, changed, err := applyDiff(old, diff)
		if err != nil || got != new || changed != c.changed {
			t.Errorf("%s: applying the diff: %v; same result %v; %d lines changed, want %d", c.name, err, got == new, changed, c.changed)
		}
	}
}

func BenchmarkDiffLargeFile(b *testing.B) {
	var old, new strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&old, "line %d\n", i)
		if i%5000 == 7 {
			fmt.Fprintf(&new, "changed %d\n", i)
		} else {
			fmt.Fprintf(&new, "line %d\n", i)
		}
	}
	a, c := []byte(old.String()), []byte(new.String())
	for b.Loop() {
		unifiedDiff("a", "b", a, c)
	}
}

// randomLines returns n lines from an alphabet of k, the last one without
// its newline one time in four.
func randomLines(rng *rand.Rand, n, k int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("l%d\n", rng.IntN(k))
	}
	if n > 0 && rng.IntN(4) == 0 {
		lines[n-1] = strings.TrimSuffix(lines[n-1], "\n")
	}
	return lines
}

// randomEdit returns lines with a few lines deleted, inserted or replaced.
func randomEdit(rng *rand.Rand, lines []string, edits int) []string {
	out := append([]string(nil), lines...)
	for range edits {
		i := rng.IntN(len(out) + 1)
		line := fmt.Sprintf("e%d\n", rng.IntN(3))
		switch {
		case rng.IntN(3) == 0 && i < len(out):
			out = append(out[:i], out[i+1:]...)
		case rng.IntN(2) == 0 && i < len(out):
			out[i] = line
		default:
			out = append(out[:i], append([]string{line}, out[i:]...)...)
		}
	}
	// The edits may have moved a line without a newline away from the end.
	for i := range out {
		if i < len(out)-1 && !strings.HasSuffix(out[i], "\n") {
			out[i] += "\n"
		}
	}
	return out
}

// applyDiff applies a unified diff to old, checking every context and
// deleted line and every hunk header, and returns the result and the number
// of lines deleted and inserted.
func applyDiff(old, diff string) (string, int, error) {
	if diff == "" {
		return old, 0, nil
	}
	a := splitLines([]byte(old))
	rest, ok := strings.CutPrefix(diff, "--- a\n+++ b\n")
	if !ok {
		return "", 0, fmt.Errorf("no file header")
	}
	// Each line of the diff body, its newline restored unless a marker
	// follows it.
	var body []string
	for _, l := range strings.SplitAfter(rest, "\n") {
		switch {
		case l == "":
		case l == "\\ No newline at end of file\n":
			if len(body) == 0 || body[len(body)-1][0] == '@' {
				return "", 0, fmt.Errorf("misplaced no-newline marker")
			}
			body[len(body)-1] = strings.TrimSuffix(body[len(body)-1], "\n")
		default:
			body = append(body, l)
		}
	}
	var out strings.Builder
	i, outLines, changed := 0, 0, 0
	for len(body) > 0 {
		var aStart, aCount, bStart, bCount int
		header := body[0]
		body = body[1:]
		if err := parseHunkHeader(header, &aStart, &aCount, &bStart, &bCount); err != nil {
			return "", 0, err
		}
		if aCount > 0 {
			aStart-- // the header counts from 1, or names the line before an empty range
		}
		if aStart < i || aStart > len(a) {
			return "", 0, fmt.Errorf("hunk at line %d overlaps or lies outside the file", aStart)
		}
		for ; i < aStart; i++ {
			out.WriteString(a[i])
			outLines++
		}
		if bCount > 0 {
			bStart--
		}
		if bStart != outLines {
			return "", 0, fmt.Errorf("hunk header %q: the new file's hunk starts after line %d", header, outLines)
		}
		aSeen, bSeen := 0, 0
		for len(body) > 0 && body[0][0] != '@' {
			op, text := body[0][0], body[0][1:]
			body = body[1:]
			if op == ' ' || op == '-' {
				if i >= len(a) || a[i] != text {
					return "", 0, fmt.Errorf("line %d is %q, the diff has %q", i+1, lineAt(a, i), text)
				}
				i++
				aSeen++
			}
			if op == ' ' || op == '+' {
				out.WriteString(text)
				outLines++
				bSeen++
			}
			switch op {
			case '-', '+':
				changed++
			case ' ':
			default:
				return "", 0, fmt.Errorf("bad line %q", op)
			}
		}
		if aSeen != aCount || bSeen != bCount {
			return "", 0, fmt.Errorf("the header counts %d and %d lines, the hunk has %d and %d", aCount, bCount, aSeen, bSeen)
		}
	}
	for ; i < len(a); i++ {
		out.WriteString(a[i])
	}
	return out.String(), changed, nil
}

func parseHunkHeader(line string, aStart, aCount, bStart, bCount *int) error {
	ranges, ok := strings.CutPrefix(line, "@@ -")
	ranges, ok2 := strings.CutSuffix(ranges, " @@\n")
	old, new, ok3 := strings.Cut(ranges, " +")
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("bad hunk header %q", line)
	}
	parse := func(r string, start, count *int) error {
		s, c, hasCount := strings.Cut(r, ",")
		var err1, err2 error
		*start, err1 = strconv.Atoi(s)
		*count = 1
		if hasCount {
			*count, err2 = strconv.Atoi(c)
			if *count == 1 {
				return fmt.Errorf("hunk header %q spells out a count of 1", line)
			}
		}
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad hunk header %q", line)
		}
		return nil
	}
	if err := parse(old, aStart, aCount); err != nil {
		return err
	}
	return parse(new, bStart, bCount)
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}

// lcsLength is the length of a longest common subsequence, by the
// quadratic dynamic program: the oracle for how few lines a diff can
// change.
func lcsLength(a, b []string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
