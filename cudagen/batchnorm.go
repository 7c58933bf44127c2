package cudagen

import (
	"strconv"

	"github.com/nngen/nngen/ir"
)

// Batch normalization on the GPU, in the model's mode as on the CPU: a
// kernel for training mode and one for evaluation mode, each in the phase
// of that mode (see kernel.mode); without running statistics the training
// kernels serve both. The statistics of a channel are summed by one thread
// in double, in the CPU's order; the rest is a thread per element.

// bnGeometry is batch_norm's channels, positions per channel and sample,
// and samples, for its input x [B, C, ...].
func bnGeometry(x *ir.Value) (channels, size, batch int) {
	return x.Shape[1], x.Shape.Size() / (x.Shape[0] * x.Shape[1]), x.Shape[0]
}

// channelLoop opens loops over channel t's numbers of a tensor laid out
// [batch][channels][size], as element i.
func channelLoop(kb *kernelBuilder, channels, size, batch int, body string) {
	kb.line("for (long long b = 0; b < %d; b++) for (long long j = 0; j < %d; j++) { const long long i = (b * %d + t) * %d + j; %s }", batch, size, channels, size, body)
}

// channelStats declares mean and rstd = 1/√(σ² + eps) of channel t of x
// (ss the sum of squared deviations), in two passes.
func channelStats(kb *kernelBuilder, x string, channels, size, batch int, eps float64) {
	n := batch * size
	kb.line("double mean = 0;")
	channelLoop(kb, channels, size, batch, "mean += (double)"+x+"[i];")
	kb.line("mean /= %d;", n)
	kb.line("double ss = 0;")
	channelLoop(kb, channels, size, batch, "const double d = (double)"+x+"[i] - mean; ss += d * d;")
	kb.line("const double rstd = 1 / nn_sqrt(ss / %d + %s);", n, strconv.FormatFloat(eps, 'g', -1, 64))
}

// batchNorm: training mode, a thread per channel: normalize by the batch's
// statistics and move the running ones (momentum, or 1/count with the
// count before a second kernel increments it); evaluation mode, a thread
// per element, by the running statistics.
func (gen *generator) batchNorm(v *ir.Value) {
	x := v.Args[0]
	channels, size, batch := bnGeometry(x)
	if len(v.Args) == 4 && gen.g.Loss == nil { // inference only: always evaluation mode
		gen.batchNormEval(v, modeBoth)
		return
	}
	kb := gen.newKernel(v, "", channels)
	y, xs := kb.out(v), kb.ptr(x)
	channelStats(kb, xs, channels, size, batch, v.Eps)
	channelLoop(kb, channels, size, batch, y+"[i] = (real)(((double)"+xs+"[i] - mean) * rstd);")
	if len(v.Args) == 1 {
		return
	}
	kb.k.mode = modeTrain
	mean, variance, count := v.Args[1], v.Args[2], v.Args[3]
	ms, vs := kb.out(mean), kb.out(variance)
	if v.Cumulative {
		kb.line("const double m = 1.0 / (double)(%s[0] + 1);", kb.ptr(count))
	} else {
		kb.line("const double m = %s;", strconv.FormatFloat(v.Momentum, 'g', -1, 64))
	}
	n := batch * size
	kb.line("%s[t] = (real)((1 - m) * (double)%s[t] + m * mean);", ms, ms)
	kb.line("%s[t] = (real)((1 - m) * (double)%s[t] + m * ss / %d);", vs, vs, n-1)

	inc := gen.newKernel(v, "_count", 1)
	inc.k.mode = modeTrain
	c := inc.out(count)
	inc.line("%s[0] += 1;", c)

	gen.batchNormEval(v, modeEval)
}

// batchNormEval is batch_norm in evaluation mode, a thread per element.
func (gen *generator) batchNormEval(v *ir.Value, mode int) {
	channels, size, _ := bnGeometry(v.Args[0])
	suffix := "_eval"
	if mode == modeBoth {
		suffix = ""
	}
	ev := gen.newKernel(v, suffix, v.Shape.Size())
	ev.k.mode = mode
	out, in := ev.out(v), ev.ptr(v.Args[0])
	ev.line("const long long c = t / %d %% %d;", size, channels)
	ev.line("%s[t] = (real)(((double)%s[t] - (double)%s[c]) / nn_sqrt((double)%s[c] + %s));", out, in, ev.ptr(v.Args[1]), ev.ptr(v.Args[2]), strconv.FormatFloat(v.Eps, 'g', -1, 64))
}

// batchNormGrad: training mode, a thread per channel: (dy - mean dy -
// y·mean(dy·y))·rstd through the batch's statistics; evaluation mode, a
// thread per element: dy/√(var + eps) through the running variance.
func (gen *generator) batchNormGrad(v *ir.Value) {
	dy, x, y := v.Args[0], v.Args[1], v.Args[2]
	channels, size, batch := bnGeometry(x)
	n := batch * size
	kb := gen.newKernel(v, "", channels)
	dx, dys, xs, ys := kb.out(v), kb.ptr(dy), kb.ptr(x), kb.ptr(y)
	channelStats(kb, xs, channels, size, batch, v.Eps)
	kb.line("double sum = 0, dot = 0;")
	channelLoop(kb, channels, size, batch, "sum += (double)"+dys+"[i]; dot += (double)"+dys+"[i] * (double)"+ys+"[i];")
	kb.line("sum /= %d; dot /= %d;", n, n)
	channelLoop(kb, channels, size, batch, dx+"[i] = (real)(((double)"+dys+"[i] - sum - (double)"+ys+"[i] * dot) * rstd);")
	if len(v.Args) == 3 {
		return
	}
	kb.k.mode = modeTrain
	ev := gen.newKernel(v, "_eval", v.Shape.Size())
	ev.k.mode = modeEval
	out, in := ev.out(v), ev.ptr(dy)
	ev.line("const long long c = t / %d %% %d;", size, channels)
	ev.line("%s[t] = (real)((double)%s[t] / nn_sqrt((double)%s[c] + %s));", out, in, ev.ptr(v.Args[3]), strconv.FormatFloat(v.Eps, 'g', -1, 64))
}
