package ir

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// OptimizerSettings lists, per optimizer, its settings with PyTorch's names
// and defaults.
var OptimizerSettings = map[string][]Setting{
	"sgd": {{Name: "lr", Required: true}},
}

// Setting is one keyword argument of an optimizer.
type Setting struct {
	Name     string
	Default  float64
	Required bool
}

// NewOptimizer checks the user's settings for kind and fills in defaults.
// It reports every problem, naming the offending setting.
func NewOptimizer(kind string, given map[string]float64, pos Pos) (*Optimizer, []error) {
	spec, ok := OptimizerSettings[kind]
	if !ok {
		return nil, []error{fmt.Errorf("unknown optimizer %q (known: %s)", kind, strings.Join(sortedKeys(OptimizerSettings), ", "))}
	}
	var errs []error
	params := make(map[string]float64, len(spec))
	for _, s := range spec {
		v, ok := given[s.Name]
		switch {
		case ok:
			params[s.Name] = v
		case s.Required:
			errs = append(errs, fmt.Errorf("%s needs %s=...", kind, s.Name))
		default:
			params[s.Name] = s.Default
		}
	}
	for _, k := range sortedKeys(given) {
		if !slices.ContainsFunc(spec, func(s Setting) bool { return s.Name == k }) {
			names := make([]string, len(spec))
			for i, s := range spec {
				names[i] = s.Name
			}
			errs = append(errs, fmt.Errorf("%s has no setting %q (it takes: %s)", kind, k, strings.Join(names, ", ")))
		}
	}
	if lr, ok := params["lr"]; ok && !(lr >= 0 && lr <= math.MaxFloat64) {
		errs = append(errs, fmt.Errorf("%s: lr must be finite and at least 0, got %g", kind, lr))
	}
	if errs != nil {
		return nil, errs
	}
	return &Optimizer{Kind: kind, Params: params, Pos: pos}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
