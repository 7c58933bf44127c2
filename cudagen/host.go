package cudagen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/ir"
)

// Import paths of the packages the gpu package uses.
const (
	cudaPath   = "github.com/nngen/nngen/runtime/cuda"
	nnrtPath   = "github.com/nngen/nngen/runtime/nnrt"
	unsafePath = "unsafe"
)

// genHost writes the gpu package's Go: the Spec of the device side, and a
// Model with the CPU model's methods that runs them.
func (gen *generator) genHost() ([]byte, error) {
	f := jen.NewFile(Dir)
	f.HeaderComment(gen.header())
	f.ImportAlias(gen.cfg.CPUImport, "cpu")
	f.ImportName(cudaPath, "cuda")
	f.Anon("embed")
	f.PackageComment(fmt.Sprintf("Package gpu runs the network %s of package %s on an NVIDIA GPU: the kernels of", gen.g.Name, gen.cfg.CPUName))
	f.PackageComment("model.cu, compiled to model.ptx, launched through the CUDA driver (runtime/cuda: no cgo,")
	f.PackageComment("no CUDA toolkit). Auto picks the GPU when there is one, else the CPU model.")
	f.Comment("//go:embed model.ptx")
	f.Var().Id("ptx").Index().Byte()
	gen.genSpec(f)
	gen.genModel(f)
	gen.genCopies(f)
	gen.genMethods(f)
	gen.genDevice(f)
	src, err := codegen.Render(f)
	if err != nil {
		return nil, fmt.Errorf("cudagen: %w", err)
	}
	return src, nil
}

func (gen *generator) elem() *jen.Statement {
	if gen.g.DType == ir.F64 {
		return jen.Float64()
	}
	return jen.Float32()
}

func (gen *generator) elemBytes() int {
	if gen.g.DType == ir.F64 {
		return 8
	}
	return 4
}

func scalarConst(h *ir.Value) string { return "scalar" + codegen.GoName(h.Name) }

// genSpec emits the buffer, phase and scalar indexes and the Spec.
func (gen *generator) genSpec(f *jen.File) {
	var defs []jen.Code
	for i, b := range gen.layout.buffers {
		d := jen.Id(b.goName)
		if i == 0 {
			d = d.Op("=").Iota()
		}
		defs = append(defs, d)
	}
	f.Comment("The device buffers, indexes into spec.Buffers.")
	f.Const().Defs(defs...)

	defs = nil
	names := phaseNames[:]
	if gen.modeKernels() {
		names = append(names, "phaseForwardEval", "phaseBackwardEval")
	}
	for i, name := range names {
		d := jen.Id(name)
		if i == 0 {
			d = d.Op("=").Iota()
		}
		defs = append(defs, d)
	}
	f.Comment("The phases, indexes into spec.Phases: the kernels that Forward, Backward (after")
	if gen.modeKernels() {
		f.Comment("Forward's) and Step launch; Forward's and Backward's again in evaluation mode.")
	} else {
		f.Comment("Forward's) and Step launch.")
	}
	f.Const().Defs(defs...)

	hypers := gen.g.Hypers()
	if len(hypers) > 0 {
		defs = nil
		for i, h := range hypers {
			d := jen.Id(scalarConst(h))
			if i == 0 {
				d = d.Op("=").Iota()
			}
			defs = append(defs, d)
		}
		f.Comment("The scalars that kernels take by value: the optimizer's settings, read from the")
		f.Comment("Model's fields at each launch.")
		f.Const().Defs(defs...)
	}

	var buffers []jen.Code
	for _, b := range gen.layout.buffers {
		size := b.elems * gen.elemBytes()
		if b.isInt {
			size = b.elems * 8
		}
		buffers = append(buffers, jen.Line().Id(b.goName).Op(":").Values(
			jen.Id("Name").Op(":").Lit(b.name), jen.Id("Bytes").Op(":").Lit(size)))
	}
	var phases []jen.Code
	type phase struct {
		name string
		p    int
		skip int // the mode whose kernels the phase leaves out
	}
	var order []phase
	for p := range numPhases {
		order = append(order, phase{phaseNames[p], p, modeEval})
	}
	if gen.modeKernels() {
		order = append(order, phase{"phaseForwardEval", phaseForward, modeTrain}, phase{"phaseBackwardEval", phaseBackward, modeTrain})
	}
	for _, ph := range order {
		var launches []jen.Code
		for _, k := range gen.kernels {
			if k.phase != ph.p || k.mode == ph.skip || k.epilogueOf != nil || k.prologueOf != nil {
				continue
			}
			launches = append(launches, jen.Line().Values(gen.launch(k)...))
		}
		if len(launches) > 0 {
			phases = append(phases, jen.Line().Id(ph.name).Op(":").Values(append(launches, jen.Line())...))
		}
	}
	f.Comment("spec is the device side of the model: model.ptx, its buffers, and the launches of")
	f.Comment("each phase in order. A kernel's parameters are its Buffers' device addresses, then")
	f.Comment("its Scalars' values; runtime/cuda checks them against the PTX. A launch with a GEMM")
	f.Comment("runs through cuBLAS where it loads, between its Before and Then kernels; else its")
	f.Comment("kernel runs.")
	f.Var().Id("spec").Op("=").Qual(cudaPath, "Spec").Values(
		jen.Line().Id("PTX").Op(":").Id("ptx"),
		jen.Line().Id("Float").Op(":").Lit(gen.elemBytes()),
		jen.Line().Id("Buffers").Op(":").Index().Qual(cudaPath, "Buffer").Values(append(buffers, jen.Line())...),
		jen.Line().Id("Phases").Op(":").Index().Index().Qual(cudaPath, "Kernel").Values(append(phases, jen.Line())...),
		jen.Line(),
	)
}

