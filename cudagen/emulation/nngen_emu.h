// nngen_emu.h runs nngen's generated CUDA kernels on the CPU, for tests:
//
//	g++ -std=c++17 -include nngen_emu.h -x c++ model.cu ...
//
// nngen's kernels use one thread per element they write, no shared memory
// and no barriers, so a launch is a loop over the global thread index:
// NN_THREAD() reads it, and nn_emu_launch sets it before each call.
#ifndef NNGEN_EMU_H
#define NNGEN_EMU_H

#define NNGEN_EMULATION 1

#define NN_FUNC static inline
#define NN_KERNEL extern "C" void
#define NN_THREAD() nn_emu_thread

// The global index (blockIdx.x·blockDim.x + threadIdx.x) of the thread
// the emulation is running.
inline thread_local long long nn_emu_thread = 0;

// nn_emu_launch runs body once for every thread of a launch of threads
// threads, last first: kernels must not depend on the order in which a
// GPU runs their threads, and running them backwards catches a kernel
// that reads what a lower thread writes.
template <typename Body>
void nn_emu_launch(long long threads, Body body) {
  for (long long t = threads - 1; t >= 0; t--) {
    nn_emu_thread = t;
    body();
  }
}

#endif
