// fakecublas.cc is a stand-in for cuBLAS, libcublas.so.12, that computes
// the matrix products nngen asks of it on the CPU, on the fake driver's
// device memory and streams (fakecuda.cc):
//
//	g++ -std=c++17 -shared -fPIC -fvisibility=hidden fakecublas.cc -o libcublas.so.12
//
// then NNGEN_LIBCUBLAS=$PWD/libcublas.so.12 makes nngen's runtime/cuda load
// it, after the fake libcuda.so.1, whose nngen_fake_* entry points it
// uses (they resolve when it loads: runtime/cuda loads the driver with
// RTLD_GLOBAL). It implements the entry points runtime/cuda calls, with
// cuBLAS's signatures and column-major semantics, and is strict where
// cuBLAS is or a GPU would fault: a handle is needed, made with the
// context current; dimensions and leading dimensions are checked as cuBLAS
// checks them; every matrix must lie inside one live allocation when the
// product runs; only the default math mode (no TF32) is offered. A product
// runs on the handle's stream, so a stream being captured records it into
// its CUDA graph. Sums run in the element type over k ascending, not in
// nngen's kernels' order.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <type_traits>

#define EXPORT extern "C" __attribute__((visibility("default")))

extern "C" int nngen_fake_ready();
extern "C" int nngen_fake_inside(const void* p, size_t bytes);
extern "C" int nngen_fake_submit(void* stream, int (*run)(const void* arg), const void* arg, size_t bytes);

namespace {

typedef int cublasStatus_t;
enum : cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };

struct Handle {
  void* stream = nullptr;
};

std::mutex mu;
std::set<Handle*> handles;

// Gemm is one call's arguments, copied for the stream (and a graph).
template <typename T>
struct Gemm {
  int transa, transb, m, n, k, lda, ldb, ldc, batch;
  long long strideA, strideB, strideC;
  T alpha, beta;
  const T* a;
  const T* b;
  T* c;
};

// span is the elements a column-major matrix of rows×cols with leading
// dimension ld spans, over batch matrices stride apart.
size_t span(int rows, int cols, int ld, int batch, long long stride) {
  if (rows == 0 || cols == 0) return 0;
  return (size_t)(batch - 1) * stride + (size_t)(cols - 1) * ld + rows;
}

template <typename T>
int run(const void* arg) {
  const Gemm<T>& g = *static_cast<const Gemm<T>*>(arg);
  const bool ta = g.transa == CUBLAS_OP_T, tb = g.transb == CUBLAS_OP_T;
  // The stored matrices: op(A) is m×k, op(B) k×n.
  if (!nngen_fake_inside(g.a, sizeof(T) * span(ta ? g.k : g.m, ta ? g.m : g.k, g.lda, g.batch, g.strideA)) ||
      !nngen_fake_inside(g.b, sizeof(T) * span(tb ? g.n : g.k, tb ? g.k : g.n, g.ldb, g.batch, g.strideB)) ||
      !nngen_fake_inside(g.c, sizeof(T) * span(g.m, g.n, g.ldc, g.batch, g.strideC))) {
    return 1;  // CUDA_ERROR_INVALID_VALUE: a GPU would fault
  }
  for (int p = 0; p < g.batch; p++) {
    const T* a = g.a + p * g.strideA;
    const T* b = g.b + p * g.strideB;
    T* c = g.c + p * g.strideC;
    for (int j = 0; j < g.n; j++) {
      for (int i = 0; i < g.m; i++) {
        T s = 0;
        for (int l = 0; l < g.k; l++) {
          const T x = ta ? a[l + (size_t)i * g.lda] : a[i + (size_t)l * g.lda];
          const T y = tb ? b[j + (size_t)l * g.ldb] : b[l + (size_t)j * g.ldb];
          s += x * y;
        }
        T& out = c[i + (size_t)j * g.ldc];
        // beta = 0: C is not read, as in BLAS (it may hold NaNs).
        out = g.beta == 0 ? g.alpha * s : g.alpha * s + g.beta * out;
      }
    }
  }
  return 0;
}

template <typename T>
cublasStatus_t gemm(void* handle, int transa, int transb, int m, int n, int k, const T* alpha, const T* a, int lda,
                    long long strideA, const T* b, int ldb, long long strideB, const T* beta, T* c, int ldc,
                    long long strideC, int batch) {
  void* stream;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (handles.count(static_cast<Handle*>(handle)) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
    stream = static_cast<Handle*>(handle)->stream;
  }
  const bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  if ((transa != CUBLAS_OP_N && !ta) || (transb != CUBLAS_OP_N && !tb) || m < 0 || n < 0 || k < 0 || batch < 0 ||
      lda < (ta ? k : m) || lda < 1 || ldb < (tb ? n : k) || ldb < 1 || ldc < m || ldc < 1 || alpha == nullptr ||
      beta == nullptr) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  const Gemm<T> g{transa, transb, m, n, k, lda, ldb, ldc, batch, strideA, strideB, strideC, *alpha, *beta, a, b, c};
  static_assert(std::is_trivially_copyable_v<Gemm<T>>);
  return nngen_fake_submit(stream, run<T>, &g, sizeof g) ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}

}  // namespace

EXPORT cublasStatus_t cublasCreate_v2(void** handle) {
  if (nngen_fake_ready() != 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  std::lock_guard<std::mutex> lock(mu);
  Handle* h = new Handle;
  handles.insert(h);
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasDestroy_v2(void* handle) {
  std::lock_guard<std::mutex> lock(mu);
  if (handles.erase(static_cast<Handle*>(handle)) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete static_cast<Handle*>(handle);
  return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetStream_v2(void* handle, void* stream) {
  std::lock_guard<std::mutex> lock(mu);
  if (handles.count(static_cast<Handle*>(handle)) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  static_cast<Handle*>(handle)->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasSetMathMode accepts CUBLAS_DEFAULT_MATH only: the products here
// are exact float32 or float64 sums.
EXPORT cublasStatus_t cublasSetMathMode(void* handle, int mode) {
  std::lock_guard<std::mutex> lock(mu);
  if (handles.count(static_cast<Handle*>(handle)) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  return mode == 0 ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_SUPPORTED;
}

EXPORT const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

EXPORT cublasStatus_t cublasSgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const float* alpha,
                                     const float* a, int lda, const float* b, int ldb, const float* beta, float* c,
                                     int ldc) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

EXPORT cublasStatus_t cublasDgemm_v2(void* handle, int transa, int transb, int m, int n, int k, const double* alpha,
                                     const double* a, int lda, const double* b, int ldb, const double* beta, double* c,
                                     int ldc) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

EXPORT cublasStatus_t cublasSgemmStridedBatched(void* handle, int transa, int transb, int m, int n, int k,
                                                const float* alpha, const float* a, int lda, long long strideA,
                                                const float* b, int ldb, long long strideB, const float* beta,
                                                float* c, int ldc, long long strideC, int batch) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
}

EXPORT cublasStatus_t cublasDgemmStridedBatched(void* handle, int transa, int transb, int m, int n, int k,
                                                const double* alpha, const double* a, int lda, long long strideA,
                                                const double* b, int ldb, long long strideB, const double* beta,
                                                double* c, int ldc, long long strideC, int batch) {
  return gemm(handle, transa, transb, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch);
}
