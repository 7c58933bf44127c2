package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nngen/nngen"
)

// TestExportsAgree imports every ONNX export of every graph case
// (testdata/graphs/onnx: opsets 13, 14, 17, 18 and the dynamic batch) and
// runs the passes, without compiling: each must give the IR that the static
// opset-14 export gives (an opset-18 file, rewritten from the opset-17
// export, the opset-17 one's), unless distinctExports says its nodes
// differ (then TestGraphs builds and trains it too). So the exports
// TestGraphs does not compile are proven to be the same network as one it
// does.
func TestExportsAgree(t *testing.T) {
	traces, err := filepath.Glob("testdata/graphs/*.json")
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	for _, path := range traces {
		tr, _ := readGraphTrace(t, path)
		if len(onnxExports(t, tr.Name)) == 0 {
			continue // none exports (embedding_bag: torch 1.13 refuses an EmbeddingBag with padding_idx)
		}
		loss, optimizer, train := tr.training()
		ir := func(file string) string {
			model, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts := nngen.Options{Infer: !train}
			if tr.Batch != nil {
				opts.Batch = *tr.Batch
			}
			if train {
				opts.Loss, opts.Optimizer, opts.LossOutput = loss, optimizer, tr.lossOutput()
			}
			g, _, err := nngen.Load(filepath.Base(file), model, opts)
			if err == nil {
				err = nngen.RunPasses(g, opts)
			}
			if err != nil {
				t.Errorf("%s: %v", file, err)
				return ""
			}
			_, text, _ := strings.Cut(g.String(), "\n") // after the network's name, the file's
			return text
		}
		ref := map[string]string{} // by tag: the IR each export must give
		for _, tag := range []string{"opset14", "opset17"} {
			file := filepath.Join("testdata", "graphs", "onnx", tr.Name+"."+tag+".onnx")
			if _, err := os.Stat(file); err != nil { // a batch norm case: exported in training mode only
				file = filepath.Join("testdata", "graphs", "onnx", tr.Name+"."+tag+".training.onnx")
			}
			ref[tag] = ir(file)
		}
		for _, file := range onnxExports(t, tr.Name) {
			tag := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), tr.Name+"."), ".onnx")
			want, against := ref["opset14"], "opset14"
			switch tag {
			case "opset14.dynamic":
				continue // its own shape arithmetic: TestGraphs trains it
			case "opset14.training":
				continue // exported in training mode (Dropout, or the reference of a batch norm case): TestGraphs trains it
			case "opset17.training":
				// A batch norm case's: the nodes of its opset-14 export.
			case "opset18":
				// Written from the opset-17 export (export_onnx.py).
				want, against = ref["opset17"], "opset17"
			}
			if got := ir(file); got != want && !distinctExports[tr.Name+"."+tag] && coveredExports[tr.Name+"."+tag] == "" {
				t.Errorf("%s gives another IR than %s.%s.onnx; if its nodes differ, add it to distinctExports\n%s\nwant\n%s", file, tr.Name, against, got, want)
			}
		}
	}
}

// coveredExports are exports whose nodes differ from opset 14's in ways
// another case's export that TestGraphs trains already shows (the reason
// names it): each builds here all the same, and export_onnx.py checks its
// numbers against the trace, but it costs no package of its own.
var coveredExports = map[string]string{
	"encoder_pre_norm.opset17":  "LayerNormalization in a transformer encoder layer: encoder_2layers.opset17 trains",
	"encoder_post_norm.opset17": "LayerNormalization in a transformer encoder layer: encoder_2layers.opset17 trains",
}
