// Package onnx is nngen's front end for ONNX models, such as those that
// torch.onnx.export writes. It lowers a model's graph to the IR that .nn
// files lower to, keeps the initializers' names as parameter names (for
// PyTorch's exports, the state_dict's names) and their values as the
// starting weights. docs/onnx.md lists the ops and how each is lowered.
//
// The network's values are [batch, features], as in the .nn front end: a
// model's one input gives the batch (its first dimension) and the features
// (the rest); an input without a batch dimension makes an unbatched model,
// as a .nn file without a batch statement does.
package onnx

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/onnx/onnxpb"
)

// Options say what to build from a model beyond what the file holds.
type Options struct {
	// Batch, if positive, is the number of samples per call: it replaces the
	// input's first dimension, which an export fixes to the example's batch
	// size or names (dynamic_axes), and gives a batch to an input exported
	// without one.
	Batch int
	// Loss is the loss to train with, written as in a .nn loss statement
	// without its arguments: "mse", "cross_entropy", "l1(reduction=sum)".
	// The target becomes the generated Backward's second argument. Empty
	// for a model that is only run.
	Loss string
	// LossOutput names the output the loss takes, for a model of several
	// outputs (nn.GRU's output and final state, say); the others stay
	// outputs of Forward. Empty for a model of one output.
	LossOutput string
	// Optimizer is the update Step applies, written as in a .nn optimizer
	// statement: "sgd(lr=0.1, momentum=0.9)", "adam", "adamw(lr=1e-3,
	// betas=(0.9, 0.999))". It needs a Loss.
	Optimizer string
}

// Model is an ONNX model lowered to nngen's IR.
type Model struct {
	Graph *ir.Graph
	// Weights are the parameters' starting values from the model's
	// initializers, by parameter name, row-major in the parameter's shape in
	// Graph (a MatMul weight, [in, out] in the file, is already transposed
	// to the [out, in] of PyTorch's Linear).
	Weights map[string][]float64
}

// Import lowers the ONNX model data, read from filename, to an IR graph and
// its starting weights. Every problem found is reported, each as
// "filename: message" (an unsupported op names its node and op type), in
// one error; malformed data gets an error, never a panic.
func Import(filename string, data []byte, opts Options) (*Model, error) {
	pos := ir.Pos{File: filename}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, ir.Errorf(pos, "not an ONNX model: %v", err)
	}
	l := newLowerer(filename, &m, opts)
	l.lower()
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return &Model{Graph: l.g, Weights: l.weights}, nil
}

// Compile is Import without the weights: the network alone.
func Compile(filename string, data []byte, opts Options) (*ir.Graph, error) {
	m, err := Import(filename, data, opts)
	if err != nil {
		return nil, err
	}
	return m.Graph, nil
}

// Generated code holds tensors in fixed-size arrays; as in the .nn front
// end, these limits keep any one of them allocatable and every size
// product within an int.
const (
	maxDim      = 1 << 24 // largest dimension
	maxElements = 1 << 28 // largest tensor
)

// networkName is what the generated code calls the network: the file's
// name without its extension.
func networkName(filename string) string {
	base := filepath.Base(filename)
	return printable(strings.TrimSuffix(base, filepath.Ext(base)))
}

// printable shows a name from the model in messages and generated
// comments: as it is when it is short printable UTF-8, else quoted and cut.
func printable(s string) string {
	ok := utf8.ValidString(s) && len(s) <= 200
	for _, r := range s {
		ok = ok && strconv.IsPrint(r)
	}
	if ok {
		return s
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return strconv.QuoteToASCII(s)
}

// quote shows a name from the model inside a message, in quotes.
func quote(s string) string {
	if len(s) > 200 {
		return strconv.QuoteToASCII(s[:200]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

// errorf records an error about the whole model or about no node.
func (l *lowerer) errorf(format string, args ...any) {
	l.errs = append(l.errs, ir.Errorf(l.pos, format, args...))
}

// nodeErrorf records an error about a node, naming it.
func (l *lowerer) nodeErrorf(n *node, format string, args ...any) {
	l.errs = append(l.errs, ir.Errorf(l.pos, "%s: %s", n.describe(), fmt.Sprintf(format, args...)))
}
