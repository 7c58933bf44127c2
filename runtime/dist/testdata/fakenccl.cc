// fakenccl.cc is a stand-in for NVIDIA's NCCL, libnccl.so.2, for testing
// runtime/dist's NCCL backend on machines without GPUs, with the fake
// libcuda.so.1 of cudagen/emulation (whose device pointers are host
// memory):
//
//	g++ -std=c++17 -shared -fPIC fakenccl.cc -o libnccl.so.2
//
// then NNGEN_LIBNCCL=$PWD/libnccl.so.2 makes runtime/dist load it. It
// implements the entry points that runtime/dist calls, with NCCL's
// signatures (ncclUniqueId is 128 bytes, passed by value), and its
// all-reduce really reduces across the processes of one machine: the
// unique id names a POSIX shared memory object that the ranks map, and
// each round of an all-reduce copies every rank's part into it, waits for
// all, and sums the parts in rank order, so that every rank gets the same
// bits. A rank that waits for another more than a minute gets
// ncclSystemError rather than a hang.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

typedef int ncclResult_t;
enum : ncclResult_t {
  ncclSuccess = 0,
  ncclSystemError = 2,
  ncclInvalidArgument = 4,
};
enum { ncclSum = 0, ncclAvg = 4 };
enum { ncclFloat32 = 7, ncclFloat64 = 8 };

const int kMaxRanks = 8;
const size_t kChunk = 1 << 20;  // bytes of each rank per round

struct Shared {
  std::atomic<int> arrived;     // ranks in the barrier of this generation
  std::atomic<int> generation;  // barriers passed
  char data[kMaxRanks][kChunk];
};

struct Comm {
  Shared* shared;
  int rank, nranks;
};

// barrier waits until every rank of c has reached it.
ncclResult_t barrier(Comm* c) {
  Shared* s = c->shared;
  int gen = s->generation.load();
  if (s->arrived.fetch_add(1) + 1 == c->nranks) {
    s->arrived.store(0);
    s->generation.fetch_add(1);
    return ncclSuccess;
  }
  time_t start = time(nullptr);
  while (s->generation.load() == gen) {
    if (time(nullptr) - start > 60) {
      fprintf(stderr, "fakenccl: rank %d waited a minute for the others\n", c->rank);
      return ncclSystemError;
    }
    sched_yield();
  }
  return ncclSuccess;
}

template <typename T>
void reduce(Comm* c, T* out, size_t n, bool average) {
  for (size_t i = 0; i < n; i++) {
    T sum = 0;
    for (int r = 0; r < c->nranks; r++) {
      sum += reinterpret_cast<T*>(c->shared->data[r])[i];
    }
    out[i] = average ? sum / T(c->nranks) : sum;
  }
}

}  // namespace

typedef struct {
  char internal[128];
} ncclUniqueId;
typedef Comm* ncclComm_t;

EXPORT ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  static std::atomic<int> count;
  memset(id, 0, sizeof *id);
  snprintf(id->internal, sizeof id->internal, "/nngen-fakenccl-%d-%d", int(getpid()), count.fetch_add(1));
  return ncclSuccess;
}

EXPORT ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (nranks < 1 || nranks > kMaxRanks || rank < 0 || rank >= nranks || id.internal[0] != '/') {
    return ncclInvalidArgument;
  }
  int fd = shm_open(id.internal, O_CREAT | O_RDWR, 0600);
  if (fd < 0 || ftruncate(fd, sizeof(Shared)) != 0) {
    perror("fakenccl: shm_open");
    return ncclSystemError;
  }
  void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    return ncclSystemError;
  }
  Comm* c = new Comm{static_cast<Shared*>(p), rank, nranks};
  if (ncclResult_t r = barrier(c); r != ncclSuccess) {
    return r;
  }
  if (rank == 0) {
    shm_unlink(id.internal);  // every rank has it mapped
  }
  *comm = c;
  return ncclSuccess;
}

EXPORT ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, int datatype, int op, ncclComm_t comm,
                                  void* /* stream: the fake driver's kernels have finished */) {
  size_t size = datatype == ncclFloat32 ? 4 : datatype == ncclFloat64 ? 8 : 0;
  if (comm == nullptr || size == 0 || (op != ncclSum && op != ncclAvg)) {
    return ncclInvalidArgument;
  }
  const char* in = static_cast<const char*>(send);
  char* out = static_cast<char*>(recv);
  for (size_t done = 0; done < count * size; done += kChunk) {
    size_t n = count * size - done < kChunk ? count * size - done : kChunk;
    memcpy(comm->shared->data[comm->rank], in + done, n);
    if (ncclResult_t r = barrier(comm); r != ncclSuccess) {
      return r;
    }
    if (size == 4) {
      reduce(comm, reinterpret_cast<float*>(out + done), n / 4, op == ncclAvg);
    } else {
      reduce(comm, reinterpret_cast<double*>(out + done), n / 8, op == ncclAvg);
    }
    if (ncclResult_t r = barrier(comm); r != ncclSuccess) {  // before the next round overwrites the parts
      return r;
    }
  }
  return ncclSuccess;
}

EXPORT ncclResult_t ncclGroupStart() { return ncclSuccess; }
EXPORT ncclResult_t ncclGroupEnd() { return ncclSuccess; }

EXPORT ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (comm == nullptr) {
    return ncclInvalidArgument;
  }
  munmap(comm->shared, sizeof(Shared));
  delete comm;
  return ncclSuccess;
}

EXPORT const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess:
      return "no error";
    case ncclSystemError:
      return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInvalidArgument:
      return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  }
  return "unknown result code";
}
