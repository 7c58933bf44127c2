package codegen

import (
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// methods are the exported methods a generated Model may have. A field of
// the same name would not compile ("field and method with the same name"),
// so every one is reserved whether or not this model gets it: a model that
// gains a loss later should not change its field names.
var methods = []string{"Forward", "Backward", "Step", "TrainStep", "ResetOptimizer", "Close", "Params", "Param",
	"LoadParams", "StateDict", "OptimizerState", "SaveCheckpoint", "LoadCheckpoint"}

// member is one exported identifier the Model type will declare.
type member struct {
	name string    // the Go identifier
	what string    // what declares it, for messages: "the gradient of fc.weight"
	v    *ir.Value // the value it comes from; nil for a method
	kind fieldKind // meaningless for a method
}

// members lists every exported field of the generated Model, as
// modelFields lays them out, and its methods: methods first, then
// parameters (so that a collision names the parameter, which the user can
// rename, with what it collides with), then the other fields.
func (gen *generator) members() []member {
	var ms []member
	for _, name := range methods {
		ms = append(ms, member{name: name, what: "the method " + name})
	}
	var rest []member
	for _, f := range gen.modelFields() {
		if f.source == nil {
			continue // unexported: runtime workspace, slots, padding
		}
		m := member{name: f.name, v: f.source, kind: f.kind}
		switch f.kind {
		case settingKind:
			m.what = "the " + gen.g.Optimizer.Kind + " setting " + f.source.Name
		case paramKind:
			m.what = "the parameter " + f.source.Name
			ms = append(ms, m)
			continue
		case bufferKind:
			m.what = "the buffer " + f.source.Name
			ms = append(ms, m)
			continue
		case gradKind:
			m.what = "the gradient of " + f.source.Name
		case stateKind:
			m.what = "the optimizer state " + f.source.Name
		}
		rest = append(rest, m)
	}
	return append(ms, rest...)
}

// checkNames reports every pair of the Model's exported identifiers that
// would be the same Go name, for .nn and ONNX models alike, naming the
// source of the later one (an ONNX initializer called "lr" or
// "fc.weight_grad", say), so that no generated package fails to compile
// with "redeclared" or "field and method with the same name"; and every
// pair of the methods' parameters that would (checkArgs).
func (gen *generator) checkNames() []error {
	g := gen.g
	errs := gen.checkArgs()
	seen := map[string]member{}
	for _, m := range gen.members() {
		first, taken := seen[m.name]
		if !taken {
			seen[m.name] = m
			continue
		}
		if !first.isParam() && !m.isParam() && first.v != nil {
			// Gradients and state are named after their parameters, so
			// theirs collide only when the parameters' do, reported already.
			continue
		}
		pos := posOf(g, m.v)
		if first.isParam() && !m.isParam() {
			pos = posOf(g, first.v) // the parameter's source, which the user can change
		}
		switch {
		case first.isParam() && m.isParam():
			errs = append(errs, fmt.Errorf("%s: %s and %s (%s) would both be the Go field %s; rename one", pos, m.v.Name, first.v.Name, first.v.Pos, m.name))
		case first.v == nil:
			errs = append(errs, fmt.Errorf("%s: %s would be the Go field %s, which is %s of the generated Model; rename it", pos, m.what, m.name, first.what))
		default:
			errs = append(errs, fmt.Errorf("%s: %s and %s would both be the Go field %s; rename %s", pos, m.what, first.what, m.name, renameWhich(first, m)))
		}
	}
	return errs
}

// isParam says whether m is a parameter's or a buffer's own field: named
// by the user, who can rename it.
func (m member) isParam() bool { return m.v != nil && (m.kind == paramKind || m.kind == bufferKind) }

// renameWhich says which of two colliding members the user can rename:
// the parameter, since settings, gradients and state are named after
// PyTorch's.
func renameWhich(a, b member) string {
	for _, m := range []member{b, a} {
		if m.isParam() {
			return m.v.Name
		}
	}
	return "a parameter"
}

// posOf is where a value comes from, for messages: its own position, the
// position of the parameter an optimizer state or gradient belongs to, or
// the graph's first position (an ONNX model's file name).
func posOf(g *ir.Graph, v *ir.Value) ir.Pos {
	if v != nil && (v.Pos.IsValid() || v.Pos.File != "") {
		return v.Pos
	}
	if g.Optimizer != nil && v != nil && v.Op == ir.OpHyper {
		return g.Optimizer.Pos
	}
	for _, v := range g.Values {
		if v.Pos.IsValid() || v.Pos.File != "" {
			return v.Pos
		}
	}
	return ir.Pos{}
}

// checkConstants reports every number that generated code would write as a
// constant of the model's float type but that the type cannot hold: Go
// refuses to compile float32(1e39). The front ends report these with the
// place in the source; this is the last line of defence.
func checkConstants(g *ir.Graph) []error {
	var errs []error
	bad := func(x float64) bool {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return true
		}
		return g.DType == ir.F32 && math.IsInf(float64(float32(x)), 0)
	}
	seen := map[string]bool{}
	report := func(v *ir.Value, what string, x float64) {
		msg := fmt.Sprintf("%s: %s %g does not fit the model's %s (largest %g); use a smaller value or dtype float64",
			posOf(g, v), what, x, goTypeName(g.DType), float32(math.MaxFloat32))
		if g.DType == ir.F64 || math.IsNaN(x) || math.IsInf(x, 0) {
			msg = fmt.Sprintf("%s: %s must be finite, found %g", posOf(g, v), what, x)
		}
		if !seen[msg] {
			seen[msg] = true
			errs = append(errs, errors.New(msg))
		}
	}
	for _, v := range g.Values {
		switch {
		case v.Op == ir.OpHyper && bad(v.Value):
			report(v, g.Optimizer.Kind+"'s "+v.Name, v.Value)
		case v.Op == ir.OpConst && bad(v.Value):
			report(v, "the constant "+v.Name, v.Value)
		case bad(v.Alpha):
			report(v, "leaky_relu's negative_slope", v.Alpha)
		}
	}
	return slices.Clip(errs)
}

