// mmapFile, mmapFd, unmap, debugCounters: zero-copy external ArrayBuffers over mmap(2).
//
// Life cycle of one mapping (struct Mapping, the finalizer hint of its ArrayBuffer):
//   created   mmap() succeeded, registered in g_live, wrapped in an external ArrayBuffer.
//   unmap()   detaches the ArrayBuffer (every view becomes length 0), then munmaps at once, or,
//             if a futexWaitAsync is pending on a word inside it ("pinned"), when the last such wait
//             settles. Calling unmap() again is a no-op (the buffer is detached: byteLength 0).
//   finalizer runs once, on the JS thread, when the ArrayBuffer's backing store is released (GC,
//             after detach, or environment teardown). It munmaps only if that has not happened yet,
//             so memory is unmapped exactly once whatever the order; the last of {finalizer, last
//             unpin} frees the Mapping.
// All state changes happen under g_mu, so worker threads (each with its own env) are safe.
#ifdef __linux__

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>

namespace quiver {

struct Mapping {
  void* addr = nullptr;
  size_t len = 0;
  int pins = 0;                 // pending futex waits inside this mapping
  bool unmap_requested = false; // unmap() was called (buffer detached)
  bool munmapped = false;
  bool finalized = false;       // the ArrayBuffer finalizer has run
  bool held = false;            // a native call (create/unmap) is using m: the finalizer defers
};

namespace {

// Deliberately leaked: no static destructors may run while other threads (workers, waiters) still
// use them during process exit.
std::mutex& g_mu = *new std::mutex();
std::map<uintptr_t, Mapping*>& g_live = *new std::map<uintptr_t, Mapping*>();
std::atomic<uint64_t> g_mapped{0};
std::atomic<uint64_t> g_unmapped{0};

// Under g_mu. munmaps once and removes the registry entry.
void DoMunmapLocked(Mapping* m) {
  if (m->munmapped) return;
  munmap(m->addr, m->len);  // cannot fail for a region we mapped; nothing useful to do if it did
  m->munmapped = true;
  g_unmapped.fetch_add(1, std::memory_order_relaxed);
  auto it = g_live.find(reinterpret_cast<uintptr_t>(m->addr));
  if (it != g_live.end() && it->second == m) g_live.erase(it);
}

// Under g_mu. Applies whatever is due; returns true if the caller must delete m (after unlocking).
bool SettleLocked(Mapping* m) {
  if (m->pins > 0) return false;
  if (m->unmap_requested || m->finalized) DoMunmapLocked(m);
  return m->finalized;
}

void FinalizeMapping(napi_env /*env*/, void* /*data*/, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  bool del = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    m->finalized = true;
    // Called synchronously from inside napi_create_external_arraybuffer (failure) or
    // napi_detach_arraybuffer: the native call in progress settles m when it is done.
    if (m->held) return;
    del = SettleLocked(m);
  }
  if (del) delete m;
}

// Wraps [addr, addr+len) (len > 0, already mmapped) in an external ArrayBuffer. On failure the
// region is unmapped and an exception is pending.
Napi::Value WrapMapping(napi_env env, void* addr, size_t len) {
  Mapping* m = new Mapping();
  m->addr = addr;
  m->len = len;
  m->held = true;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_live[reinterpret_cast<uintptr_t>(addr)] = m;
    g_mapped.fetch_add(1, std::memory_order_relaxed);
  }
  napi_value ab = nullptr;
  napi_status s = napi_create_external_arraybuffer(env, addr, len, FinalizeMapping, m, &ab);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    m->held = false;
    if (s != napi_ok) DoMunmapLocked(m);
  }
  if (s != napi_ok) {
    delete m;
    // Node 20 wraps external ArrayBuffers in a Buffer, which caps them at buffer.constants.MAX_LENGTH
    // (4 GiB); it throws ERR_BUFFER_TOO_LARGE itself, which ThrowNapiFailure keeps.
    return ThrowNapiFailure(env, "napi_create_external_arraybuffer", s);
  }
  return Napi::Value(env, ab);
}

Napi::Value EmptyArrayBuffer(napi_env env) {
  napi_value ab = nullptr;
  void* data = nullptr;
  napi_status s = napi_create_arraybuffer(env, 0, &data, &ab);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_create_arraybuffer", s);
  return Napi::Value(env, ab);
}

// mmapFile(path: string): ArrayBuffer
Napi::Value MmapFile(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "mmapFile", "path", 4096, &path)) return Napi::Value();
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ThrowErrno(env, "mmapFile", "open", errno, &path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "mmapFile", "fstat", err, &path);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return ThrowErrno(env, "mmapFile", "mmap", EISDIR, &path);
  }
  if (st.st_size <= 0) {  // mmap of length 0 is invalid: an empty file is an empty buffer
    close(fd);
    return EmptyArrayBuffer(env);
  }
  if (static_cast<uint64_t>(st.st_size) > SIZE_MAX) {
    close(fd);
    return ThrowErrno(env, "mmapFile", "mmap", EFBIG, &path);
  }
  size_t len = static_cast<size_t>(st.st_size);
  void* addr = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);  // the mapping keeps its own reference to the file
  if (addr == MAP_FAILED) return ThrowErrno(env, "mmapFile", "mmap", err, &path);
  return WrapMapping(env, addr, len);
}

