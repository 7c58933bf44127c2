// Kernels for runtime/cuda's tests, in the form nngen generates them, for
// the fake driver (cudagen/emulation) to run on the CPU.
typedef float real;

// y = a·x over 1000 elements: more than one block.
NN_KERNEL scale(real* __restrict__ y, const real* __restrict__ x, real a) {
  const long long t = NN_THREAD();
  if (t >= 1000) return;
  y[t] = a * x[t];
}

// n[0]++, one thread.
NN_KERNEL count(long long* __restrict__ n) {
  const long long t = NN_THREAD();
  if (t >= 1) return;
  n[0]++;
}

#define NNGEN_KERNELS(X) \
  X(scale) \
  X(count)
