// Package cudagen turns a planned IR graph, the one codegen gets, into CUDA:
// a self-contained model.cu with a kernel per IR value (fused where the
// passes fused), and the Go of a subpackage, gpu, that keeps the model on
// the GPU and launches those kernels through runtime/cuda, with no cgo.
//
// Kernels run one thread per element they write (per row where an
// operation needs a whole row, per sample for a loss's row sums, one
// thread for a sum to a scalar), with no shared memory and no barriers:
// simple, correct, and runnable on the CPU under cudagen/emulation for
// tests. Values live at the start of device buffers that follow the IR's
// storage plan: one per input, parameter, gradient, optimizer state and
// scratch slot.
//
// Generate is pure: graph and configuration in, files out. Build adds the
// PTX, which CompilePTX gets from clang-16 (or nvcc).
package cudagen

import (
	_ "embed"
	"fmt"
	"path"
	"strings"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
)

// Dir is the folder, inside the generated package, of the gpu subpackage.
const Dir = "gpu"

// The files of the gpu subpackage.
const (
	CUFile  = Dir + "/model.cu"
	PTXFile = Dir + "/model.ptx"
	GoFile  = Dir + "/model.nn.go"
)

// Config says what the generated files refer to.
type Config struct {
	Source string // the model file's name, for the headers
	// CPUImport is the import path of the generated Go package (the CPU
	// model), which the gpu subpackage imports.
	CPUImport string
	CPUName   string // that package's name, for comments
}

// generator holds what emitting one graph shares.
type generator struct {
	g       *ir.Graph
	cfg     Config
	layout  *layout
	kernels []*kernel
	// computedBy maps an activation to the linear whose kernel computes it.
	computedBy map[*ir.Value]*ir.Value
	err        error
}

func (gen *generator) fail(err error) {
	if gen.err == nil {
		gen.err = err
	}
}

// Generate emits model.cu and the gpu package's Go for g, which must have
// been through the pass pipeline. The Go embeds model.ptx, which Build adds.
func Generate(g *ir.Graph, cfg Config) ([]codegen.File, error) {
	if err := g.CheckPlanned(); err != nil {
		return nil, fmt.Errorf("cudagen: %w", err)
	}
	if cfg.CPUImport == "" {
		return nil, fmt.Errorf("cudagen: the gpu package needs the import path of the generated package")
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("cudagen: the network needs at least one output, it has none")
	}
	if cfg.CPUName == "" {
		cfg.CPUName = path.Base(cfg.CPUImport)
	}
	gen := &generator{g: g, cfg: cfg, layout: newLayout(g), computedBy: g.ComputedBy()}
	for _, v := range g.Values {
		if ir.IsLeaf(v.Op) || gen.computedBy[v] != nil {
			continue
		}
		emit, ok := emitterFor(v.Op)
		if !ok {
			at := ""
			if v.Pos.IsValid() {
				at = v.Pos.String() + ": "
			}
			return nil, fmt.Errorf("%s-cuda: the GPU back end has no kernel for %s yet; build without -cuda", at, v.Op)
		}
		emit(gen, v)
	}
	cu := gen.genCU()
	host, err := gen.genHost()
	if gen.err != nil {
		return nil, gen.err
	}
	if err != nil {
		return nil, err
	}
	return []codegen.File{{Name: CUFile, Data: cu}, {Name: GoFile, Data: host}}, nil
}

// Build is Generate plus the PTX compiled from model.cu (CompilePTX).
func Build(g *ir.Graph, cfg Config) ([]codegen.File, error) {
	files, err := Generate(g, cfg)
	if err != nil {
		return nil, err
	}
	ptx, err := CompilePTX(files[0].Data)
	if err != nil {
		return nil, err
	}
	return append(files, codegen.File{Name: PTXFile, Data: ptx}), nil
}

func (gen *generator) header() string {
	return fmt.Sprintf("%s %s from %s. DO NOT EDIT.", codegen.HeaderPrefix, codegen.Version, gen.cfg.Source)
}

func (gen *generator) real() string {
	if gen.g.DType == ir.F64 {
		return "double"
	}
	return "float"
}

//go:embed prelude.cu
var prelude string

// genCU writes model.cu: the header, the element type, the prelude (the
// portability macros and math), every kernel in schedule order, and the
// list of kernels that the emulation registers.
func (gen *generator) genCU() []byte {
	var b strings.Builder
	g := gen.g
	fmt.Fprintf(&b, "%s\n\n", gen.header())
	fmt.Fprintf(&b, "// CUDA kernels of the network %s (%s, batch %d): forward pass", g.Name, gen.real(), g.Batch)
	if g.Loss != nil {
		b.WriteString(", loss and gradients")
	}
	if g.Optimizer != nil {
		fmt.Fprintf(&b, ", %s update", g.Optimizer.Kind)
	}
	b.WriteString(`.
// The Go package beside this file launches them in this order. Each kernel
// is one value of nngen's IR, named after its op and value number; its
// comment is the value in the IR's text form. A kernel runs one thread per
// element it writes (per row where it needs whole rows), with no shared
// memory and no barriers, so this same file runs on the CPU in nngen's
// tests. Buffers hold their values from their first element.
`)
	fmt.Fprintf(&b, "\ntypedef %s real;\n\n", gen.real())
	b.WriteString(prelude)
	b.WriteString("\n// ---- The kernels. ----\n")
	for _, k := range gen.kernels {
		gen.writeKernel(&b, k)
	}
	b.WriteString("\n// Every kernel, for the emulation on the CPU (cudagen/emulation/fakecuda.cc).\n#define NNGEN_KERNELS(X)")
	for _, k := range gen.kernels {
		fmt.Fprintf(&b, " \\\n  X(%s)", k.name)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

func (gen *generator) writeKernel(b *strings.Builder, k *kernel) {
	var params []string
	for _, buf := range k.buffers {
		typ := "real"
		if buf.isInt {
			typ = "long long"
		}
		if !k.written[buf] {
			typ = "const " + typ
		}
		params = append(params, fmt.Sprintf("%s* __restrict__ %s", typ, buf.name))
	}
	for _, s := range k.scalars {
		params = append(params, "real "+cName(s.Name))
	}
	fmt.Fprintf(b, "\n// %s\n", k.comment)
	fmt.Fprintf(b, "NN_KERNEL %s(%s) {\n", k.name, strings.Join(params, ", "))
	b.WriteString("  const long long t = NN_THREAD();\n")
	fmt.Fprintf(b, "  if (t >= %d) return;\n", k.threads)
	for _, line := range k.body {
		fmt.Fprintf(b, "  %s\n", line)
	}
	b.WriteString("}\n")
}
