package ir

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// SettingKind is the type of an optimizer setting's value.
type SettingKind uint8

const (
	Number SettingKind = iota // lr=0.3
	Bool                      // nesterov=true, given as 1 or 0
	Pair                      // betas=(0.9, 0.999)
)

// Setting is one keyword argument of an optimizer, named as in PyTorch.
type Setting struct {
	Name     string
	Kind     SettingKind
	Default  []float64 // one value, two for a Pair
	Required bool
	// Names are the hyperparameters a Pair becomes ("beta1", "beta2").
	Names []string
}

// size is how many numbers the setting's value holds.
func (s Setting) size() int {
	if s.Kind == Pair {
		return 2
	}
	return 1
}

func num(name string, def float64) Setting { return Setting{Name: name, Default: []float64{def}} }

var betas = Setting{Name: "betas", Kind: Pair, Default: []float64{0.9, 0.999}, Names: []string{"beta1", "beta2"}}

// OptimizerSettings lists, per optimizer, its settings with PyTorch's names
// and defaults (torch.optim in PyTorch 1.13).
var OptimizerSettings = map[string][]Setting{
	"sgd": {{Name: "lr", Required: true}, num("momentum", 0), num("dampening", 0),
		{Name: "nesterov", Kind: Bool, Default: []float64{0}}, num("weight_decay", 0)},
	"adam":  {num("lr", 1e-3), betas, num("eps", 1e-8), num("weight_decay", 0)},
	"adamw": {num("lr", 1e-3), betas, num("eps", 1e-8), num("weight_decay", 1e-2)},
}

// Optimizer is the update rule that Step applies, with its settings.
type Optimizer struct {
	Kind string
	// Params holds every setting, defaults filled in; a Pair is split into
	// its Names, a Bool is 1 or 0.
	Params map[string]float64
	Pos    Pos
}

// NewOptimizer checks the user's settings for kind and fills in defaults.
// It reports every problem, naming the offending setting.
func NewOptimizer(kind string, given map[string][]float64, pos Pos) (*Optimizer, []error) {
	spec, ok := OptimizerSettings[kind]
	if !ok {
		return nil, []error{fmt.Errorf("unknown optimizer %q (known: %s)", kind, strings.Join(sortedKeys(OptimizerSettings), ", "))}
	}
	var errs []error
	params := map[string]float64{}
	for _, s := range spec {
		v, ok := given[s.Name]
		switch {
		case !ok && s.Required:
			errs = append(errs, fmt.Errorf("%s needs %s=...", kind, s.Name))
			continue
		case !ok:
			v = s.Default
		case len(v) != s.size():
			errs = append(errs, fmt.Errorf("%s: %s takes %s", kind, s.Name, [...]string{"a number", "true or false", "two numbers, like (0.9, 0.999)"}[s.Kind]))
			continue
		}
		if s.Kind == Pair {
			for i, name := range s.Names {
				params[name] = v[i]
			}
		} else {
			params[s.Name] = v[0]
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
	if errs == nil {
		errs = checkRanges(kind, params)
	}
	if errs != nil {
		return nil, errs
	}
	return &Optimizer{Kind: kind, Params: params, Pos: pos}, nil
}

// checkRanges rejects what PyTorch's optimizers reject.
func checkRanges(kind string, p map[string]float64) []error {
	var errs []error
	finite := func(name string, lo, hi float64, what string) {
		if v, ok := p[name]; ok && !(v >= lo && v <= hi && !math.IsInf(v, 0)) {
			errs = append(errs, fmt.Errorf("%s: %s must be %s, got %g", kind, name, what, v))
		}
	}
	finite("lr", 0, math.MaxFloat64, "finite and at least 0")
	finite("momentum", 0, math.MaxFloat64, "finite and at least 0")
	finite("dampening", -math.MaxFloat64, math.MaxFloat64, "finite")
	finite("weight_decay", 0, math.MaxFloat64, "finite and at least 0")
	finite("eps", 0, math.MaxFloat64, "finite and at least 0")
	finite("beta1", 0, math.Nextafter(1, 0), "in [0, 1)")
	finite("beta2", 0, math.Nextafter(1, 0), "in [0, 1)")
	if p["nesterov"] != 0 && (p["momentum"] <= 0 || p["dampening"] != 0) {
		errs = append(errs, fmt.Errorf("%s: nesterov needs a momentum above 0 and dampening 0", kind))
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckFor reports the settings that a model of element type t cannot use
// as PyTorch does: a value its float type cannot hold (Go would refuse to
// compile the generated constant), and an Adam beta that rounds to 1, whose
// bias correction 1-βᵗ would then be 0 and turn every weight into NaN after
// one step (PyTorch keeps β in double precision, so it stays finite there;
// below 1, the float32 β shifts the moments and their corrections alike,
// which leaves the update PyTorch's).
func (o *Optimizer) CheckFor(t DType) []error {
	if o == nil || t != F32 {
		return nil
	}
	var errs []error
	for _, name := range sortedKeys(o.Params) {
		v := o.Params[name]
		switch f := float32(v); {
		case math.IsInf(float64(f), 0):
			errs = append(errs, fmt.Errorf("%s: %s=%g does not fit float32, the model's dtype (largest %g); use a smaller value or dtype float64",
				o.Kind, name, v, float32(math.MaxFloat32)))
		case (name == "beta1" || name == "beta2") && f == 1:
			errs = append(errs, fmt.Errorf("%s: %s=%v rounds to 1 in float32, where Adam's bias correction 1-%sᵗ is 0 and every weight would become NaN; "+
				"use at most %v, or dtype float64", o.Kind, name, v, name, math.Nextafter32(1, 0)))
		}
	}
	return errs
}