// launch is the fields of the cuda.Kernel that launches k.
func (gen *generator) launch(k *kernel) []jen.Code {
	var bufs, scalars []jen.Code
	for _, b := range k.buffers {
		bufs = append(bufs, jen.Id(b.goName))
	}
	for _, s := range k.scalars {
		scalars = append(scalars, jen.Id(scalarConst(s)))
	}
	kv := []jen.Code{
		jen.Id("Name").Op(":").Lit(k.name),
		jen.Id("Threads").Op(":").Lit(k.threads),
		jen.Id("Buffers").Op(":").Index().Int().Values(bufs...),
	}
	if len(scalars) > 0 {
		kv = append(kv, jen.Id("Scalars").Op(":").Index().Int().Values(scalars...))
	}
	if k.gemm != nil {
		kv = append(kv, jen.Line().Id("GEMM").Op(":").Op("&").Qual(cudaPath, "GEMM").Values(gen.gemmFields(k)...))
	}
	return kv
}

// gemmFields is the cuda.GEMM of k's product, its epilogue kernels in Then.
func (gen *generator) gemmFields(k *kernel) []jen.Code {
	g := k.gemm
	var kv []jen.Code
	if g.transA {
		kv = append(kv, jen.Id("TransA").Op(":").True())
	}
	if g.transB {
		kv = append(kv, jen.Id("TransB").Op(":").True())
	}
	kv = append(kv,
		jen.Id("M").Op(":").Lit(g.m), jen.Id("N").Op(":").Lit(g.n), jen.Id("K").Op(":").Lit(g.k),
		jen.Id("A").Op(":").Id(g.a.goName), jen.Id("B").Op(":").Id(g.b.goName), jen.Id("C").Op(":").Id(g.c.goName))
	if g.offC > 0 {
		kv = append(kv, jen.Id("OffC").Op(":").Lit(g.offC))
	}
	if g.batch > 1 {
		kv = append(kv, jen.Id("Batch").Op(":").Lit(g.batch),
			jen.Id("StrideA").Op(":").Lit(g.strideA), jen.Id("StrideB").Op(":").Lit(g.strideB), jen.Id("StrideC").Op(":").Lit(g.strideC))
	}
	kv = append(kv, jen.Id("Alpha").Op(":").Lit(1))
	var before []jen.Code
	for _, p := range gen.kernels {
		if p.prologueOf == k {
			before = append(before, jen.Values(gen.launch(p)...))
		}
	}
	if len(before) > 0 {
		kv = append(kv, jen.Line().Id("Before").Op(":").Index().Qual(cudaPath, "Kernel").Values(before...))
	}
	var then []jen.Code
	for _, e := range gen.kernels {
		if e.epilogueOf == k {
			then = append(then, jen.Values(gen.launch(e)...))
		}
	}
	if len(then) > 0 {
		kv = append(kv, jen.Line().Id("Then").Op(":").Index().Qual(cudaPath, "Kernel").Values(then...))
	}
	return kv
}

// args are the tensors the methods take, as the CPU model's take them
// (codegen.Args): the data inputs, the targets and the outputs.
func (gen *generator) args() (data, targets, outputs []codegen.Arg) {
	return codegen.Args(gen.g)
}

