package cudagen

import (
	"strconv"

	"github.com/nngen/nngen/ir"
)

// Batch normalization on the GPU, in the model's mode as on the CPU: a
// kernel for training mode and one for evaluation mode, each in the phases
// of its mode (see kernel.mode); without running statistics the training
// kernels serve both, and an inference-only model has the evaluation ones
// alone. The statistics and sums of a channel are taken by one thread in
// double, in the CPU's order; the rest is a thread per element.

// bnGeometry is batch_norm's channels, positions per channel and sample,
// and samples, for its input x [B, C, ...].
func bnGeometry(x *ir.Value) (channels, size, batch int) {
	return x.Shape[1], x.Shape.Size() / (x.Shape[0] * x.Shape[1]), x.Shape[0]
}

// channelLoop runs body for each of channel t's numbers of a tensor laid
// out [batch][channels][size], as element i.
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

// runningStats declares mean and rstd of the running statistics of
// channel c.
func runningStats(kb *kernelBuilder, mean, variance *ir.Value, c string, eps float64) {
	kb.line("const double mean = (double)%s[%s];", kb.ptr(mean), c)
	kb.line("const double rstd = 1 / nn_sqrt((double)%s[%s] + %s);", kb.ptr(variance), c, strconv.FormatFloat(eps, 'g', -1, 64))
}

// affine declares scale and shift: rstd·weight[c] and bias[c], or rstd and
// 0.
func affine(kb *kernelBuilder, weight, bias *ir.Value, c string) {
	if weight == nil {
		kb.line("const double scale = rstd, shift = 0;")
		return
	}
	kb.line("const double scale = rstd * (double)%s[%s], shift = (double)%s[%s];", kb.ptr(weight), c, kb.ptr(bias), c)
}

// gradScale declares scale: rstd·weight[c], or rstd.
func gradScale(kb *kernelBuilder, weight *ir.Value, c string) {
	if weight == nil {
		kb.line("const double scale = rstd;")
		return
	}
	kb.line("const double scale = rstd * (double)%s[%s];", kb.ptr(weight), c)
}

// batchNorm: training mode, a thread per channel: normalize by the batch's
// statistics and move the running ones (by momentum, or by 1/count with
// the count before the count kernel after it increments it); evaluation
// mode, a thread per element, by the running statistics.
func (gen *generator) batchNorm(v *ir.Value) {
	x, mean, variance, count, weight, bias := ir.BatchNormParts(v)
	channels, size, batch := bnGeometry(x)
	if mean == nil || gen.g.Loss != nil {
		kb := gen.newKernel(v, "", channels)
		y, xs := kb.out(v), kb.ptr(x)
		channelStats(kb, xs, channels, size, batch, v.Eps)
		affine(kb, weight, bias, "t")
		channelLoop(kb, channels, size, batch, y+"[i] = (real)(((double)"+xs+"[i] - mean) * scale + shift);")
		if mean == nil {
			return
		}
		kb.k.mode = modeTrain
		ms, vs := kb.out(mean), kb.out(variance)
		if v.Cumulative {
			kb.line("const double m = 1.0 / (double)(%s[0] + 1);", kb.ptr(count))
		} else {
			kb.line("const double m = %s;", strconv.FormatFloat(v.Momentum, 'g', -1, 64))
		}
		kb.line("%s[t] = (real)((1 - m) * (double)%s[t] + m * mean);", ms, ms)
		kb.line("%s[t] = (real)((1 - m) * (double)%s[t] + m * ss / %d);", vs, vs, batch*size-1)
		inc := gen.newKernel(v, "_count", 1)
		inc.k.mode = modeTrain
		inc.line("%s[0] += 1;", inc.out(count))
	}
	suffix, mode := "_eval", modeEval
	if gen.g.Loss == nil { // inference only: always evaluation mode
		suffix, mode = "", modeBoth
	}
	ev := gen.newKernel(v, suffix, v.Shape.Size())
	ev.k.mode = mode
	out, in := ev.out(v), ev.ptr(x)
	ev.line("const long long c = t / %d %% %d;", size, channels)
	runningStats(ev, mean, variance, "c", v.Eps)
	affine(ev, weight, bias, "c")
	ev.line("%s[t] = (real)(((double)%s[t] - mean) * scale + shift);", out, in)
}

// batchNormGrad: training mode, a thread per channel: weight·(dy - mean dy
// - x̂·mean(dy·x̂))·rstd through the batch's statistics; evaluation mode, a
// thread per element: dy·weight·rstd through the running variance.
func (gen *generator) batchNormGrad(v *ir.Value) {
	dy, x := v.Args[0], v.Args[1]
	mean, variance, weight := ir.BatchNormGradParts(v)
	channels, size, batch := bnGeometry(x)
	n := batch * size
	kb := gen.newKernel(v, "", channels)
	dx, dys, xs := kb.out(v), kb.ptr(dy), kb.ptr(x)
	channelStats(kb, xs, channels, size, batch, v.Eps)
	kb.line("double sum = 0, dot = 0;")
	channelLoop(kb, channels, size, batch, "sum += (double)"+dys+"[i]; dot += (double)"+dys+"[i] * ((double)"+xs+"[i] - mean) * rstd;")
	kb.line("sum /= %d; dot /= %d;", n, n)
	gradScale(kb, weight, "t")
	channelLoop(kb, channels, size, batch, dx+"[i] = (real)(((double)"+dys+"[i] - sum - ((double)"+xs+"[i] - mean) * rstd * dot) * scale);")
	if mean == nil {
		return
	}
	kb.k.mode = modeTrain
	ev := gen.newKernel(v, "_eval", v.Shape.Size())
	ev.k.mode = modeEval
	out, in := ev.out(v), ev.ptr(dy)
	ev.line("const long long c = t / %d %% %d;", size, channels)
	ev.line("const double rstd = 1 / nn_sqrt((double)%s[c] + %s);", ev.ptr(variance), strconv.FormatFloat(v.Eps, 'g', -1, 64))
	gradScale(ev, weight, "c")
	ev.line("%s[t] = (real)((double)%s[t] * scale);", out, in)
}

// batchNormWeightGrad: Σ dy·x̂ over a channel, a thread per channel, x̂ by
// the mode's statistics.
func (gen *generator) batchNormWeightGrad(v *ir.Value) {
	dy, x := v.Args[0], v.Args[1]
	mean, variance, _ := ir.BatchNormGradParts(v)
	channels, size, batch := bnGeometry(x)
	emit := func(suffix string, mode int, running bool) {
		kb := gen.newKernel(v, suffix, channels)
		kb.k.mode = mode
		dw, dys, xs := kb.out(v), kb.ptr(dy), kb.ptr(x)
		if running {
			runningStats(kb, mean, variance, "t", v.Eps)
		} else {
			channelStats(kb, xs, channels, size, batch, v.Eps)
		}
		kb.line("double dot = 0;")
		channelLoop(kb, channels, size, batch, "dot += (double)"+dys+"[i] * ((double)"+xs+"[i] - mean) * rstd;")
		kb.line("%s[t] = (real)dot;", dw)
	}
	if mean == nil {
		emit("", modeBoth, false)
		return
	}
	emit("", modeTrain, false)
	emit("_eval", modeEval, true)
}
