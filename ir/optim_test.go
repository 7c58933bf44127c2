package ir

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNewOptimizer(t *testing.T) {
	// sgd has no optional setting, so a made-up optimizer checks that
	// defaults are filled in.
	OptimizerSettings["test_momentum"] = []Setting{
		{Name: "lr", Required: true},
		{Name: "momentum", Default: 0.9},
		{Name: "dampening"},
	}
	t.Cleanup(func() { delete(OptimizerSettings, "test_momentum") })

	pos := Pos{File: "model.nn", Line: 11, Col: 11}
	// Every optimizer, sorted; the list grows as optimizers are added.
	known := strings.Join(slices.Sorted(maps.Keys(OptimizerSettings)), ", ")
	if !strings.Contains(known, "sgd") || !strings.Contains(known, "test_momentum") {
		t.Fatalf("known optimizers %q", known)
	}
	tests := []struct {
		name   string
		kind   string
		given  map[string]float64
		want   map[string]float64
		errors []string
	}{
		{name: "sgd", kind: "sgd", given: map[string]float64{"lr": 0.3}, want: map[string]float64{"lr": 0.3}},
		{name: "zero lr", kind: "sgd", given: map[string]float64{"lr": 0}, want: map[string]float64{"lr": 0}},
		{name: "defaults", kind: "test_momentum", given: map[string]float64{"lr": 0.1},
			want: map[string]float64{"lr": 0.1, "momentum": 0.9, "dampening": 0}},
		{name: "default overridden", kind: "test_momentum", given: map[string]float64{"lr": 0.1, "momentum": 0},
			want: map[string]float64{"lr": 0.1, "momentum": 0, "dampening": 0}},
		{name: "missing lr", kind: "sgd", given: nil,
			errors: []string{"sgd needs lr=..."}},
		{name: "unknown setting", kind: "sgd", given: map[string]float64{"lr": 0.3, "momentum": 0.9},
			errors: []string{`sgd has no setting "momentum" (it takes: lr)`}},
		{name: "unknown settings, sorted", kind: "test_momentum", given: map[string]float64{"lr": 1, "nesterov": 1, "beta": 0},
			errors: []string{
				`test_momentum has no setting "beta" (it takes: lr, momentum, dampening)`,
				`test_momentum has no setting "nesterov" (it takes: lr, momentum, dampening)`,
			}},
		{name: "negative lr", kind: "sgd", given: map[string]float64{"lr": -0.1},
			errors: []string{"sgd: lr must be finite and at least 0, got -0.1"}},
		{name: "NaN lr", kind: "sgd", given: map[string]float64{"lr": math.NaN()},
			errors: []string{"sgd: lr must be finite and at least 0, got NaN"}},
		{name: "infinite lr", kind: "sgd", given: map[string]float64{"lr": math.Inf(1)},
			errors: []string{"sgd: lr must be finite and at least 0, got +Inf"}},
		{name: "every problem", kind: "sgd", given: map[string]float64{"momentum": 0.9},
			errors: []string{
				"sgd needs lr=...",
				`sgd has no setting "momentum" (it takes: lr)`,
			}},
		{name: "unknown kind", kind: "no_such_optimizer", given: map[string]float64{"lr": 0.3},
			errors: []string{`unknown optimizer "no_such_optimizer" (known: ` + known + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, errs := NewOptimizer(tt.kind, tt.given, pos)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tt.errors) {
				t.Fatalf("errors %q, want %q", got, tt.errors)
			}
			if tt.errors != nil {
				if o != nil {
					t.Errorf("an optimizer %+v along with errors", o)
				}
				return
			}
			if o == nil || o.Kind != tt.kind || o.Pos != pos || !maps.Equal(o.Params, tt.want) {
				t.Fatalf("NewOptimizer = %+v, want %s %v at %s", o, tt.kind, tt.want, pos)
			}
			// The optimizer owns its settings: later changes to the
			// caller's map do not reach it.
			for k := range tt.given {
				tt.given[k] = -1
			}
			if !maps.Equal(o.Params, tt.want) {
				t.Errorf("settings %v changed with the caller's map", o.Params)
			}
		})
	}
}
