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
// Streams run their work at once, in the order it comes (a stream is only
// checked to be live); a stream being captured records the launches
// instead, with the values of their parameters at capture, into a graph
// that cuGraphLaunch replays, as CUDA graphs do.
//
// NNGEN_FAKECUDA_DEVICES=0 makes it a driver that finds no device.
//
// Two entry points the real driver lacks serve the fake cuBLAS
// (fakecublas.cc): nngen_fake_inside checks device pointers, and
// nngen_fake_submit runs work on a stream, or records it there.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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
  CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
  CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
  CUDA_ERROR_STREAM_CAPTURE_UNMATCHED = 903,
  CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD = 908,
};

// An operation on a stream, run at once or replayed from a graph: it
// checks its pointers again when it runs.
typedef std::function<CUresult()> Op;

struct Kernel {
  const char* name;
  // bind copies the values of a launch's parameters, as a launch (and a
  // graph's capture of it) does, into the launch to run.
  Op (*bind)(void** params, long long threads);
};

struct Graph {
  std::vector<Op> ops;
};

struct Stream {
  Graph* capture = nullptr;  // the graph being captured, or none
  const void* captureThread = nullptr;
};

std::mutex mu;
bool initialized;
int context;  // the primary context; its address is the handle
thread_local void* current;
std::map<uintptr_t, size_t> allocations;  // start -> size
std::set<Stream*> streams;
std::set<Graph*> graphs, execs;

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
bool pointerValid(const A& value) {
  if constexpr (std::is_pointer_v<A>) {
    return inside(reinterpret_cast<uintptr_t>(value), 1);
  }
  return true;
}

template <typename... A, std::size_t... I>
Op bindArgs(void (*k)(A...), void** p, long long threads, std::index_sequence<I...>) {
  std::tuple<std::decay_t<A>...> args(*static_cast<std::decay_t<A>*>(p[I])...);
  return [k, args, threads]() -> CUresult {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!std::apply([](const auto&... a) { return (true && ... && pointerValid(a)); }, args)) {
        return CUDA_ERROR_INVALID_VALUE;
      }
    }
    nn_emu_launch(threads, [&] { std::apply(k, args); });
    return CUDA_SUCCESS;
  };
}

template <typename... A>
Op bind(void (*k)(A...), void** params, long long threads) {
  return bindArgs(k, params, threads, std::index_sequence_for<A...>{});
}

#define NN_REGISTER(k) {#k, [](void** p, long long n) { return bind(k, p, n); }},
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

// thread identifies the calling thread, for a capture's thread.
const void* thread() { return &current; }

// submit runs op on the stream (the default stream: nullptr), or records it
// in the graph the stream is capturing. A stream capturing refuses work
// from another thread: nngen captures in thread-local mode.
CUresult submit(void* stream, Op op) {
  if (CUresult r = ready()) return r;
  Stream* s = static_cast<Stream*>(stream);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (s != nullptr && streams.count(s) == 0) return CUDA_ERROR_INVALID_HANDLE;
    if (s != nullptr && s->capture != nullptr) {
      if (s->captureThread != thread()) return CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
      s->capture->ops.push_back(std::move(op));
      return CUDA_SUCCESS;
    }
  }
  return op();
}

// copyOp is a copy that checks the device side is in an allocation.
Op copyOp(void* dst, const void* src, size_t bytes, uintptr_t device) {
  return [=]() -> CUresult {
    std::lock_guard<std::mutex> lock(mu);
    if (!inside(device, bytes)) return CUDA_ERROR_INVALID_VALUE;
    memcpy(dst, src, bytes);
    return CUDA_SUCCESS;
  };
}

// capturing reports whether the stream records rather than runs: copies
// from and to host memory are not recorded (nngen captures launches
// only), and refused.
bool capturing(void* stream) {
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = static_cast<Stream*>(stream);
  return s != nullptr && streams.count(s) != 0 && s->capture != nullptr;
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

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, void* stream) {
  if (capturing(stream)) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  // Pageable memory is staged before the call returns: copy it now.
  std::shared_ptr<std::string> staged = std::make_shared<std::string>(static_cast<const char*>(src), bytes);
  return submit(stream, [staged, dst]() -> CUresult {
    return copyOp(reinterpret_cast<void*>(dst), staged->data(), staged->size(), dst)();
  });
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, void* stream) {
  if (capturing(stream)) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  return submit(stream, copyOp(dst, reinterpret_cast<const void*>(src), bytes, src));
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, void* stream) {
  if (capturing(stream)) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  return submit(stream, [=]() -> CUresult {
    std::lock_guard<std::mutex> lock(mu);
    if (!inside(dst, n)) return CUDA_ERROR_INVALID_VALUE;
    memset(reinterpret_cast<void*>(dst), value, n);
    return CUDA_SUCCESS;
  });
}

