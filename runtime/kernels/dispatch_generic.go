//go:build !amd64 || noasm

package kernels

import "runtime"

// Without assembly (another architecture, or the noasm tag) the pure-Go set
// is the only one.
var kernelSets = []*kernelSet{genericKernels}

func supported(name string) bool { return name == "generic" }

// spinWait yields: without assembly there is no PAUSE.
func spinWait() { runtime.Gosched() }