// mmapFd(fd: number, length: number, writable: boolean): ArrayBuffer
Napi::Value MmapFd(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  int fd = -1;
  int64_t length = 0;
  bool writable = false;
  if (!ArgFd(info, 0, "mmapFd", &fd) ||
      !ArgInteger(info, 1, "mmapFd", "length", 0, 9007199254740991.0, &length) ||
      !ArgBool(info, 2, "mmapFd", "writable", false, false, &writable)) {
    return Napi::Value();
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return ThrowErrno(env, "mmapFd", "fstat", errno);
  // Touching a page past the end of a file raises SIGBUS and kills the process; refuse up front.
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(length) > static_cast<uint64_t>(st.st_size)) {
    return ThrowRangeError(env, "mmapFd: length " + std::to_string(length) +
                                    " exceeds the size of fd " + std::to_string(fd) + " (" +
                                    std::to_string(static_cast<long long>(st.st_size)) +
                                    " bytes); ftruncate it first");
  }
  if (length == 0) return EmptyArrayBuffer(env);
  if (static_cast<uint64_t>(length) > SIZE_MAX) return ThrowErrno(env, "mmapFd", "mmap", EFBIG);
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, static_cast<size_t>(length), prot, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return ThrowErrno(env, "mmapFd", "mmap", errno);
  return WrapMapping(env, addr, static_cast<size_t>(length));
}

// unmap(ab: ArrayBuffer): void
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  napi_value ab = info[0];
  bool is_ab = false;
  napi_status s = napi_is_arraybuffer(env, ab, &is_ab);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_is_arraybuffer", s);
  if (!is_ab) return ThrowTypeError(env, "unmap: argument must be an ArrayBuffer returned by mmapFile or mmapFd");
  void* data = nullptr;
  size_t len = 0;
  s = napi_get_arraybuffer_info(env, ab, &data, &len);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_get_arraybuffer_info", s);
  // Already unmapped (detached), or an empty mapping of an empty file/length 0: nothing to release.
  if (len == 0 || data == nullptr) return info.Env().Undefined();

  Mapping* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_live.find(reinterpret_cast<uintptr_t>(data));
    if (it != g_live.end() && it->second->len == len && !it->second->unmap_requested) {
      m = it->second;
      m->held = true;
    }
  }
  if (m == nullptr) {
    return ThrowTypeError(env, "unmap: this ArrayBuffer was not returned by mmapFile or mmapFd");
  }
  // Detach first: afterwards no JS view can reach the pages. Only then is munmap safe.
  s = napi_detach_arraybuffer(env, ab);
  bool del = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    m->held = false;
    // If detaching ran the finalizer synchronously (Node defers it, but do not rely on that) it
    // only set m->finalized; SettleLocked handles every combination.
    if (s == napi_ok) m->unmap_requested = true;
    del = SettleLocked(m);
  }
  if (del) delete m;
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_detach_arraybuffer", s);
  return info.Env().Undefined();
}

// debugCounters(): { mapped, unmapped, live }
Napi::Value DebugCounters(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  double mapped = static_cast<double>(g_mapped.load());
  double unmapped = static_cast<double>(g_unmapped.load());
  double live = 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    live = static_cast<double>(g_live.size());
  }
  napi_value obj = nullptr, a = nullptr, b = nullptr, c = nullptr;
  napi_status s = napi_create_object(env, &obj);
  if (s == napi_ok) s = napi_create_double(env, mapped, &a);
  if (s == napi_ok) s = napi_create_double(env, unmapped, &b);
  if (s == napi_ok) s = napi_create_double(env, live, &c);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "mapped", a);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "unmapped", b);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "live", c);
  if (s != napi_ok) return ThrowNapiFailure(env, "debugCounters result", s);
  return Napi::Value(env, obj);
}

}  // namespace

Mapping* PinMappingContaining(const void* addr, size_t size) {
  uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_live.upper_bound(a);
  if (it == g_live.begin()) return nullptr;
  --it;
  Mapping* m = it->second;
  uintptr_t base = reinterpret_cast<uintptr_t>(m->addr);
  if (m->unmap_requested || m->munmapped || a < base || a - base > m->len || m->len - (a - base) < size) {
    return nullptr;
  }
  m->pins++;
  return m;
}

void UnpinMapping(Mapping* m) {
  if (m == nullptr) return;
  bool del = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    m->pins--;
    del = SettleLocked(m);
  }
  if (del) delete m;
}

bool InitMmap(Napi::Env env, Napi::Object exports) {
  return Export(env, exports, "mmapFile", MmapFile) && Export(env, exports, "mmapFd", MmapFd) &&
         Export(env, exports, "unmap", Unmap) && Export(env, exports, "debugCounters", DebugCounters);
}

}  // namespace quiver

#endif  // __linux__
