// fakecuda.cc is a stand-in for the NVIDIA driver, libcuda.so.1, that runs a
// model's CUDA kernels on the CPU, so that the Go host code generated with
// them can be tested end to end on machines without a GPU:
//
//	g++ -std=c++17 -shared -fPIC -fvisibility=hidden -include nngen_emu.h
//	    -DNNGEN_MODEL='"path/to/model.cu"' fakecuda.cc -o libcuda.so.1
//
// then NNGEN_LIBCUDA=$PWD/libcuda.so.1 makes nngen's runtime/cuda load it.
// It implements the driver entry points that runtime/cuda calls, with the
// driver's signatures, and is strict where the real driver is: calls need
// cuInit first and the context current on the calling thread, copies and
// kernel pointers must stay inside live allocations, and new memory is
// filled with NaNs so that reading memory nobody wrote shows. Kernels are
// found by name in the model's NNGEN_KERNELS list; a function handle is the
// kernel's entry in that table. Build it with -fsanitize=address to run
// the kernels under AddressSanitizer.
//
// NNGEN_FAKECUDA_DEVICES=0 makes it a driver that finds no device.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "nngen_emu.h"
#include NNGEN_MODEL

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_LAUNCH_FAILED = 719,
};

struct Kernel {
  const char* name;
  void (*launch)(void** params, long long threads);
  bool (*pointersValid)(void** params);
};

std::mutex mu;
bool initialized;
int context;  // the primary context; its address is the handle
thread_local void* current;
std::map<uintptr_t, size_t> allocations;  // start -> size

int devices() {
  const char* n = getenv("NNGEN_FAKECUDA_DEVICES");
  return n ? atoi(n) : 1;
}

// inside reports whether [p, p+n) lies in one live allocation.
bool inside(uintptr_t p, size_t n) {
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin()) return false;
  --it;
  return p >= it->first && p - it->first + n <= it->second;
}

template <typename A>
bool pointerValid(void* param) {
  if constexpr (std::is_pointer_v<A>) {
    return inside(reinterpret_cast<uintptr_t>(*static_cast<A*>(param)), 1);
  }
  return true;
}

template <typename... A, std::size_t... I>
void call(void (*k)(A...), void** p, std::index_sequence<I...>) {
  k(*static_cast<A*>(p[I])...);
}

template <typename... A, std::size_t... I>
bool valid(void (*)(A...), void** p, std::index_sequence<I...>) {
  return (true && ... && pointerValid<A>(p[I]));
}

template <typename... A>
void launch(void (*k)(A...), void** params, long long threads) {
  nn_emu_launch(threads, [&] { call(k, params, std::index_sequence_for<A...>{}); });
}

template <typename... A>
bool check(void (*k)(A...), void** params) {
  return valid(k, params, std::index_sequence_for<A...>{});
}

#define NN_REGISTER(k) \
  {#k, [](void** p, long long n) { launch(k, p, n); }, [](void** p) { return check(k, p); }},
const Kernel kernels[] = {NNGEN_KERNELS(NN_REGISTER)};
#undef NN_REGISTER

struct Module {
  std::string ptx;
};

CUresult ready() {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (current != &context) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

}  // namespace

EXPORT CUresult cuInit(unsigned int flags) {
  std::lock_guard<std::mutex> lock(mu);
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (devices() == 0) return CUDA_ERROR_NO_DEVICE;
  initialized = true;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int* count) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  *count = devices();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (ordinal < 0 || ordinal >= devices()) return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (device < 0 || device >= devices()) return CUDA_ERROR_INVALID_DEVICE;
  if (len <= 0) return CUDA_ERROR_INVALID_VALUE;
  strncpy(name, "nngen fake CUDA device (kernels emulated on the CPU)", len - 1);
  name[len - 1] = 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(void** ctx, CUdevice device) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (device < 0 || device >= devices()) return CUDA_ERROR_INVALID_DEVICE;
  *ctx = &context;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(void* ctx) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx != nullptr && ctx != &context) return CUDA_ERROR_INVALID_CONTEXT;
  current = ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize() { return ready(); }