// cuLaunchKernel runs a one-dimensional launch, the only kind nngen makes,
// with no dynamic shared memory, on a stream.
EXPORT CUresult cuLaunchKernel(const void* function, unsigned gridX, unsigned gridY, unsigned gridZ,
                               unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,
                               void* stream, void** params, void** extra) {
  if (CUresult r = ready()) return r;
  const Kernel* k = static_cast<const Kernel*>(function);
  if (k < kernels || k >= kernels + sizeof kernels / sizeof kernels[0]) return CUDA_ERROR_INVALID_HANDLE;
  if (gridX == 0 || blockX == 0 || blockX > 1024 || gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1 ||
      sharedBytes != 0 || params == nullptr || extra != nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  Op op = k->bind(params, (long long)gridX * blockX);
  return submit(stream, std::move(op));
}

EXPORT CUresult cuStreamCreate(void** stream, unsigned int flags) {
  if (CUresult r = ready()) return r;
  if (flags > 1) return CUDA_ERROR_INVALID_VALUE;
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = new Stream;
  streams.insert(s);
  *stream = s;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamDestroy_v2(void* stream) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = static_cast<Stream*>(stream);
  if (streams.erase(s) == 0) return CUDA_ERROR_INVALID_HANDLE;
  delete s->capture;
  delete s;
  return CUDA_SUCCESS;
}

// cuStreamSynchronize has nothing to wait for: work runs as it comes.
EXPORT CUresult cuStreamSynchronize(void* stream) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = static_cast<Stream*>(stream);
  if (s != nullptr && streams.count(s) == 0) return CUDA_ERROR_INVALID_HANDLE;
  if (s != nullptr && s->capture != nullptr) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamBeginCapture_v2(void* stream, int mode) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = static_cast<Stream*>(stream);
  if (streams.count(s) == 0) return CUDA_ERROR_INVALID_HANDLE;  // the default stream cannot be captured
  if (mode < 0 || mode > 2) return CUDA_ERROR_INVALID_VALUE;
  if (s->capture != nullptr) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  s->capture = new Graph;
  s->captureThread = thread();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamEndCapture(void* stream, void** graph) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Stream* s = static_cast<Stream*>(stream);
  if (streams.count(s) == 0) return CUDA_ERROR_INVALID_HANDLE;
  if (s->capture == nullptr) return CUDA_ERROR_STREAM_CAPTURE_UNMATCHED;
  if (s->captureThread != thread()) return CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
  graphs.insert(s->capture);
  *graph = s->capture;
  s->capture = nullptr;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Graph* g = static_cast<Graph*>(graph);
  if (graphs.count(g) == 0) return CUDA_ERROR_INVALID_HANDLE;
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  Graph* e = new Graph(*g);
  execs.insert(e);
  *exec = e;
  return CUDA_SUCCESS;
}

// cuGraphLaunch replays the captured operations in order, on the stream.
EXPORT CUresult cuGraphLaunch(void* exec, void* stream) {
  if (CUresult r = ready()) return r;
  Graph* e = static_cast<Graph*>(exec);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (execs.count(e) == 0) return CUDA_ERROR_INVALID_HANDLE;
  }
  return submit(stream, [e]() -> CUresult {
    for (const Op& op : e->ops) {
      if (CUresult r = op()) return r;
    }
    return CUDA_SUCCESS;
  });
}

EXPORT CUresult cuGraphExecDestroy(void* exec) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Graph* e = static_cast<Graph*>(exec);
  if (execs.erase(e) == 0) return CUDA_ERROR_INVALID_HANDLE;
  delete e;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGraphDestroy(void* graph) {
  if (CUresult r = ready()) return r;
  std::lock_guard<std::mutex> lock(mu);
  Graph* g = static_cast<Graph*>(graph);
  if (graphs.erase(g) == 0) return CUDA_ERROR_INVALID_HANDLE;
  delete g;
  return CUDA_SUCCESS;
}

// nngen_fake_ready is cuCtxSynchronize's check: the driver initialized,
// the context current on the calling thread.
EXPORT CUresult nngen_fake_ready() { return ready(); }

// nngen_fake_inside reports whether [p, p+bytes) lies in one live
// allocation: the fake cuBLAS checks its operands with it.
EXPORT int nngen_fake_inside(const void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu);
  return inside(reinterpret_cast<uintptr_t>(p), bytes);
}

// nngen_fake_submit runs run(arg) on the stream, or records it in the
// graph the stream is capturing, with a copy of arg's bytes: what a
// library such as cuBLAS launches on a stream. run returns a CUresult.
EXPORT CUresult nngen_fake_submit(void* stream, CUresult (*run)(const void* arg), const void* arg, size_t bytes) {
  std::shared_ptr<std::string> copy = std::make_shared<std::string>(static_cast<const char*>(arg), bytes);
  return submit(stream, [run, copy]() -> CUresult { return run(copy->data()); });
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
      {CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "operation not permitted when stream is capturing"},
      {CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "operation failed due to a previous error during capture"},
      {CUDA_ERROR_STREAM_CAPTURE_UNMATCHED, "capture was not initiated in this stream"},
      {CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "attempt to terminate a thread-local capture sequence from another thread"},
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
