// Shared helpers for the quiver_native addon: error construction and argument validation.
//
// Built with NAPI_DISABLE_CPP_EXCEPTIONS (and -fno-exceptions): nothing here throws C++ exceptions.
// A helper that fails leaves a pending JavaScript exception and returns false / an empty value; the
// caller returns immediately. Every N-API status is checked.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace quiver {

// Error codes. Mirrored (and documented) in src/index.ts.
inline constexpr const char* kErrInvalidArgument = "ERR_QUIVER_INVALID_ARGUMENT";
inline constexpr const char* kErrErrno = "ERR_QUIVER_NATIVE_ERRNO";
inline constexpr const char* kErrInternal = "ERR_QUIVER_NATIVE_INTERNAL";
inline constexpr const char* kErrUnsupported = "ERR_QUIVER_NATIVE_UNSUPPORTED";

// Kinds of JS error for ThrowError.
enum class ErrorKind { kError, kTypeError, kRangeError };

// Throws `new <kind>(message)` with `.code = code`, unless an exception is already pending (then
// the pending one is kept). Always returns an empty Napi::Value so callers can `return Throw...;`.
Napi::Value ThrowError(napi_env env, ErrorKind kind, const char* code, const std::string& message);

// Argument errors: TypeError / RangeError with code ERR_QUIVER_INVALID_ARGUMENT.
Napi::Value ThrowTypeError(napi_env env, const std::string& message);
Napi::Value ThrowRangeError(napi_env env, const std::string& message);

// Builds (does not throw) an Error for a failed system call:
//   message "<fn>: <syscall>(<path>) failed: <strerror> (<ENAME>)"
//   code 'ERR_QUIVER_NATIVE_ERRNO', errno: positive Linux errno, errnoName: 'ENOENT' etc.,
//   syscall: '<syscall>', path (when given).
// Returns nullptr if even that failed (then an exception is pending).
napi_value MakeErrnoError(napi_env env, const char* fn, const char* syscall, int err,
                          const std::string* path = nullptr);

// Throws MakeErrnoError(...). Returns an empty value.
Napi::Value ThrowErrno(napi_env env, const char* fn, const char* syscall, int err,
                       const std::string* path = nullptr);

// For a failed N-API call: keeps a pending exception if there is one, else throws an Error with
// code ERR_QUIVER_NATIVE_INTERNAL naming the call and the status.
Napi::Value ThrowNapiFailure(napi_env env, const char* what, napi_status status);

// ---- argument readers: on bad input they throw (TypeError/RangeError) and return false ----

// A number that is an integer in [min, max]. `name` is used in messages ("fn: name must be ...").
bool ArgInteger(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
                double min, double max, int64_t* out);

// A file descriptor: integer in [0, INT32_MAX].
bool ArgFd(const Napi::CallbackInfo& info, size_t index, const char* fn, int* out);

// A string without NUL characters, at most max_bytes UTF-8 bytes, non-empty.
bool ArgString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
               size_t max_bytes, std::string* out);

// A boolean; `undefined` gives `fallback` when allow_undefined.
bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
             bool allow_undefined, bool fallback, bool* out);

// Reads optional boolean property `key` of object `obj` (undefined -> false).
bool OptionalBoolProperty(napi_env env, napi_value obj, const char* fn, const char* key, bool* out);

// Registers one function on `exports`. Returns false (exception pending) on failure.
bool Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback cb);

// Module parts (each .cc file).
bool InitMmap(Napi::Env env, Napi::Object exports);
bool InitShm(Napi::Env env, Napi::Object exports);
bool InitFutex(Napi::Env env, Napi::Object exports);

// ---- mapping registry (mmap.cc), used by futex.cc to keep a mapping alive during a wait ----

struct Mapping;

// If [addr, addr+size) lies inside a live mapping made by mmapFile/mmapFd, pins it (its munmap is
// deferred while pinned) and returns it; otherwise returns nullptr. Thread-safe.
Mapping* PinMappingContaining(const void* addr, size_t size);

// Releases a pin taken by PinMappingContaining (nullptr is ignored). Thread-safe.
void UnpinMapping(Mapping* mapping);

}  // namespace quiver
