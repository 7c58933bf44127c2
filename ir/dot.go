package ir

import (
	"fmt"
	"slices"
	"strings"
)

// DOTOptions select what DOT draws.
type DOTOptions struct {
	// Backward draws every phase (loss, backward, update), each in its own
	// colour; otherwise only the forward phase is drawn.
	Backward bool
}

// dotLeafShapes tells the kinds of leaves apart at a glance; ops are
// rounded boxes.
var dotLeafShapes = map[Op]string{
	OpInput:  "ellipse",
	OpParam:  "box3d",
	OpState:  "cylinder",
	OpBuffer: "box",
	OpHyper:  "hexagon",
	OpConst:  "octagon",
}

// dotPhaseColors fill each phase's values, and colour the edges into them.
// Colours, not clusters, tell the phases apart: clusters would pull each
// update away from its gradient and each gradient away from its layer.
// The legend names each fill.
var dotPhaseColors = [...]struct{ fill, edge, legend string }{
	Forward:  {"white", "black", "white"},
	Loss:     {"#fde2c4", "#b86e1f", "orange"},
	Backward: {"#d6e4f5", "#3d6fa8", "blue"},
	Update:   {"#dcefd6", "#4a8a3c", "green"},
}

// DOT returns the graph in Graphviz's DOT language, laid out top to bottom:
// one node per value, labelled with its line of the canonical text (name,
// op with attributes, type and storage), an edge from each argument to its
// user, and the graph's roles (output, loss, parameter gradients) drawn bold
// and named in the label. The result depends only on the graph, so the
// same graph always gives the same bytes.
func (g *Graph) DOT(opts DOTOptions) string {
	var b strings.Builder
	title := fmt.Sprintf("network %s %s batch=%d", g.Name, g.DType, g.Batch)
	if g.Unbatched {
		title += " unbatched"
	}
	if o := g.Optimizer; o != nil && opts.Backward {
		title += "\noptimizer " + o.Kind + formatParams(o.Params)
	}
	if opts.Backward {
		var legend []string
		for p, c := range dotPhaseColors {
			if slices.ContainsFunc(g.Values, func(v *Value) bool { return v.Phase == Phase(p) }) {
				legend = append(legend, Phase(p).String()+" "+c.legend)
			}
		}
		title += "\n" + strings.Join(legend, ", ")
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(g.Name))
	fmt.Fprintf(&b, "\tgraph [rankdir=TB, label=%s, labelloc=t, fontname=Helvetica, fontsize=12, nodesep=0.25, ranksep=0.35];\n", dotQuote(title))
	b.WriteString("\tnode [fontname=Helvetica, fontsize=10, margin=\"0.16,0.05\", height=0.3];\n")
	b.WriteString("\tedge [arrowsize=0.6];\n")

	roles := g.dotRoles()
	var shown []*Value
	for _, v := range g.Values {
		if v.Phase == Forward || opts.Backward {
			fmt.Fprintf(&b, "\t%s [%s];\n", v, v.dotAttrs(roles[v]))
			shown = append(shown, v)
		}
	}
	for _, v := range shown {
		for _, a := range v.Args {
			fmt.Fprintf(&b, "\t%s -> %s", a, v)
			if v.Phase != Forward {
				fmt.Fprintf(&b, " [color=%s]", dotQuote(dotPhaseColors[v.Phase].edge))
			}
			b.WriteString(";\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotRoles names, for each value with a role in the graph, what it is.
func (g *Graph) dotRoles() map[*Value][]string {
	roles := map[*Value][]string{}
	for _, v := range g.Outputs {
		roles[v] = append(roles[v], "output")
	}
	if g.Loss != nil {
		roles[g.Loss] = append(roles[g.Loss], "loss")
	}
	for _, p := range g.Params() {
		if p.Grad != nil {
			roles[p.Grad] = append(roles[p.Grad], "grad of "+p.Name)
		}
	}
	return roles
}

// dotAttrs are the node's attributes: its label, shape and colour.
func (v *Value) dotAttrs(roles []string) string {
	name := v.Name
	if name == "" {
		name = v.String()
	}
	typ := v.DType.String() + v.Shape.String()
	// A leaf lives where its kind says (an input in an argument, a
	// parameter in its field); other values show where planning put them.
	if s := v.Storage.String(); s != "" && !IsLeaf(v.Op) {
		typ += " @" + s
	}
	lines := []string{name + " = " + string(v.Op) + v.attrString(), typ}
	if len(roles) > 0 {
		lines = append(lines, strings.Join(roles, ", "))
	}
	for i, l := range lines {
		lines[i] = dotEscape(l)
	}
	label := `"` + strings.Join(lines, `\n`) + `"`

	shape, style := dotLeafShapes[v.Op], "filled"
	if shape == "" {
		shape, style = "box", "rounded,filled"
	}
	attrs := fmt.Sprintf("label=%s, shape=%s, style=%s, fillcolor=%s", label, shape, dotQuote(style), dotQuote(dotPhaseColors[v.Phase].fill))
	if len(roles) > 0 {
		attrs += ", penwidth=2"
	}
	return attrs
}

// dotQuote makes s a DOT quoted string that Graphviz shows as s.
func dotQuote(s string) string { return `"` + dotEscape(s) + `"` }

// dotEscape escapes s for a DOT quoted string: quotes and backslashes (else
// Graphviz reads \n, \N and the like as escapes), newlines as line breaks,
// and & as &amp; because Graphviz decodes HTML entities in plain labels.
func dotEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '&':
			b.WriteString("&amp;")
		case r < ' ' || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
