// Package bench holds the workloads nngen is measured on (W1-W4, W3 with Adam and with momentum, LeNet, Conv3x3 and Transformer of
// docs/performance.md), generated from the model.nn beside each, with Go
// benchmarks of forward and training steps. compare.sh runs them next to
// the same workloads in PyTorch.
package bench

//go:generate go tool nngen build -o w1 -pkg w1 w1/model.nn
//go:generate go tool nngen build -o mid -pkg mid mid/model.nn
//go:generate go tool nngen build -o w2 -pkg w2 w2/model.nn
//go:generate go tool nngen build -o w2b256 -pkg w2b256 w2b256/model.nn
//go:generate go tool nngen build -o w3 -pkg w3 w3/model.nn
//go:generate go tool nngen build -o w3adam -pkg w3adam w3adam/model.nn
//go:generate go tool nngen build -o w3momentum -pkg w3momentum w3momentum/model.nn
//go:generate go tool nngen build -o w4 -pkg w4 w4/model.nn
//go:generate go tool nngen build -o lenet -pkg lenet lenet/model.nn
//go:generate go tool nngen build -o conv3x3 -pkg conv3x3 conv3x3/model.nn
//go:generate go tool nngen build -o transformer -pkg transformer transformer/model.nn
