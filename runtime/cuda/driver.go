package cuda

import "unsafe"

// driver holds the CUDA driver API entry points that nngen uses, with the
// driver's C signatures: CUresult is int32, CUdevice int32, CUdeviceptr
// uint64, and contexts, modules and functions are opaque handles.
type driver struct {
	cuInit                   func(flags uint32) int32
	cuDeviceGetCount         func(count *int32) int32
	cuDeviceGet              func(device *int32, ordinal int32) int32
	cuDeviceGetName          func(name *byte, length int32, device int32) int32
	cuDevicePrimaryCtxRetain func(ctx *uintptr, device int32) int32
	cuCtxSetCurrent          func(ctx uintptr) int32
	cuCtxSynchronize         func() int32
	cuModuleLoadData         func(module *uintptr, image *byte) int32
	cuModuleUnload           func(module uintptr) int32
	cuModuleGetFunction      func(function *uintptr, module uintptr, name *byte) int32
	cuMemAlloc               func(ptr *uint64, bytes uintptr) int32
	cuMemFree                func(ptr uint64) int32
	cuMemcpyHtoD             func(dst uint64, src unsafe.Pointer, bytes uintptr) int32
	cuMemcpyDtoH             func(dst unsafe.Pointer, src uint64, bytes uintptr) int32
	cuMemsetD8               func(dst uint64, value uint8, n uintptr) int32
	cuLaunchKernel           func(function uintptr, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes uint32, stream uintptr, params, extra *unsafe.Pointer) int32
	cuGetErrorString         func(code int32, str **byte) int32

	// A Program's stream, the copies ordered on it, and the CUDA graphs
	// captured from it (CUDA 11.4 or newer).
	cuStreamCreate              func(stream *uintptr, flags uint32) int32
	cuStreamDestroy             func(stream uintptr) int32
	cuStreamSynchronize         func(stream uintptr) int32
	cuMemcpyHtoDAsync           func(dst uint64, src unsafe.Pointer, bytes uintptr, stream uintptr) int32
	cuMemcpyDtoHAsync           func(dst unsafe.Pointer, src uint64, bytes uintptr, stream uintptr) int32
	cuMemsetD8Async             func(dst uint64, value uint8, n uintptr, stream uintptr) int32
	cuStreamBeginCapture        func(stream uintptr, mode uint32) int32
	cuStreamEndCapture          func(stream uintptr, graph *uintptr) int32
	cuGraphInstantiateWithFlags func(exec *uintptr, graph uintptr, flags uint64) int32
	cuGraphLaunch               func(exec uintptr, stream uintptr) int32
	cuGraphExecDestroy          func(exec uintptr) int32
	cuGraphDestroy              func(graph uintptr) int32
}

// symbols pairs each entry point with its name in libcuda.so.1 (the _v2
// names are what cuda.h's macros call on 64-bit platforms).
func (d *driver) symbols() []struct {
	name string
	fn   any
} {
	return []struct {
		name string
		fn   any
	}{
		{"cuInit", &d.cuInit},
		{"cuDeviceGetCount", &d.cuDeviceGetCount},
		{"cuDeviceGet", &d.cuDeviceGet},
		{"cuDeviceGetName", &d.cuDeviceGetName},
		{"cuDevicePrimaryCtxRetain", &d.cuDevicePrimaryCtxRetain},
		{"cuCtxSetCurrent", &d.cuCtxSetCurrent},
		{"cuCtxSynchronize", &d.cuCtxSynchronize},
		{"cuModuleLoadData", &d.cuModuleLoadData},
		{"cuModuleUnload", &d.cuModuleUnload},
		{"cuModuleGetFunction", &d.cuModuleGetFunction},
		{"cuMemAlloc_v2", &d.cuMemAlloc},
		{"cuMemFree_v2", &d.cuMemFree},
		{"cuMemcpyHtoD_v2", &d.cuMemcpyHtoD},
		{"cuMemcpyDtoH_v2", &d.cuMemcpyDtoH},
		{"cuMemsetD8_v2", &d.cuMemsetD8},
		{"cuLaunchKernel", &d.cuLaunchKernel},
		{"cuGetErrorString", &d.cuGetErrorString},
		{"cuStreamCreate", &d.cuStreamCreate},
		{"cuStreamDestroy_v2", &d.cuStreamDestroy},
		{"cuStreamSynchronize", &d.cuStreamSynchronize},
		{"cuMemcpyHtoDAsync_v2", &d.cuMemcpyHtoDAsync},
		{"cuMemcpyDtoHAsync_v2", &d.cuMemcpyDtoHAsync},
		{"cuMemsetD8Async", &d.cuMemsetD8Async},
		{"cuStreamBeginCapture_v2", &d.cuStreamBeginCapture},
		{"cuStreamEndCapture", &d.cuStreamEndCapture},
		{"cuGraphInstantiateWithFlags", &d.cuGraphInstantiateWithFlags},
		{"cuGraphLaunch", &d.cuGraphLaunch},
		{"cuGraphExecDestroy", &d.cuGraphExecDestroy},
		{"cuGraphDestroy", &d.cuGraphDestroy},
	}
}

// cString reads the NUL-terminated string at p, which the driver owns.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	var b []byte
	for ; *p != 0; p = (*byte)(unsafe.Add(unsafe.Pointer(p), 1)) {
		b = append(b, *p)
	}
	return string(b)
}