// argName is the generated methods' parameter for a tensor of the given
// .nn name: lowerCamelCase ("code_target" → "codeTarget", "ln.weight" →
// "lnWeight"), with Arg appended where that would be reserved (see
// reservedArg).
func argName(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool {
		return !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		for _, word := range strings.Split(part, "_") {
			switch up := strings.ToUpper(word); {
			case word == "":
			case b.Len() == 0 && initialisms[up]:
				b.WriteString(strings.ToLower(word))
			case b.Len() == 0:
				b.WriteString(strings.ToLower(word[:1]) + word[1:])
			case initialisms[up]:
				b.WriteString(up)
			default:
				b.WriteString(strings.ToUpper(word[:1]) + word[1:])
			}
		}
	}
	s := b.String()
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		s = "x" + s
	}
	if reservedArg(s) {
		s += "Arg"
	}
	return s
}

// reservedArg reports whether a parameter of the generated methods cannot
// be called name: a Go keyword or predeclared identifier, the receiver m, a
// package the generated file imports, or a name that the methods' bodies
// declare (loop indexes i, j, k, l, n, r, b, each maybe followed by
// digits; sums s, differences d, scales, found) and would shadow the
// argument with.
func reservedArg(name string) bool {
	return token.IsKeyword(name) || types.Universe.Lookup(name) != nil || argReserved[name] || loopIndex.MatchString(name)
}

var (
	argReserved = map[string]bool{"m": true, "runtime": true, "nnrt": true, "kernels": true, "safetensors": true, "unsafe": true, "math": true,
		"s": true, "d": true, "scale": true, "found": true, "loss": true}
	loopIndex = regexp.MustCompile(`^[ijklnrb][0-9]*$`)
)

// argument is a tensor that the caller passes to the generated methods.
type argument struct {
	name string // the Go parameter
	v    *ir.Value
	what string // for messages: "the input x"
	// output: Forward writes it (an unbatched model's single number is
	// then passed by pointer too)
	output bool
}

// checkArgs reports every two tensors of the generated methods that would
// be the same Go parameter ("code_target" and "codeTarget", or an output
// that is an input), so that no method fails to compile with "duplicate
// argument".
func (gen *generator) checkArgs() []error {
	var errs []error
	seen := map[string]argument{}
	for _, a := range slices.Concat(gen.dataArgs(), gen.targetArgs(), gen.outputArgs()) {
		first, taken := seen[a.name]
		if !taken {
			seen[a.name] = a
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s and %s (%s) would both be the Go parameter %s of the generated methods; rename one",
			posOf(gen.g, a.v), a.what, first.what, posOf(gen.g, first.v), a.name))
	}
	return errs
}
