package passes

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// runUpTo runs the pipeline up to and including the named pass, verifying
// the IR after each.
func runUpTo(t *testing.T, g *ir.Graph, last string, opts Options) {
	t.Helper()
	for _, p := range Pipeline {
		if err := p.Run(g, opts); err != nil {
			t.Fatalf("pass %s: %v", p.Name, err)
		}
		if err := g.Verify(); err != nil {
			t.Fatalf("after pass %s: %v", p.Name, err)
		}
		if p.Name == last {
			return
		}
	}
	t.Fatalf("no pass %q", last)
}

// section returns the lines of g's text form under the given phase header.
func section(g *ir.Graph, phase ir.Phase) string {
	var out []string
	in := false
	for _, line := range strings.Split(g.String(), "\n") {
		if strings.HasPrefix(line, "# ") {
			in = line == "# "+phase.String()
			continue
		}
		if in && strings.HasPrefix(line, "v") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func count(g *ir.Graph, op ir.Op) int {
	n := 0
	for _, v := range g.Values {
		if v.Op == op {
			n++
		}
	}
	return n
}

func TestPipelineNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range PassNames() {
		if seen[name] {
			t.Errorf("pass %s twice", name)
		}
		seen[name] = true
	}
	if err := CheckPassName("fuse"); err != nil {
		t.Error(err)
	}
	if err := CheckPassName("fusion"); err == nil || !strings.Contains(err.Error(), "schedule, layers, recognize, infer-only, fuse") {
		t.Errorf("CheckPassName(fusion) = %v", err)
	}
}

func TestRunNamesTheFailingPass(t *testing.T) {
	g := mlp(t, 1, 4, 3)
	g.Optimizer.Kind = "lbfgs"
	err := Run(g, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "pass optimizer: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestDumpSeesEveryPass(t *testing.T) {
	var seen []string
	g := mlp(t, 2, 4, 5, 3)
	if err := Run(g, Options{Verify: true, Dump: func(pass string, _ *ir.Graph) { seen = append(seen, pass) }}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != strings.Join(PassNames(), ",") {
		t.Errorf("dumped after %v, want %v", seen, PassNames())
	}
}
