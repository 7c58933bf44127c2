package golden

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// trace is a PyTorch reference trace, as written by make_reference.py.
type trace struct {
	Name  string `json:"name"`
	Model struct {
		Layers []struct {
			Name       string `json:"name"`
			In         int    `json:"in"`
			Out        int    `json:"out"`
			Bias       *bool  `json:"bias"`
			Activation string `json:"activation"`
		} `json:"layers"`
	} `json:"model"`
	Loss struct {
		Type      string `json:"type"`
		Reduction string `json:"reduction"`
	} `json:"loss"`
	Optimizer map[string]any    `json:"optimizer"`
	Batch     *int              `json:"batch"`
	Steps     []json.RawMessage `json:"steps"`
}

func readTrace(t *testing.T, path string) trace {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tr trace
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

// partial reports whether a step of the trace has fewer samples than the
// batch, which the CPU package runs through its ...Batch methods (the GPU
// package takes full batches only).
func (tr trace) partial() bool {
	for _, raw := range tr.Steps {
		var st struct {
			X []json.RawMessage `json:"x"`
		}
		if json.Unmarshal(raw, &st) == nil && tr.Batch != nil && len(st.X) < *tr.Batch {
			return true
		}
	}
	return false
}

// cost estimates the multiply-adds of replaying the trace, with finite
// differences (two more passes per parameter) or without.
func (tr trace) cost(finiteDifferences bool) int {
	params := 0
	for _, l := range tr.Model.Layers {
		params += l.In * l.Out
		if l.Bias == nil || *l.Bias {
			params += l.Out
		}
	}
	work := params * len(tr.Steps)
	if tr.Batch != nil {
		work *= *tr.Batch
	}
	if finiteDifferences {
		work *= 1 + 2*params
	}
	return work
}

// modelSource writes the .nn description of a trace's network: what a user
// would write to get PyTorch's network.
func (tr trace) modelSource(dtype string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, as traced by make_reference.py\nnetwork %s\n", tr.Name, strings.ReplaceAll(tr.Name, "_", ""))
	if tr.Batch != nil {
		fmt.Fprintf(&b, "batch %d\n", *tr.Batch)
	}
	fmt.Fprintf(&b, "dtype %s\n", dtype)
	layers := tr.Model.Layers
	fmt.Fprintf(&b, "input x[%d]\n", layers[0].In)
	prev := "x"
	for i, l := range layers {
		fmt.Fprintf(&b, "%s = linear(%s, %d, %d", l.Name, prev, l.In, l.Out)
		if l.Bias != nil && !*l.Bias {
			b.WriteString(", bias=false")
		}
		b.WriteString(")\n")
		prev = l.Name
		if l.Activation != "" {
			call, ok := activations[l.Activation]
			if !ok {
				call = l.Activation + "(%s)"
			}
			prev = fmt.Sprintf("h%d", i+1)
			fmt.Fprintf(&b, "%s = %s\n", prev, fmt.Sprintf(call, l.Name))
		}
	}
	fmt.Fprintf(&b, "output %s\n", prev)
	target := fmt.Sprintf("target[%d]", layers[len(layers)-1].Out)
	if tr.Loss.Type == "cross_entropy" {
		target = "label"
	}
	fmt.Fprintf(&b, "loss %s(%s, %s", tr.Loss.Type, prev, target)
	if tr.Loss.Reduction != "" {
		fmt.Fprintf(&b, ", reduction=%s", tr.Loss.Reduction)
	}
	b.WriteString(")\n")
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(tr.Optimizer)) {
		switch v := tr.Optimizer[k].(type) {
		case string: // the type
		case bool:
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		case []any:
			kv = append(kv, fmt.Sprintf("%s=(%v, %v)", k, v[0], v[1]))
		default:
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
	}
	fmt.Fprintf(&b, "optimizer %s(%s)\n", tr.Optimizer["type"], strings.Join(kv, ", "))
	return b.String()
}

// activations spells the trace's activations in .nn where the name alone
// is not enough.
var activations = map[string]string{
	"leaky_relu_0.2": "leaky_relu(%s, negative_slope=0.2)",
	"elu_0.7":        "elu(%s, alpha=0.7)",
	"gelu_tanh":      "gelu(%s, approximate=tanh)",
}
