package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const tutorialModel = "../../examples/tutorial/model.nn"

// runGraph runs "nngen graph args..." and returns its exit status and output.
func runGraph(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"graph"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestGraph(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		want, notWant []string
	}{{
		// After fusion: what build generates, forward only.
		args:    []string{tutorialModel},
		want:    []string{`label="h1 = linear[act=sigmoid]\nf32[1,5]"`, `label="layer3 = linear\nf32[1,3]\noutput"`, "shape=box3d", "shape=ellipse", "v0 -> v3;"},
		notWant: []string{`= sigmoid\n`, "mse", "_grad", "sgd"},
	}, {
		args:    []string{"-after", "layers", tutorialModel},
		want:    []string{`label="layer1 = linear\nf32[1,5]"`, `label="h1 = sigmoid\nf32[1,5]"`, "v3 -> v4;"},
		notWant: []string{"act=sigmoid"},
	}, {
		args: []string{"-after", "none", tutorialModel},
		want: []string{`label="h1 = sigmoid\nf32[1,5]"`},
	}, {
		args: []string{"-nofuse", tutorialModel},
		want: []string{`label="h1 = sigmoid\nf32[1,5]"`},
	}, {
		// Every phase after the last pass: gradients, the update, storage.
		args: []string{"-backward", tutorialModel},
		want: []string{"loss = mse[reduction=mean]", `dh1.pre = sigmoid_grad\nf32[1,5] @slot1`, `\ngrad of layer1.weight"`,
			"layer1.weight = sgd", "lr = hyper[value=0.3]", "optimizer sgd", `fillcolor="#d6e4f5"`},
	}, {
		args:    []string{"-backward", "-after", "autodiff", tutorialModel},
		want:    []string{"dlayer1.weight = matmul[ta]", "dx = matmul"},
		notWant: []string{"sgd\\n", "@slot"},
	}, {
		args:    []string{"-infer", "-backward", tutorialModel},
		want:    []string{"h1 = linear[act=sigmoid]"},
		notWant: []string{"mse", "_grad", "sgd"},
	}} {
		code, stdout, stderr := runGraph(t, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("nngen graph %v: exit %d, stderr %q", tc.args, code, stderr)
			continue
		}
		if !strings.HasPrefix(stdout, `digraph "MyModel" {`) || !strings.HasSuffix(stdout, "}\n") {
			t.Errorf("nngen graph %v: not a digraph:\n%s", tc.args, stdout)
		}
		for _, s := range tc.want {
			if !strings.Contains(stdout, s) {
				t.Errorf("nngen graph %v: no %s in:\n%s", tc.args, s, stdout)
			}
		}
		for _, s := range tc.notWant {
			if strings.Contains(stdout, s) {
				t.Errorf("nngen graph %v: unexpected %s in:\n%s", tc.args, s, stdout)
			}
		}
		if _, again, _ := runGraph(t, tc.args...); again != stdout {
			t.Errorf("nngen graph %v: two runs differ", tc.args)
		}
		checkDOT(t, tc.args, stdout)
	}
}

// checkDOT lets Graphviz parse dot, where it is installed.
func checkDOT(t *testing.T, args []string, dot string) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		t.Logf("nngen graph %v: dot (Graphviz) is not installed: not checking that it accepts the output", args)
		return
	}
	cmd := exec.Command(path, "-Tsvg", "-o", os.DevNull)
	cmd.Stdin = strings.NewReader(dot)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("nngen graph %v | dot -Tsvg: %v\n%s", args, err, out)
	}
}

func TestGraphErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"a.nn", "b.nn"}, {"-bogus", tutorialModel}, {"-after"}} {
		if code, stdout, _ := runGraph(t, args...); code != 2 || stdout != "" {
			t.Errorf("nngen graph %v: exit %d, stdout %q; want exit 2 and no output", args, code, stdout)
		}
	}
	if code, _, stderr := runGraph(t, "-after", "fusion", tutorialModel); code != 2 ||
		!strings.Contains(stderr, `no pass "fusion" (passes: schedule, layers, recognize, infer-only, fuse, autodiff, optimizer, deadcode, plan)`) {
		t.Errorf("-after fusion: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runGraph(t, "missing.nn"); code != 1 || !strings.Contains(stderr, "missing.nn") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}

	bad := filepath.Join(t.TempDir(), "bad.nn")
	if err := os.WriteFile(bad, []byte("network Bad\ninput x[4]\nh = linear(x, 5\nout = sigmod(h)\noutput out\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runGraph(t, bad)
	if code != 1 || stdout != "" {
		t.Fatalf("bad model: exit %d, stdout %q; want exit 1 and no output", code, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) < 2 {
		t.Errorf("want every error at once, got:\n%s", stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, bad+":") {
			t.Errorf("error without a position: %q", l)
		}
	}
}
