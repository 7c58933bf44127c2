// Package golden holds nngen's end-to-end tests: golden cases (a model and
// the files or errors nngen must produce for it, in testdata/*.txtar) and
// parity tests that compile generated packages and compare their numbers
// with PyTorch traces (testdata/reference). Refresh the golden files with
//
//	go test ./golden -update
package golden