// params declares the arguments as a method's parameters.
func params(args ...[]codegen.Arg) []jen.Code {
	var out []jen.Code
	for _, list := range args {
		for _, a := range list {
			out = append(out, a.Param.Clone())
		}
	}
	return out
}

// ids are the arguments' names, to pass them on.
func ids(args ...[]codegen.Arg) []jen.Code {
	var out []jen.Code
	for _, list := range args {
		for _, a := range list {
			out = append(out, jen.Id(a.Name))
		}
	}
	return out
}

// names joins the arguments' names as a sentence does: "x, c and t".
func names(args []codegen.Arg) string {
	var s []string
	for _, a := range args {
		s = append(s, a.Name)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// valueField is the Model's field that an argument passed by value is
// uploaded from: label in the classic API (a class index).
func valueField(a codegen.Arg, classic bool) string {
	if classic {
		return "label"
	}
	return "arg" + codegen.GoName(a.Name)
}

// classLoss is the loss of class indices that reads the class indices v
// (cross_entropy, nll_loss), or nil if none does.
func (gen *generator) classLoss(v *ir.Value) *ir.Value {
	for _, u := range gen.g.Values {
		if ir.ClassLoss(u.Op) && u.Phase == ir.Loss && u.Args[1] == v {
			return u
		}
	}
	return nil
}

// embeddingRows is the number of rows of the smallest embedding table
// that the ids v pick from, or 0 if none does.
func embeddingRows(g *ir.Graph, v *ir.Value) int {
	n := 0
	for _, u := range g.Values {
		if u.Op == ir.OpEmbedding && u.Args[1] == v {
			if r := u.Args[0].Shape[0]; n == 0 || r < n {
				n = r
			}
		}
	}
	return n
}

// genModel emits the Model, New, FromCPU and the helpers.
func (gen *generator) genModel(f *jen.File) {
	var fields []jen.Code
	if hypers := gen.g.Hypers(); len(hypers) > 0 {
		fields = append(fields, jen.Comment(fmt.Sprintf("Settings of the %s optimizer, named as in PyTorch and read by every Step: change", gen.g.Optimizer.Kind)))
		fields = append(fields, jen.Comment("them between steps as schedules do."))
		for _, h := range hypers {
			fields = append(fields, jen.Id(codegen.GoName(h.Name)).Add(gen.elem()).Comment(h.Name))
		}
		fields = append(fields, jen.Line())
	}
	fields = append(fields, jen.Id("prog").Op("*").Qual(cudaPath, "Program"))
	if gen.g.Loss != nil {
		fields = append(fields, jen.Id("loss").Add(gen.elem()).Comment("Backward's result, downloaded here"))
	}
	classic := codegen.ClassicAPI(gen.g)
	data, targets, _ := gen.args()
	for _, a := range slices.Concat(data, targets) {
		if !a.ByValue {
			continue
		}
		typ, what := gen.elem(), "the input "+a.Value.Name
		if a.Value.DType == ir.Int {
			typ, what = jen.Int(), "the class index"
			if !classic {
				what += " " + a.Value.Name
			}
		}
		fields = append(fields, jen.Id(valueField(a, classic)).Add(typ).Comment(what+", uploaded from here"))
	}
	masks := gen.dropoutMasks()
	if gen.modal() {
		fields = append(fields, jen.Line(), jen.Id("eval").Bool().Comment("evaluation mode (Eval); false: training mode"))
	}
	if len(masks) > 0 {
		fields = append(fields,
			jen.Id("dropout").Qual(nnrtPath, "RNG").Comment("draws the dropout masks in training mode"),
			jen.Id("DropoutMasks").Qual(nnrtPath, "DropoutMasks").Types(gen.elem()).Comment("when set, chooses the dropout masks in training mode instead: see nnrt.DropoutMasks"))
		for i, v := range masks {
			fields = append(fields, jen.Id(maskField(i)).Index(jen.Lit(v.Shape.Size())).Add(gen.elem()).Comment(v.Name+", drawn here and uploaded before each forward phase"))
		}
	}
	if !classic && !gen.g.Unbatched {
		f.Comment("Batch is the number of samples per call, the first axis of the methods' arrays, as in")
		f.Comment("the CPU package.")
		f.Const().Id("Batch").Op("=").Qual(gen.cfg.CPUImport, "Batch")
	}
	f.Comment(fmt.Sprintf("Model is the network %s on a GPU. Parameters, gradients and optimizer state stay", gen.g.Name))
	f.Comment("in device memory between calls; the methods upload inputs and download results.")
	f.Comment("They panic on a driver error (a lost device, not bad input), as the CPU model's")
	f.Comment("panic on bad input. A Model is not safe for concurrent use; Close frees it.")
	f.Type().Id("Model").Struct(fields...)

	f.Comment("New returns the model of cpu.New(seed) on the GPU: the same starting parameters.")
	f.Comment("Its error says why there is no GPU to use.")
	if len(masks) > 0 {
		f.Comment("Its dropout masks come from a generator seeded with seed, as the CPU model's: the same masks.")
		f.Func().Id("New").Params(jen.Id("seed").Uint64()).Params(jen.Op("*").Id("Model"), jen.Error()).Block(
			jen.List(jen.Id("m"), jen.Err()).Op(":=").Id("FromCPU").Call(jen.Qual(gen.cfg.CPUImport, "New").Call(jen.Id("seed"))),
			jen.If(jen.Err().Op("==").Nil()).Block(jen.Id("m").Dot("dropout").Op("=").Qual(nnrtPath, "DropoutRNG").Call(jen.Id("seed"))),
			jen.Return(jen.Id("m"), jen.Err()),
		)
	} else {
		f.Func().Id("New").Params(jen.Id("seed").Uint64()).Params(jen.Op("*").Id("Model"), jen.Error()).Block(
			jen.Return(jen.Id("FromCPU").Call(jen.Qual(gen.cfg.CPUImport, "New").Call(jen.Id("seed")))),
		)
	}

	var scalars []jen.Code
	for _, h := range gen.g.Hypers() {
		scalars = append(scalars, jen.Id(scalarConst(h)).Op(":").Qual(unsafePath, "Pointer").Call(jen.Op("&").Id("m").Dot(codegen.GoName(h.Name))))
	}
	f.Comment("FromCPU returns a copy of the CPU model c on the GPU (see CopyFrom).")
	var mode []jen.Code
	if len(masks) > 0 {
		f.Comment("It takes c's mode and DropoutMasks hook; its generator of dropout masks is seeded with 0.")
		mode = []jen.Code{
			jen.Id("m").Dot("eval").Op(",").Id("m").Dot("DropoutMasks").Op(",").Id("m").Dot("dropout").Op("=").
				Op("!").Id("c").Dot("Training").Call().Op(",").Id("c").Dot("DropoutMasks").Op(",").Qual(nnrtPath, "DropoutRNG").Call(jen.Lit(0)),
		}
	} else if gen.modal() {
		f.Comment("It takes c's mode.")
		mode = []jen.Code{jen.Id("m").Dot("eval").Op("=").Op("!").Id("c").Dot("Training").Call()}
	}
	f.Func().Id("FromCPU").Params(jen.Id("c").Op("*").Qual(gen.cfg.CPUImport, "Model")).Params(jen.Op("*").Id("Model"), jen.Error()).Block(
		jen.Id("m").Op(":=").Op("&").Id("Model").Values(),
		jen.Add(mode...),
		jen.List(jen.Id("prog"), jen.Err()).Op(":=").Qual(cudaPath, "NewProgram").Call(jen.Op("&").Id("spec"), jen.Index().Qual(unsafePath, "Pointer").Values(scalars...)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("m").Dot("prog").Op("=").Id("prog"),
		jen.Id("m").Dot("CopyFrom").Call(jen.Id("c")),
		jen.Return(jen.Id("m"), jen.Nil()),
	)

	if gen.modal() {
		f.Comment("Train puts the model in training mode, as PyTorch's module.train(): its dropout layers")
		f.Comment("drop and its batch normalization uses the batch's statistics. A new model starts in it.")
		f.Func().Params(receiver()).Id("Train").Params().Block(jen.Id("m").Dot("eval").Op("=").False())
		f.Comment("Eval puts the model in evaluation mode, as PyTorch's module.eval(); Train leaves it.")
		f.Func().Params(receiver()).Id("Eval").Params().Block(jen.Id("m").Dot("eval").Op("=").True())
		f.Comment("Training reports whether the model is in training mode.")
		f.Func().Params(receiver()).Id("Training").Params().Bool().Block(jen.Return(jen.Op("!").Id("m").Dot("eval")))
	}
	if len(masks) > 0 {
		var draw []jen.Code
		for i, v := range masks {
			field := jen.Id("m").Dot(maskField(i))
			draw = append(draw,
				jen.Qual(nnrtPath, "DropoutMask").Call(field.Clone().Index(jen.Op(":")), jen.Lit(v.P), jen.Id("m").Dot("eval"), jen.Op("&").Id("m").Dot("dropout"), jen.Id("m").Dot("DropoutMasks"), jen.Lit(strings.TrimSuffix(v.Name, ".mask"))),
				jen.Id("m").Dot("upload").Call(jen.Id(gen.layout.masks[v].goName), jen.Qual(unsafePath, "Pointer").Call(jen.Op("&").Add(field.Clone())), jen.Qual(unsafePath, "Sizeof").Call(field.Clone())))
		}
		f.Comment("drawMasks draws the dropout masks of a forward phase on the host, as the CPU model")
		f.Comment("draws them, and uploads them.")
		f.Func().Params(receiver()).Id("drawMasks").Params().Block(draw...)
	}
	f.Comment("Close frees the model's device memory; the Model is unusable after it.")
	f.Func().Params(receiver()).Id("Close").Params().Error().Block(jen.Return(jen.Id("m").Dot("prog").Dot("Close").Call()))
	f.Comment("DeviceName is the GPU's name, as the driver reports it.")
	f.Func().Params(receiver()).Id("DeviceName").Params().String().Block(jen.Return(jen.Id("m").Dot("prog").Dot("DeviceName").Call()))
	gen.genGradBuffers(f)

	f.Comment("must panics with a driver error: the methods shared with the CPU model return none.")
	f.Func().Id("must").Params(jen.Err().Error()).Block(jen.If(jen.Err().Op("!=").Nil()).Block(jen.Panic(jen.Err())))
	bufParam := jen.Id("buffer").Int()
	f.Comment("upload, download and run are the Program's calls, panicking on an error.")
	f.Func().Params(receiver()).Id("upload").Params(bufParam, jen.Id("src").Qual(unsafePath, "Pointer"), jen.Id("bytes").Uintptr()).Block(
		jen.Id("must").Call(jen.Id("m").Dot("prog").Dot("Upload").Call(jen.Id("buffer"), jen.Id("src"), jen.Id("bytes"))))
	f.Line()
	f.Func().Params(receiver()).Id("download").Params(jen.Id("dst").Qual(unsafePath, "Pointer"), jen.Id("buffer").Int(), jen.Id("bytes").Uintptr()).Block(
		jen.Id("must").Call(jen.Id("m").Dot("prog").Dot("Download").Call(jen.Id("dst"), jen.Id("buffer"), jen.Id("bytes"))))
	f.Line()
	var pick []jen.Code
	if gen.modeKernels() {
		f.Comment("In evaluation mode run launches Forward's and Backward's kernels of that mode.")
		pick = []jen.Code{jen.If(jen.Id("m").Dot("eval").Op("&&").Id("phase").Op("!=").Id("phaseStep")).Block(
			jen.Id("phase").Op("+=").Id("phaseForwardEval"))}
	}
	f.Func().Params(receiver()).Id("run").Params(jen.Id("phase").Int()).Block(
		append(pick, jen.Id("must").Call(jen.Id("m").Dot("prog").Dot("Run").Call(jen.Id("phase"))))...)
}

// modeKernels reports whether some kernels run in one mode only (batch
// normalization's), so that the phases come twice.
func (gen *generator) modeKernels() bool {
	return slices.ContainsFunc(gen.kernels, func(k *kernel) bool { return k.mode != modeBoth })
}

// modal reports whether the model has modes (Train, Eval): dropout or
// kernels of one mode.
func (gen *generator) modal() bool { return len(gen.dropoutMasks()) > 0 || gen.modeKernels() }

// dropoutMasks are the graph's dropout_mask values, whose masks the host
// draws.
func (gen *generator) dropoutMasks() []*ir.Value {
	var masks []*ir.Value
	for _, v := range gen.g.Values {
		if v.Op == ir.OpDropoutMask {
			masks = append(masks, v)
		}
	}
	return masks
}

// maskField is the Model's field holding the i-th dropout mask.
func maskField(i int) string { return fmt.Sprintf("dropoutMask%d", i) }

func receiver() *jen.Statement { return jen.Id("m").Op("*").Id("Model") }

// cpuField is the CPU model's field holding a buffer's leaf.
func cpuField(b *buffer) string {
	if b.grad {
		return codegen.GoName(b.leaf.Name) + "Grad"
	}
	return codegen.GoName(b.leaf.Name)
}

// genCopies emits CopyFrom and CopyTo, which move the model's whole state
// between the processors.
func (gen *generator) genCopies(f *jen.File) {
	var from, to []jen.Code
	for _, b := range gen.layout.buffers {
		if b.leaf == nil || b.leaf.Op == ir.OpInput {
			continue
		}
		field := jen.Id("c").Dot(cpuField(b))
		ptr := jen.Qual(unsafePath, "Pointer").Call(jen.Op("&").Add(field))
		size := jen.Qual(unsafePath, "Sizeof").Call(field)
		from = append(from, jen.Id("m").Dot("upload").Call(jen.Id(b.goName), ptr, size))
		to = append(to, jen.Id("m").Dot("download").Call(ptr, jen.Id(b.goName), size))
	}
	for _, h := range gen.g.Hypers() {
		name := codegen.GoName(h.Name)
		from = append(from, jen.Id("m").Dot(name).Op("=").Id("c").Dot(name))
		to = append(to, jen.Id("c").Dot(name).Op("=").Id("m").Dot(name))
	}
	what := "parameters"
	if gen.g.Loss != nil {
		what += ", gradients"
	}
	if gen.g.Optimizer != nil {
		what += ", optimizer state and settings"
	}
	cpuParam := jen.Id("c").Op("*").Qual(gen.cfg.CPUImport, "Model")
	f.Comment(fmt.Sprintf("CopyFrom sets m to the CPU model c: its %s.", what))
	f.Func().Params(receiver()).Id("CopyFrom").Params(cpuParam).Block(from...)
	f.Comment(fmt.Sprintf("CopyTo sets the CPU model c to m: its %s.", what))
	f.Comment("It waits for every launch so far.")
	f.Func().Params(receiver()).Id("CopyTo").Params(jen.Id("c").Op("*").Qual(gen.cfg.CPUImport, "Model")).Block(to...)
}

// nestedRange ranges over every element of the array name of dims axes,
// the element in elem: for _, elem0 := range name { for _, elem :=
// range elem0 { body } }.
func nestedRange(name, elem string, dims int, body ...jen.Code) []jen.Code {
	for d := dims - 1; d >= 0; d-- {
		over, e := jen.Id(name), jen.Id(elem)
		if d > 0 {
			over = jen.Id(elem + "s" + strconv.Itoa(d-1))
		}
		if d < dims-1 {
			e = jen.Id(elem + "s" + strconv.Itoa(d))
		}
		body = []jen.Code{jen.For(jen.List(jen.Id("_"), e).Op(":=").Range().Add(over)).Block(body...)}
	}
	return body
}

// uploadInputs uploads the arguments, inputs of the graph.
func (gen *generator) uploadInputs(args []codegen.Arg) []jen.Code {
	var code []jen.Code
	for _, a := range args {
		code = append(code, gen.uploadInput(a)...)
	}
	return code
}

// uploadInput uploads the argument a: from the caller's array, or from
// the Model's field for one passed by value.
func (gen *generator) uploadInput(a codegen.Arg) []jen.Code {
	v, name := a.Value, a.Name
	b := gen.layout.inputs[v]
	if b == nil {
		gen.fail(fmt.Errorf("cudagen: the input %s has no buffer", v))
		return nil
	}
	var code []jen.Code
	// Class indices: checked here, as the CPU model checks them, since a
	// kernel cannot report them.
	if loss := gen.classLoss(v); v.DType == ir.Int && loss != nil {
		classes := loss.Args[0].Shape[len(loss.Args[0].Shape)-1]
		bad := func(c *jen.Statement) *jen.Statement {
			cond := c.Clone().Op("<").Lit(0).Op("||").Add(c.Clone()).Op(">=").Lit(classes)
			if loss.Ignores { // ignore_index is no class, and allowed
				cond = c.Clone().Op("!=").Lit(loss.IgnoreIndex).Op("&&").Parens(cond)
			}
			return jen.If(cond).Block(
				jen.Panic(jen.Lit(gen.cfg.CPUName + "/gpu: class index out of range in the loss target")))
		}
		if a.ByValue {
			code = append(code, bad(jen.Id(name)))
		} else {
			code = append(code, nestedRange(name, "c", len(v.Shape), bad(jen.Id("c")))...)
		}
	}
	// Ids: checked here against the smallest table that reads them, as
	// the CPU model checks them.
	if rows := embeddingRows(gen.g, v); rows > 0 && !a.ByValue {
		check := []jen.Code{jen.If(jen.Id("id").Op("<").Lit(0).Op("||").Id("id").Op(">=").Lit(rows)).Block(
			jen.Panic(jen.Lit(gen.cfg.CPUName + "/gpu: embedding id out of range in " + v.Name)))}
		dims := len(v.Shape)
		if gen.g.Unbatched {
			dims--
		}
		code = append(code, nestedRange(name, "id", dims, check...)...)
	}
	if a.ByValue {
		field := jen.Id("m").Dot(valueField(a, codegen.ClassicAPI(gen.g)))
		return append(code,
			field.Clone().Op("=").Id(name),
			jen.Id("m").Dot("upload").Call(jen.Id(b.goName), jen.Qual(unsafePath, "Pointer").Call(jen.Op("&").Add(field.Clone())), jen.Qual(unsafePath, "Sizeof").Call(field.Clone())),
		)
	}
	return append(code, jen.Id("m").Dot("upload").Call(jen.Id(b.goName), jen.Qual(unsafePath, "Pointer").Call(jen.Id(name)), jen.Qual(unsafePath, "Sizeof").Call(jen.Op("*").Id(name))))
}

// genMethods emits the methods the CPU model has: Forward, Backward, Step,
// TrainStep and ResetOptimizer, with its parameters.
func (gen *generator) genMethods(f *jen.File) {
	data, targets, outputs := gen.args()
	classic := codegen.ClassicAPI(gen.g)
	var draw []jen.Code
	if len(gen.dropoutMasks()) > 0 {
		draw = []jen.Code{jen.Id("m").Dot("drawMasks").Call()}
	}
	body := slices.Concat(gen.uploadInputs(data), draw, []jen.Code{jen.Id("m").Dot("run").Call(jen.Id("phaseForward"))})
	for _, o := range outputs {
		out := gen.layout.of(o.Value)
		if out == nil {
			gen.fail(fmt.Errorf("cudagen: the output %s has no buffer", o.Value))
			return
		}
		body = append(body, jen.Id("m").Dot("download").Call(jen.Qual(unsafePath, "Pointer").Call(jen.Id(o.Name)), jen.Id(out.goName), jen.Qual(unsafePath, "Sizeof").Call(jen.Op("*").Id(o.Name))))
	}
	if classic {
		f.Comment("Forward computes the network's output y for the input x.")
	} else {
		f.Comment(fmt.Sprintf("Forward runs the network on %s and writes its %s into %s, as", names(data), plural("output", len(outputs)), names(outputs)))
		f.Comment("the CPU model's Forward does.")
	}
	f.Func().Params(receiver()).Id("Forward").Params(params(data, outputs)...).Block(body...)
	if gen.g.Loss == nil {
		return
	}
	body = slices.Concat(gen.uploadInputs(data), gen.uploadInputs(targets), draw)
	body = append(body,
		jen.Id("m").Dot("run").Call(jen.Id("phaseForward")),
		jen.Id("m").Dot("run").Call(jen.Id("phaseBackward")),
		jen.Id("m").Dot("download").Call(jen.Qual(unsafePath, "Pointer").Call(jen.Op("&").Id("m").Dot("loss")), jen.Id(gen.layout.of(gen.g.Loss).goName), jen.Qual(unsafePath, "Sizeof").Call(jen.Id("m").Dot("loss"))),
		jen.Return(jen.Id("m").Dot("loss")),
	)
	if classic {
		f.Comment(fmt.Sprintf("Backward runs the network on x, returns the %s loss against target and sets", gen.g.Loss.Op))
		f.Comment("the gradient of that loss for every parameter, on the GPU (CopyTo reads them).")
	} else {
		f.Comment(fmt.Sprintf("Backward runs the network on %s, returns the loss of the CPU model's Backward", names(data)))
		f.Comment("and sets the gradient of that loss for every parameter, on the GPU (CopyTo reads them).")
	}
	f.Func().Params(receiver()).Id("Backward").Params(params(data, targets)...).Add(gen.elem()).Block(body...)
	if gen.g.Optimizer == nil {
		return
	}
	f.Comment(fmt.Sprintf("Step updates every parameter from its gradient with %s, reading the settings", gen.g.Optimizer.Kind))
	f.Comment("from m's fields.")
	f.Func().Params(receiver()).Id("Step").Params().Block(jen.Id("m").Dot("run").Call(jen.Id("phaseStep")))
	f.Comment("TrainStep is Backward followed by Step; it returns the loss before the update.")
	f.Func().Params(receiver()).Id("TrainStep").Params(params(data, targets)...).Add(gen.elem()).Block(
		jen.Id("loss").Op(":=").Id("m").Dot("Backward").Call(ids(data, targets)...),
		jen.Id("m").Dot("Step").Call(),
		jen.Return(jen.Id("loss")),
	)
	var reset []jen.Code
	for _, s := range gen.g.States() {
		reset = append(reset, jen.Id("must").Call(jen.Id("m").Dot("prog").Dot("Zero").Call(jen.Id(gen.layout.states[s].goName))))
	}
	f.Comment("ResetOptimizer clears the optimizer's state (step count, momentum, moments), as")
	f.Comment("creating a new optimizer does in PyTorch. Parameters are kept.")
	f.Func().Params(receiver()).Id("ResetOptimizer").Params().Block(reset...)
}

// genDevice emits Device, the methods both models have, and Auto.
func (gen *generator) genDevice(f *jen.File) {
	data, targets, outputs := gen.args()
	methods := []jen.Code{jen.Id("Forward").Params(params(data, outputs)...)}
	if gen.g.Loss != nil {
		methods = append(methods, jen.Id("Backward").Params(params(data, targets)...).Add(gen.elem()))
		if gen.g.Optimizer != nil {
			methods = append(methods,
				jen.Id("Step").Params(),
				jen.Id("TrainStep").Params(params(data, targets)...).Add(gen.elem()),
				jen.Id("ResetOptimizer").Params())
		}
	}
	f.Comment("Device is the network on either processor: a *Model on the GPU or a *cpu.Model.")
	if gen.g.Optimizer != nil {
		f.Comment("The optimizer's settings (LR, ...) are fields of both: set them on the concrete type.")
	}
	f.Type().Id("Device").Interface(methods...)
	f.Var().Defs(
		jen.Id("_").Id("Device").Op("=").Parens(jen.Op("*").Id("Model")).Parens(jen.Nil()),
		jen.Id("_").Id("Device").Op("=").Parens(jen.Op("*").Qual(gen.cfg.CPUImport, "Model")).Parens(jen.Nil()),
	)
	f.Comment("Auto returns the network on the GPU when the CUDA driver and a device are there, else")
	f.Comment("on the CPU, as PyTorch's \"cuda\" if torch.cuda.is_available() else \"cpu\"; either way")
	f.Comment("with New(seed)'s starting parameters. reason says which, and why: the GPU's name and")
	f.Comment("what runs the matrix products (cuBLAS or nngen's kernels) and whether CUDA graphs do,")
	f.Comment("or what was missing.")
	f.Func().Id("Auto").Params(jen.Id("seed").Uint64()).Params(jen.Id("d").Id("Device"), jen.Id("reason").String()).Block(
		jen.List(jen.Id("m"), jen.Err()).Op(":=").Id("New").Call(jen.Id("seed")),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Qual(gen.cfg.CPUImport, "New").Call(jen.Id("seed")), jen.Lit("CPU: ").Op("+").Err().Dot("Error").Call()),
		),
		jen.Return(jen.Id("m"), jen.Lit("GPU: ").Op("+").Id("m").Dot("DeviceName").Call().Op("+").Lit(" (").Op("+").Id("m").Dot("prog").Dot("Paths").Call().Op("+").Lit(")")),
	)
}

// plural is word for n things.
func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// genGradBuffers emits Program and GradBuffers, with which runtime/dist
// all-reduces the gradients on the device between Backward and Step.
func (gen *generator) genGradBuffers(f *jen.File) {
	var grads []jen.Code
	for _, p := range gen.g.Params() {
		if b := gen.layout.grads[p]; b != nil {
			grads = append(grads, jen.Id(b.goName))
		}
	}
	if gen.g.Loss == nil || len(grads) == 0 {
		return
	}
	f.Comment("Program is the Program that holds the model's device memory, for libraries that work")
	f.Comment("on it in place, such as runtime/dist's NCCL all-reduce: its Device, Stream and Buffer.")
	f.Func().Params(receiver()).Id("Program").Params().Op("*").Qual(cudaPath, "Program").Block(jen.Return(jen.Id("m").Dot("prog")))
	f.Comment("gradBuffers are the buffers of the parameters' gradients, in the parameters' order.")
	f.Var().Id("gradBuffers").Op("=").Index().Int().Values(grads...)
	f.Comment("GradBuffers lists the buffers of Program that hold the parameters' gradients, in the")
	f.Comment("order of the CPU model's GradBlock: runtime/dist all-reduces them between Backward and Step.")
	f.Func().Params(receiver()).Id("GradBuffers").Params().Index().Int().Block(jen.Return(jen.Id("gradBuffers")))
}
