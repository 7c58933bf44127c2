package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// String returns the graph's canonical text form, one value a line:
//
//	v3 = linear[act=sigmoid] <f32[1,5]> v0 v1 v2 "h1" @h1
//
// Lines are grouped by phase; the graph's roles (outputs, loss, gradients)
// follow. Dumps, pass tests and error messages all use this form.
func (g *Graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "network %s %s batch=%d", g.Name, g.DType, g.Batch)
	if g.Unbatched {
		b.WriteString(" unbatched")
	}
	b.WriteByte('\n')
	phase := Phase(255)
	for _, v := range g.Values {
		if v.Phase != phase {
			phase = v.Phase
			fmt.Fprintf(&b, "# %s\n", phase)
		}
		b.WriteString(v.LongString())
		b.WriteByte('\n')
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "output %s\n", v)
	}
	if g.Loss != nil {
		fmt.Fprintf(&b, "loss %s\n", g.Loss)
	}
	for _, p := range g.Params() {
		if p.Grad != nil {
			fmt.Fprintf(&b, "grad %s = %s\n", p, p.Grad)
		}
	}
	if o := g.Optimizer; o != nil {
		fmt.Fprintf(&b, "optimizer %s%s\n", o.Kind, formatParams(o.Params))
	}
	for i, s := range g.Slots {
		fmt.Fprintf(&b, "slot %d [%d]\n", i, s.Size)
	}
	return b.String()
}

// String is the value's short name, v<ID>.
func (v *Value) String() string { return "v" + strconv.Itoa(v.ID) }

// LongString is the value's line in the canonical text form.
func (v *Value) LongString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s = %s%s <%s%s>", v, v.Op, v.attrString(), v.DType, v.Shape)
	for _, a := range v.Args {
		fmt.Fprintf(&b, " %s", a)
	}
	if v.Name != "" {
		fmt.Fprintf(&b, " %q", v.Name)
	}
	if s := v.Storage.String(); s != "" {
		fmt.Fprintf(&b, " @%s", s)
	}
	return b.String()
}

func (v *Value) attrString() string {
	var kv []string
	if v.Act != "" {
		kv = append(kv, "act="+string(v.Act))
	}
	if v.Op == OpLeakyReLU || v.Op == OpLeakyReLUGrad || v.Act == OpLeakyReLU {
		kv = append(kv, "alpha="+strconv.FormatFloat(v.Alpha, 'g', -1, 64))
	}
	if v.Approx != ApproxNone {
		kv = append(kv, "approx="+v.Approx.String())
	}
	if v.Nesterov {
		kv = append(kv, "nesterov")
	}
	if v.Decoupled {
		kv = append(kv, "decoupled")
	}
	if v.Also != nil {
		kv = append(kv, "also="+v.Also.String())
	}
	if v.TransA {
		kv = append(kv, "ta")
	}
	if v.TransB {
		kv = append(kv, "tb")
	}
	if v.Reduction != 0 {
		kv = append(kv, "reduction="+v.Reduction.String())
	}
	if v.Weight != nil {
		kv = append(kv, "weight="+floats(v.Weight))
	}
	if v.Ignores {
		kv = append(kv, "ignore_index="+strconv.Itoa(v.IgnoreIndex))
	}
	if v.LabelSmoothing != 0 {
		kv = append(kv, "label_smoothing="+strconv.FormatFloat(v.LabelSmoothing, 'g', -1, 64))
	}
	if v.Delta != 0 {
		kv = append(kv, thresholdName(v.Op)+"="+strconv.FormatFloat(v.Delta, 'g', -1, 64))
	}
	if v.Op == OpELU || v.Op == Op(string(OpELU)+"_grad") || v.Act == OpELU {
		kv = append(kv, "alpha="+strconv.FormatFloat(v.Alpha, 'g', -1, 64))
	}
	if v.Op == OpPow || v.Op == Op(string(OpPow)+"_grad") || v.Act == OpPow {
		kv = append(kv, "exponent="+strconv.FormatFloat(v.Exponent, 'g', -1, 64))
	}
	if v.Op == OpClamp || v.Op == Op(string(OpClamp)+"_grad") || v.Act == OpClamp {
		kv = append(kv, "min="+strconv.FormatFloat(v.Min, 'g', -1, 64), "max="+strconv.FormatFloat(v.Max, 'g', -1, 64))
	}
	if v.Op == OpDropoutMask {
		kv = append(kv, "p="+strconv.FormatFloat(v.P, 'g', -1, 64))
	}
	if v.Eps != 0 {
		kv = append(kv, "eps="+strconv.FormatFloat(v.Eps, 'g', -1, 64))
	}
	if v.Op == OpBatchNorm && len(v.Args) >= 4 {
		if v.Cumulative {
			kv = append(kv, "momentum=cumulative")
		} else {
			kv = append(kv, "momentum="+strconv.FormatFloat(v.Momentum, 'g', -1, 64))
		}
	}
	if len(v.Axes) > 0 {
		kv = append(kv, "axes="+ints(v.Axes))
	}
	if v.KeepDims {
		kv = append(kv, "keepdims")
	}
	if len(v.Perm) > 0 {
		kv = append(kv, "perm="+ints(v.Perm))
	}
	if v.To != nil {
		kv = append(kv, "to="+v.To.String())
	}
	if len(v.Kernel) > 0 {
		kv = append(kv, "kernel="+ints(v.Kernel), "stride="+ints(v.Stride), "pad="+ints(v.Pad), "dilation="+ints(v.Dilation))
	}
	if v.Groups != 0 {
		kv = append(kv, "stride="+ints(v.Stride), "pad="+ints(v.Pad), "dilation="+ints(v.Dilation), "groups="+strconv.Itoa(v.Groups))
	}
	switch v.Op {
	case OpConcat:
		kv = append(kv, "axis="+strconv.Itoa(v.Axis))
	case OpSlice, OpSliceGrad:
		kv = append(kv, fmt.Sprintf("axis=%d,start=%d,end=%d", v.Axis, v.Start, v.End))
	}
	if CellGrad(v.Op) {
		kv = append(kv, "wrt="+strconv.Itoa(v.Wrt))
	}
	if v.Padded {
		kv = append(kv, "padding_idx="+strconv.Itoa(v.PaddingIdx))
	}
	if v.FanIn != 0 {
		kv = append(kv, "fan_in="+strconv.Itoa(v.FanIn))
	}
	if v.Init != InitUniform {
		kv = append(kv, "init="+v.Init.String())
	}
	if v.Op == OpConst || v.Op == OpHyper {
		kv = append(kv, "value="+strconv.FormatFloat(v.Value, 'g', -1, 64))
	}
	if len(kv) == 0 {
		return ""
	}
	return "[" + strings.Join(kv, ",") + "]"
}

// floats writes a list of numbers as ints does: [1,2,0.5].
func floats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// ints writes a list of axes as Shape does: [0,2,1].
func ints(xs []int) string { return Shape(xs).String() }

func formatParams(m map[string]float64) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(&b, " %s=%s", k, strconv.FormatFloat(m[k], 'g', -1, 64))
	}
	return b.String()
}