EXPORT CUresult cuModuleLoadData(void** module, const void* image) {
  if (CUresult r = ready()) return r;
  const char* text = static_cast<const char*>(image);
  if (text == nullptr || strstr(text, ".version") == nullptr || strstr(text, ".entry") == nullptr) {
    return CUDA_ERROR_INVALID_IMAGE;
  }
  *module = new Module{text};
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleUnload(void* module) {
  if (CUresult r = ready()) return r;
  delete static_cast<Module*>(module);
  return CUDA_SUCCESS;
}

// cuModuleGetFunction finds the kernel by name in the emulated .cu, and
// also in the PTX that was loaded: the two must be the same model.
EXPORT CUresult cuModuleGetFunction(const void** function, void* module, const char* name) {
  if (CUresult r = ready()) return r;
  if (module == nullptr) return CUDA_ERROR_INVALID_HANDLE;
  std::string entry = std::string(".entry ") + name + "(";
  if (static_cast<Module*>(module)->ptx.find(entry) == std::string::npos) return CUDA_ERROR_NOT_FOUND;
  for (const Kernel& k : kernels) {
    if (strcmp(k.name, name) == 0) {
      *function = &k;
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_NOT_FOUND;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
  if (CUresult r = ready()) return r;
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  void* p = malloc(bytes);
  memset(p, 0xff, bytes);  // NaN in every float type
  std::lock_guard<std::mutex> lock(mu);
  allocations[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = reinterpret_cast<CUdeviceptr>(p);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  if (allocations.erase(ptr) == 0) return CUDA_ERROR_INVALID_VALUE;
  free(reinterpret_cast<void*>(ptr));
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  if (!inside(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy(reinterpret_cast<void*>(dst), src, bytes);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  if (!inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy(dst, reinterpret_cast<const void*>(src), bytes);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  if (!inside(dst, n)) return CUDA_ERROR_INVALID_VALUE;
  memset(reinterpret_cast<void*>(dst), value, n);
  return CUDA_SUCCESS;
}

// cuLaunchKernel runs a one-dimensional launch, the only kind nngen makes,
// with no dynamic shared memory, on the default stream.
EXPORT CUresult cuLaunchKernel(const void* function, unsigned gridX, unsigned gridY, unsigned gridZ,
                               unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,
                               void* stream, void** params, void** extra) {
  if (CUresult r = ready()) return r;
  const Kernel* k = static_cast<const Kernel*>(function);
  if (k < kernels || k >= kernels + sizeof kernels / sizeof kernels[0]) return CUDA_ERROR_INVALID_HANDLE;
  if (gridX == 0 || blockX == 0 || blockX > 1024 || gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1 ||
      sharedBytes != 0 || stream != nullptr || params == nullptr || extra != nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!k->pointersValid(params)) return CUDA_ERROR_INVALID_VALUE;
  }
  k->launch(params, (long long)gridX * blockX);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** str) {
  static const std::pair<CUresult, const char*> messages[] = {
      {CUDA_SUCCESS, "no error"},
      {CUDA_ERROR_INVALID_VALUE, "invalid argument"},
      {CUDA_ERROR_NOT_INITIALIZED, "initialization error"},
      {CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected"},
      {CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"},
      {CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid"},
      {CUDA_ERROR_INVALID_CONTEXT, "invalid device context"},
      {CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"},
      {CUDA_ERROR_NOT_FOUND, "named symbol not found"},
      {CUDA_ERROR_LAUNCH_FAILED, "unspecified launch failure"},
  };
  for (const auto& m : messages) {
    if (m.first == error) {
      *str = m.second;
      return CUDA_SUCCESS;
    }
  }
  *str = nullptr;
  return CUDA_ERROR_INVALID_VALUE;
}
