// quiver_map: mappings exposed as SharedArrayBuffers.
//
// Why a second module, written against V8 rather than Node-API: Node-API can only wrap foreign
// memory in an ArrayBuffer, and V8 counts every ArrayBuffer backing store as "external" memory of
// the isolate. A 40 GB memory-mapped file would then show as 40 GB allocated (and push the GC to
// collect for memory it does not own), though not one byte was allocated: the pages belong to the
// page cache and load lazily. V8 does not account SharedArrayBuffer backing stores per isolate,
// and a shared mapping *is* shared memory (other processes, Atomics), so it is the honest type.
// The cost: this module is built against the installed Node's V8 headers (the whole addon is
// built at install anyway). It is context-aware, so worker threads can load it.
#ifdef __linux__
#include <node.h>
#include <v8.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Value;

void Throw(Isolate* iso, const char* code, const char* syscall, int err, const char* what) {
  Local<Context> ctx = iso->GetCurrentContext();
  char msg[512];
  if (err != 0) {
    snprintf(msg, sizeof msg, "%s: %s failed: %s", what, syscall, strerror(err));
  } else {
    snprintf(msg, sizeof msg, "%s", what);
  }
  Local<Value> e = v8::Exception::Error(String::NewFromUtf8(iso, msg).ToLocalChecked());
  Local<Object> o = e.As<Object>();
  auto set = [&](const char* k, Local<Value> v) {
    (void)o->Set(ctx, String::NewFromUtf8(iso, k).ToLocalChecked(), v);
  };
  set("code", String::NewFromUtf8(iso, code).ToLocalChecked());
  if (err != 0) {
    set("errno", v8::Integer::New(iso, err));
    set("syscall", String::NewFromUtf8(iso, syscall).ToLocalChecked());
  }
  iso->ThrowException(e);
}

void Unmap(void* data, size_t length, void*) {
  if (data != nullptr && length > 0) munmap(data, length);
}

Local<SharedArrayBuffer> Wrap(Isolate* iso, void* addr, size_t length) {
  std::unique_ptr<v8::BackingStore> store = SharedArrayBuffer::NewBackingStore(addr, length, Unmap, nullptr);
  return SharedArrayBuffer::New(iso, std::move(store));
}

// mapFileShared(path: string): SharedArrayBuffer, read-only, MAP_SHARED, the whole file.
void MapFileShared(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) {
    return Throw(iso, "ERR_QUIVER_INVALID_ARGUMENT", "", 0, "mapFileShared: path must be a string");
  }
  String::Utf8Value path(iso, args[0]);
  int fd = open(*path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "open", errno, *path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "fstat", err, *path);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "mmap", EINVAL, *path);
  }
  size_t length = static_cast<size_t>(st.st_size);
  if (length == 0) {
    close(fd);
    return args.GetReturnValue().Set(SharedArrayBuffer::New(iso, 0));
  }
  void* addr = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);  // the mapping keeps the file referenced
  if (addr == MAP_FAILED) return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "mmap", err, *path);
  args.GetReturnValue().Set(Wrap(iso, addr, length));
}

// mapFdShared(fd: number, length: number, writable: boolean): SharedArrayBuffer (shm segments).
void MapFdShared(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (args.Length() < 3 || !args[0]->IsInt32() || !args[1]->IsNumber() || !args[2]->IsBoolean()) {
    return Throw(iso, "ERR_QUIVER_INVALID_ARGUMENT", "", 0, "mapFdShared(fd, length, writable)");
  }
  int fd = args[0].As<v8::Int32>()->Value();
  double len = args[1].As<v8::Number>()->Value();
  if (fd < 0 || !(len >= 0) || len > 9007199254740991.0 || len != static_cast<double>(static_cast<int64_t>(len))) {
    return Throw(iso, "ERR_QUIVER_INVALID_ARGUMENT", "", 0, "mapFdShared: bad fd or length");
  }
  size_t length = static_cast<size_t>(len);
  struct stat st;
  if (fstat(fd, &st) != 0) return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "fstat", errno, "mapFdShared");
  // Touching pages past the end of the object would kill the process with SIGBUS.
  if (static_cast<uint64_t>(st.st_size) < length) {
    return Throw(iso, "ERR_QUIVER_INVALID_ARGUMENT", "", 0, "mapFdShared: length exceeds the object's size");
  }
  if (length == 0) return args.GetReturnValue().Set(SharedArrayBuffer::New(iso, 0));
  int prot = PROT_READ | (args[2]->IsTrue() ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, length, prot, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return Throw(iso, "ERR_QUIVER_NATIVE_ERRNO", "mmap", errno, "mapFdShared");
  args.GetReturnValue().Set(Wrap(iso, addr, length));
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  Isolate* iso = context->GetIsolate();
  auto def = [&](const char* name, v8::FunctionCallback fn) {
    (void)exports->Set(context, String::NewFromUtf8(iso, name).ToLocalChecked(),
                       v8::Function::New(context, fn).ToLocalChecked());
  };
  def("mapFileShared", MapFileShared);
  def("mapFdShared", MapFdShared);
}
#endif
