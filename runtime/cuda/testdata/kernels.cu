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

// c[i,j] = Σ_k a[i,k]·b[j,k] + 1 for a 4×5, b 3×5: a GEMM's fallback.
NN_KERNEL product(real* __restrict__ c, const real* __restrict__ a, const real* __restrict__ b) {
  const long long t = NN_THREAD();
  if (t >= 12) return;
  const long long i = t / 3, j = t % 3;
  real s = 0;
  for (long long k = 0; k < 5; k++) s += a[i * 5 + k] * b[j * 5 + k];
  c[t] = s + 1;
}

// c[t] += 1: what runs after the GEMM of product on the cuBLAS path.
NN_KERNEL shift(real* __restrict__ c) {
  const long long t = NN_THREAD();
  if (t >= 12) return;
  c[t] += 1;
}

// c[p,i,j] = Σ_k a[p,i,k]·b[k,j] for p < 2, a 2×4×5, b 5×3: a batched
// GEMM's fallback, b shared by both products.
NN_KERNEL batched(real* __restrict__ c, const real* __restrict__ a, const real* __restrict__ b) {
  const long long t = NN_THREAD();
  if (t >= 24) return;
  const long long p = t / 12, i = t / 3 % 4, j = t % 3;
  real s = 0;
  for (long long k = 0; k < 5; k++) s += a[p * 20 + i * 5 + k] * b[k * 3 + j];
  c[t] = s;
}

#define NNGEN_KERNELS(X) \
  X(scale) \
  X(count) \
  X(product) \
  X(shift) \
  X(batched)
