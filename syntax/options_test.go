package syntax

import (
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// The options read as the statements do, with their messages.
func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		text, reduction string
		op              ir.Op
	}{{"mse", "mean", ir.OpMSE}, {"l1(reduction=sum)", "sum", ir.OpL1}, {`cross_entropy(reduction="sum")`, "sum", ir.OpCrossEntropy}} {
		op, attrs, err := LossOption(tt.text)
		reduction := attrs.Reduction
		if err != nil || op != tt.op || reduction.String() != tt.reduction {
			t.Errorf("LossOption(%q) = %s, %s, %v", tt.text, op, reduction, err)
		}
	}
	// The options of a loss, as its statement writes them, in the attributes.
	for text, want := range map[string]string{
		"cross_entropy(weight=(1, 2, 0.5), ignore_index=-1, label_smoothing=0.1)": "cross_entropy[reduction=mean,weight=[1,2,0.5],ignore_index=-1,label_smoothing=0.1]",
		"cross_entropy":                 "cross_entropy[reduction=mean,ignore_index=-100]",
		"nll_loss(reduction=sum)":       "nll_loss[reduction=sum,ignore_index=-100]",
		"smooth_l1(beta=0.5)":           "smooth_l1[reduction=mean,beta=0.5]",
		"smooth_l1(beta=0)":             "l1[reduction=mean]",
		"huber(delta=2, reduction=sum)": "huber[reduction=sum,delta=2]",
	} {
		op, attrs, err := LossOption(text)
		if got := strings.SplitN((&ir.Value{Op: op, Attrs: attrs}).LongString(), " ", 4)[2]; err != nil || got != want {
			t.Errorf("LossOption(%q) = %s, %v; want %s", text, got, err, want)
		}
	}
	opt, err := OptimizerOption("adam(lr=1e-3, betas=(0.8, 0.9))", ir.F32, ir.Pos{File: "m.onnx"})
	if err != nil || opt.Kind != "adam" || opt.Params["beta1"] != 0.8 || opt.Params["lr"] != 1e-3 {
		t.Errorf("OptimizerOption: %+v, %v", opt, err)
	}
	for text, want := range map[string]string{
		"msee":                     `unknown loss "msee"; did you mean "mse"?`,
		"mse(y, t)":                `mse takes keyword arguments only, as in mse(reduction=sum); found "y"`,
		"mse(reduction=max)":       `reduction must be mean or sum, found "max"`,
		"mse(reduction=sum) extra": `unexpected "extra" after the call`,
		"mse(weight=2)":            `mse has no argument "weight" (it takes: reduction)`,
		"huber(delta=-1)":          `delta must be positive, found "-1"`,
		"cross_entropy(label_smoothing=2, weight=1)": "weight takes a number per class, like (1, 2, 0.5); found \"1\"\n" +
			`label_smoothing must be between 0 and 1, found "2"`,
	} {
		if _, _, err := LossOption(text); err == nil || err.Error() != want {
			t.Errorf("LossOption(%q) = %v, want %s", text, err, want)
		}
	}
	for text, want := range map[string]string{
		"sgd":                             "sgd needs lr=...",
		"adam(lr=0.1":                     "expected ')' after arguments, found end of line",
		"sgd(lr=0.1, momentun=0.9)":       `sgd has no argument "momentun"; did you mean "momentum"?`,
		"adam(betas=(0.99999999, 0.999))": "adam: beta1=0.99999999 rounds to 1 in float32",
	} {
		if _, err := OptimizerOption(text, ir.F32, ir.Pos{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OptimizerOption(%q) = %v, want %s", text, err, want)
		}
	}
}
