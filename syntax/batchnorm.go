package syntax

import (
	"fmt"
	"math"

	"github.com/nngen/nngen/ir"
)

// lowerBatchNorm lowers batch_norm1d and batch_norm2d, PyTorch's
// nn.BatchNorm1d (on [batch, C] or [batch, C, L]) and nn.BatchNorm2d (on
// [batch, C, H, W]):
//
//	bn1 = batch_norm2d(x, 16, eps=1e-5, momentum=0.1, affine=true, track_running_stats=true)
//
// num_features (16) is optional and checked against x's channels;
// momentum may be none, a cumulative average as in PyTorch. With affine,
// the parameters NAME.weight (ones) and NAME.bias (zeros) scale and shift
// the normalized channels; with track_running_stats, the buffers
// NAME.running_mean (zeros), NAME.running_var (ones) and
// NAME.num_batches_tracked (0) follow the batches in training mode and
// normalize in evaluation mode; all in state_dict order.
func lowerBatchNorm(d int) layerRule {
	fn := fmt.Sprintf("batch_norm%dd", d)
	usage := fn + "(x) or " + fn + "(x, num_features)"
	return func(l *lowerer, name token, c call) *ir.Value {
		args, ok := l.positional(c, 1, 2, usage)
		keywords, keywordsOK := l.keywords(c, "eps", "momentum", "affine", "track_running_stats")
		if !ok || !keywordsOK {
			return nil
		}
		x, xOK := l.valueArg(args[0], fn+"'s input")
		declared, declaredOK := 0, true
		if len(args) == 2 {
			declared, declaredOK = l.sizeArg(args[1], fn+"'s num_features")
		}
		attrs := ir.Attrs{Eps: 1e-5, Momentum: 0.1}
		settingsOK := true
		if a, ok := keywords["eps"]; ok {
			eps, ok := l.number(a, fn+"'s eps")
			if ok && !(eps > 0 && !math.IsInf(eps, 0)) {
				l.errorf(a.value.pos, "%s's eps must be a positive number, found %s", fn, a.value.text)
				ok = false
			}
			attrs.Eps, settingsOK = eps, settingsOK && ok
		}
		if a, ok := keywords["momentum"]; ok {
			if t := a.value.text; a.value.kind != number && (t == "none" || t == "None") && !a.declares() {
				attrs.Momentum, attrs.Cumulative = 0, true
			} else {
				m, ok := l.number(a, fn+"'s momentum (a number, or none)")
				attrs.Momentum, settingsOK = m, settingsOK && ok
			}
		}
		affine, track := true, true
		for _, flag := range []struct {
			key string
			dst *bool
		}{{"affine", &affine}, {"track_running_stats", &track}} {
			if a, ok := keywords[flag.key]; ok {
				*flag.dst, ok = l.boolArg(a)
				settingsOK = settingsOK && ok
			}
		}
		if !xOK || !declaredOK || !settingsOK {
			return nil
		}
		if l.g.Unbatched {
			l.errorf(args[0].value.pos, "%s normalizes over the batch: the network needs a batch line", fn)
			return nil
		}
		if rank := len(x.Shape); d == 2 && rank != 4 || d == 1 && rank != 2 && rank != 3 {
			want := map[int]string{1: "[channels] or [channels, length]", 2: "[channels, height, width]"}[d]
			l.errorf(args[0].value.pos, "%s's input %s must be %s per sample, found %v", fn, args[0].value.text, want, l.sampleShape(x.Shape))
			return nil
		}
		channels := x.Shape[1]
		if len(args) == 2 && declared != channels {
			l.errorf(args[1].value.pos, "%s: %s expects %d features but %s has %d channels", name.text, fn, declared, args[0].value.text, channels)
			return nil
		}
		if x.Shape.Size()/channels < 2 {
			l.errorf(args[0].value.pos, "%s: %s of %v has one value per channel in a batch: training needs more than one (PyTorch refuses it too)", name.text, fn, x.Shape)
			return nil
		}
		perChannel := ir.Shape{channels}
		var tensors []string
		if affine {
			tensors = append(tensors, ".weight", ".bias")
		}
		if track {
			tensors = append(tensors, ".running_mean", ".running_var")
		}
		for _, suffix := range tensors {
			if !l.fits(name, name.text+suffix, perChannel) {
				return nil
			}
		}
		// state_dict order: weight, bias, running_mean, running_var, num_batches_tracked.
		var weight, bias *ir.Value
		if affine {
			weight, bias = l.param(name, ".weight", perChannel), l.param(name, ".bias", perChannel)
			weight.Init, bias.Init = ir.InitOnes, ir.InitZeros
		}
		operands := []*ir.Value{x}
		if track {
			operands = append(operands,
				l.buffer(name, ".running_mean", perChannel, l.g.DType, ir.InitZeros),
				l.buffer(name, ".running_var", perChannel, l.g.DType, ir.InitOnes),
				l.buffer(name, ".num_batches_tracked", ir.Shape{}, ir.I64, ir.InitZeros))
		}
		if affine {
			operands = append(operands, weight, bias)
		}
		return l.add(name, ir.OpBatchNorm, attrs, operands...)
	}
}

// buffer declares the buffer layer.text+suffix of a layer, starting as
// init.
func (l *lowerer) buffer(layer token, suffix string, shape ir.Shape, dtype ir.DType, init ir.Init) *ir.Value {
	b := l.g.Leaf(ir.OpBuffer, layer.text+suffix, shape, ir.Attrs{Init: init})
	b.DType, b.Pos = dtype, layer.pos
	return b
}
