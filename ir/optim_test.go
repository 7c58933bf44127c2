package ir

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// set is the settings a user gave, as NewOptimizer takes them.
type set = map[string][]float64

func TestNewOptimizer(t *testing.T) {
	pos := Pos{File: "model.nn", Line: 11, Col: 11}
	known := strings.Join(slices.Sorted(maps.Keys(OptimizerSettings)), ", ")
	if known != "adam, adamw, sgd" {
		t.Fatalf("known optimizers %q", known)
	}
	const (
		sgdTakes  = "(it takes: lr, momentum, dampening, nesterov, weight_decay)"
		adamTakes = "(it takes: lr, betas, eps, weight_decay)"
	)
	// PyTorch 1.13's defaults: SGD(params, lr=required, momentum=0,
	// dampening=0, weight_decay=0, nesterov=False); Adam(params, lr=1e-3,
	// betas=(0.9, 0.999), eps=1e-8, weight_decay=0); AdamW the same but
	// weight_decay=1e-2.
	sgd := func(lr float64) map[string]float64 {
		return map[string]float64{"lr": lr, "momentum": 0, "dampening": 0, "nesterov": 0, "weight_decay": 0}
	}
	adam := map[string]float64{"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0}
	adamw := map[string]float64{"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2}
	with := func(m map[string]float64, kv ...any) map[string]float64 {
		m = maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(float64)
		}
		return m
	}
	tests := []struct {
		name   string
		kind   string
		given  set
		want   map[string]float64
		errors []string
	}{
		{name: "sgd defaults", kind: "sgd", given: set{"lr": {0.3}}, want: sgd(0.3)},
		{name: "sgd zero lr", kind: "sgd", given: set{"lr": {0}}, want: sgd(0)},
		{name: "sgd every setting", kind: "sgd",
			given: set{"lr": {0.1}, "momentum": {0.9}, "dampening": {0.1}, "nesterov": {0}, "weight_decay": {1e-4}},
			want:  map[string]float64{"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": 0, "weight_decay": 1e-4}},
		{name: "sgd nesterov", kind: "sgd", given: set{"lr": {0.1}, "momentum": {0.9}, "nesterov": {1}},
			want: with(sgd(0.1), "momentum", 0.9, "nesterov", 1.0)},
		// PyTorch checks no range for dampening.
		{name: "sgd negative dampening", kind: "sgd", given: set{"lr": {0.1}, "momentum": {0.5}, "dampening": {-0.5}},
			want: with(sgd(0.1), "momentum", 0.5, "dampening", -0.5)},
		{name: "adam defaults", kind: "adam", given: nil, want: adam},
		{name: "adam betas split", kind: "adam", given: set{"betas": {0.8, 0.99}},
			want: with(adam, "beta1", 0.8, "beta2", 0.99)},
		{name: "adam every setting", kind: "adam", given: set{"lr": {0.01}, "betas": {0, 0.5}, "eps": {0}, "weight_decay": {0.1}},
			want: map[string]float64{"lr": 0.01, "beta1": 0, "beta2": 0.5, "eps": 0, "weight_decay": 0.1}},
		{name: "adamw defaults", kind: "adamw", given: set{}, want: adamw},
		{name: "adamw no decay", kind: "adamw", given: set{"weight_decay": {0}}, want: with(adamw, "weight_decay", 0.0)},

		{name: "missing lr", kind: "sgd", given: nil,
			errors: []string{"sgd needs lr=..."}},
		{name: "lr two numbers", kind: "sgd", given: set{"lr": {0.1, 0.2}},
			errors: []string{"sgd: lr takes a number"}},
		{name: "lr no number", kind: "adam", given: set{"lr": {}},
			errors: []string{"adam: lr takes a number"}},
		{name: "nesterov pair", kind: "sgd", given: set{"lr": {0.1}, "momentum": {0.9}, "nesterov": {1, 1}},
			errors: []string{"sgd: nesterov takes true or false"}},
		{name: "betas one number", kind: "adam", given: set{"betas": {0.9}},
			errors: []string{"adam: betas takes two numbers, like (0.9, 0.999)"}},
		{name: "betas three numbers", kind: "adamw", given: set{"betas": {0.9, 0.99, 0.999}},
			errors: []string{"adamw: betas takes two numbers, like (0.9, 0.999)"}},
		{name: "unknown setting", kind: "sgd", given: set{"lr": {0.3}, "betas": {0.9, 0.999}},
			errors: []string{`sgd has no setting "betas" ` + sgdTakes}},
		// A Pair's halves are hyperparameter names, not settings.
		{name: "beta1 is not a setting", kind: "adam", given: set{"beta1": {0.9}},
			errors: []string{`adam has no setting "beta1" ` + adamTakes}},
		{name: "unknown settings, sorted", kind: "adam", given: set{"momentum": {0.9}, "amsgrad": {1}, "lr": {1}},
			errors: []string{
				`adam has no setting "amsgrad" ` + adamTakes,
				`adam has no setting "momentum" ` + adamTakes,
			}},

		{name: "negative lr", kind: "sgd", given: set{"lr": {-0.1}},
			errors: []string{"sgd: lr must be finite and at least 0, got -0.1"}},
		{name: "NaN lr", kind: "sgd", given: set{"lr": {math.NaN()}},
			errors: []string{"sgd: lr must be finite and at least 0, got NaN"}},
		{name: "infinite lr", kind: "adam", given: set{"lr": {math.Inf(1)}},
			errors: []string{"adam: lr must be finite and at least 0, got +Inf"}},
		{name: "negative momentum", kind: "sgd", given: set{"lr": {0.1}, "momentum": {-0.9}},
			errors: []string{"sgd: momentum must be finite and at least 0, got -0.9"}},
		{name: "infinite dampening", kind: "sgd", given: set{"lr": {0.1}, "momentum": {0.9}, "dampening": {math.Inf(-1)}},
			errors: []string{"sgd: dampening must be finite, got -Inf"}},
		{name: "negative weight_decay", kind: "sgd", given: set{"lr": {0.1}, "weight_decay": {-1e-4}},
			errors: []string{"sgd: weight_decay must be finite and at least 0, got -0.0001"}},
		{name: "beta1 one", kind: "adam", given: set{"betas": {1, 0.999}},
			errors: []string{"adam: beta1 must be in [0, 1), got 1"}},
		{name: "beta2 negative", kind: "adam", given: set{"betas": {0.9, -0.1}},
			errors: []string{"adam: beta2 must be in [0, 1), got -0.1"}},
		{name: "beta2 NaN", kind: "adamw", given: set{"betas": {0.9, math.NaN()}},
			errors: []string{"adamw: beta2 must be in [0, 1), got NaN"}},
		{name: "negative eps", kind: "adam", given: set{"eps": {-1e-8}},
			errors: []string{"adam: eps must be finite and at least 0, got -1e-08"}},
		{name: "negative adamw weight_decay", kind: "adamw", given: set{"weight_decay": {-0.01}},
			errors: []string{"adamw: weight_decay must be finite and at least 0, got -0.01"}},
		{name: "nesterov without momentum", kind: "sgd", given: set{"lr": {0.1}, "nesterov": {1}},
			errors: []string{"sgd: nesterov needs a momentum above 0 and dampening 0"}},
		{name: "nesterov with dampening", kind: "sgd", given: set{"lr": {0.1}, "momentum": {0.9}, "dampening": {0.1}, "nesterov": {1}},
			errors: []string{"sgd: nesterov needs a momentum above 0 and dampening 0"}},

		{name: "every range error", kind: "sgd", given: set{"lr": {-1}, "momentum": {-1}, "weight_decay": {-1}, "nesterov": {1}},
			errors: []string{
				"sgd: lr must be finite and at least 0, got -1",
				"sgd: momentum must be finite and at least 0, got -1",
				"sgd: weight_decay must be finite and at least 0, got -1",
				"sgd: nesterov needs a momentum above 0 and dampening 0",
			}},
		{name: "every adam range error", kind: "adam", given: set{"lr": {-1}, "betas": {-0.5, 1.5}, "eps": {math.Inf(1)}, "weight_decay": {-1}},
			errors: []string{
				"adam: lr must be finite and at least 0, got -1",
				"adam: weight_decay must be finite and at least 0, got -1",
				"adam: eps must be finite and at least 0, got +Inf",
				"adam: beta1 must be in [0, 1), got -0.5",
				"adam: beta2 must be in [0, 1), got 1.5",
			}},
		{name: "every malformed setting", kind: "sgd", given: set{"momentum": {1, 2}, "nesterov": {}, "betas": {0.9, 0.999}, "eps": {1}},
			errors: []string{
				"sgd needs lr=...",
				"sgd: momentum takes a number",
				"sgd: nesterov takes true or false",
				`sgd has no setting "betas" ` + sgdTakes,
				`sgd has no setting "eps" ` + sgdTakes,
			}},
		// Ranges are checked once the settings are well formed: a value
		// missing for a malformed setting would read as 0 and give
		// confusing follow-on errors (nesterov without momentum).
		{name: "ranges wait for well-formed settings", kind: "sgd", given: set{"lr": {-1}, "momentum": {0.9, 0.1}, "nesterov": {1}},
			errors: []string{"sgd: momentum takes a number"}},
		{name: "unknown kind", kind: "no_such_optimizer", given: set{"lr": {0.3}},
			errors: []string{`unknown optimizer "no_such_optimizer" (known: adam, adamw, sgd)`}},
		{name: "kind is case-sensitive", kind: "Adam", given: nil,
			errors: []string{`unknown optimizer "Adam" (known: adam, adamw, sgd)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, errs := NewOptimizer(tt.kind, tt.given, pos)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tt.errors) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errors, "\n"))
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
			// caller's values do not reach it.
			for _, v := range tt.given {
				for i := range v {
					v[i] = -1
				}
			}
			if !maps.Equal(o.Params, tt.want) {
				t.Errorf("settings %v changed with the caller's map", o.Params)
			}
		})
	}
}

// Each setting's shape matches its kind, and the defaults are in range.
func TestOptimizerSettingsTable(t *testing.T) {
	for kind, settings := range OptimizerSettings {
		names := map[string]bool{}
		for _, s := range settings {
			if names[s.Name] {
				t.Errorf("%s: setting %s twice", kind, s.Name)
			}
			names[s.Name] = true
			switch {
			case s.Required && s.Default != nil:
				t.Errorf("%s: required %s has a default", kind, s.Name)
			case !s.Required && len(s.Default) != s.size():
				t.Errorf("%s: %s default %v, want %d numbers", kind, s.Name, s.Default, s.size())
			case s.Kind == Pair && len(s.Names) != 2:
				t.Errorf("%s: pair %s names %v", kind, s.Name, s.Names)
			case s.Kind != Pair && s.Names != nil:
				t.Errorf("%s: %s names %v", kind, s.Name, s.Names)
			}
		}
		if !names["lr"] || !names["weight_decay"] {
			t.Errorf("%s: settings %v lack lr or weight_decay", kind, names)
		}
		// Defaults alone (and lr where required) make a valid optimizer.
		if _, errs := NewOptimizer(kind, set{"lr": {0.1}}, Pos{}); errs != nil {
			t.Errorf("%s with its defaults: %v", kind, errs)
		}
	}
}
