// quiver_native: module entry point, shared helpers, getPeerCred and pageSize.
#include "common.h"

#include <climits>
#include <cmath>
#include <cstring>

#ifdef __linux__
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace quiver {

namespace {

napi_value MakeString(napi_env env, const std::string& s) {
  napi_value v = nullptr;
  if (napi_create_string_utf8(env, s.data(), s.size(), &v) != napi_ok) return nullptr;
  return v;
}

bool SetProp(napi_env env, napi_value obj, const char* key, napi_value value) {
  return value != nullptr && napi_set_named_property(env, obj, key, value) == napi_ok;
}

bool IsExceptionPending(napi_env env) {
  bool pending = false;
  return napi_is_exception_pending(env, &pending) == napi_ok && pending;
}

const char* ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  return strerrorname_np(err);  // nullptr when unknown
#else
  (void)err;
  return nullptr;
#endif
}

std::string Describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "a boolean";
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_symbol: return "a symbol";
    case napi_object: return "an object";
    case napi_function: return "a function";
    case napi_external: return "an external";
    case napi_bigint: return "a bigint";
  }
  return "an unknown value";
}

}  // namespace

Napi::Value ThrowError(napi_env env, ErrorKind kind, const char* code, const std::string& message) {
  if (IsExceptionPending(env)) return Napi::Value();
  napi_value code_v = MakeString(env, code);
  napi_value msg_v = MakeString(env, message);
  napi_value err = nullptr;
  napi_status s = napi_generic_failure;
  if (code_v != nullptr && msg_v != nullptr) {
    switch (kind) {
      case ErrorKind::kTypeError: s = napi_create_type_error(env, code_v, msg_v, &err); break;
      case ErrorKind::kRangeError: s = napi_create_range_error(env, code_v, msg_v, &err); break;
      default: s = napi_create_error(env, code_v, msg_v, &err); break;
    }
  }
  if (s == napi_ok && err != nullptr) {
    napi_throw(env, err);
  } else if (!IsExceptionPending(env)) {
    napi_throw_error(env, code, message.c_str());  // last resort
  }
  return Napi::Value();
}

Napi::Value ThrowTypeError(napi_env env, const std::string& message) {
  return ThrowError(env, ErrorKind::kTypeError, kErrInvalidArgument, message);
}

Napi::Value ThrowRangeError(napi_env env, const std::string& message) {
  return ThrowError(env, ErrorKind::kRangeError, kErrInvalidArgument, message);
}

napi_value MakeErrnoError(napi_env env, const char* fn, const char* syscall, int err,
                          const std::string* path) {
  const char* name = ErrnoName(err);
  std::string msg = std::string(fn) + ": " + syscall;
  if (path != nullptr) msg += "('" + *path + "')";
  msg += " failed: ";
  msg += std::strerror(err);
  if (name != nullptr) msg += std::string(" (") + name + ")";
  napi_value code_v = MakeString(env, kErrErrno);
  napi_value msg_v = MakeString(env, msg);
  napi_value error = nullptr;
  if (code_v == nullptr || msg_v == nullptr ||
      napi_create_error(env, code_v, msg_v, &error) != napi_ok) {
    return nullptr;
  }
  napi_value errno_v = nullptr;
  if (napi_create_int32(env, err, &errno_v) != napi_ok) return nullptr;
  bool ok = SetProp(env, error, "errno", errno_v) &&
            SetProp(env, error, "syscall", MakeString(env, syscall));
  if (ok && name != nullptr) ok = SetProp(env, error, "errnoName", MakeString(env, name));
  if (ok && path != nullptr) ok = SetProp(env, error, "path", MakeString(env, *path));
  return ok ? error : nullptr;
}

Napi::Value ThrowErrno(napi_env env, const char* fn, const char* syscall, int err,
                       const std::string* path) {
  if (IsExceptionPending(env)) return Napi::Value();
  napi_value error = MakeErrnoError(env, fn, syscall, err, path);
  if (error != nullptr) {
    napi_throw(env, error);
  } else if (!IsExceptionPending(env)) {
    napi_throw_error(env, kErrErrno, std::strerror(err));
  }
  return Napi::Value();
}

Napi::Value ThrowNapiFailure(napi_env env, const char* what, napi_status status) {
  if (IsExceptionPending(env)) return Napi::Value();
  return ThrowError(env, ErrorKind::kError, kErrInternal,
                    std::string("quiver native: ") + what + " failed (napi_status " +
                        std::to_string(static_cast<int>(status)) + ")");
}

bool ArgInteger(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
                double min, double max, int64_t* out) {
  Napi::Value v = info[index];
  if (!v.IsNumber()) {
    ThrowTypeError(info.Env(), std::string(fn) + ": " + name + " must be a number, got " + Describe(v));
    return false;
  }
  double d = 0;
  napi_status s = napi_get_value_double(info.Env(), v, &d);
  if (s != napi_ok) {
    ThrowNapiFailure(info.Env(), "napi_get_value_double", s);
    return false;
  }
  if (!std::isfinite(d) || std::trunc(d) != d || d < min || d > max) {
    ThrowRangeError(info.Env(), std::string(fn) + ": " + name + " must be an integer in [" +
                                    std::to_string(static_cast<long long>(min)) + ", " +
                                    std::to_string(static_cast<long long>(max)) + "], got " +
                                    Napi::Number(info.Env(), v).ToString().Utf8Value());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgFd(const Napi::CallbackInfo& info, size_t index, const char* fn, int* out) {
  int64_t v = 0;
  if (!ArgInteger(info, index, fn, "fd", 0, INT32_MAX, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
               size_t max_bytes, std::string* out) {
  Napi::Value v = info[index];
  if (!v.IsString()) {
    ThrowTypeError(info.Env(), std::string(fn) + ": " + name + " must be a string, got " + Describe(v));
    return false;
  }
  size_t len = 0;
  napi_status s = napi_get_value_string_utf8(info.Env(), v, nullptr, 0, &len);
  if (s != napi_ok) {
    ThrowNapiFailure(info.Env(), "napi_get_value_string_utf8", s);
    return false;
  }
  if (len == 0 || len > max_bytes) {
    ThrowRangeError(info.Env(), std::string(fn) + ": " + name + " must be 1 to " +
                                    std::to_string(max_bytes) + " UTF-8 bytes long, got " +
                                    std::to_string(len));
    return false;
  }
  std::string buf(len + 1, '\0');
  size_t copied = 0;
  s = napi_get_value_string_utf8(info.Env(), v, &buf[0], buf.size(), &copied);
  if (s != napi_ok) {
    ThrowNapiFailure(info.Env(), "napi_get_value_string_utf8", s);
    return false;
  }
  buf.resize(copied);
  if (buf.find('\0') != std::string::npos) {
    ThrowTypeError(info.Env(), std::string(fn) + ": " + name + " must not contain NUL characters");
    return false;
  }
  *out = std::move(buf);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* name,
             bool allow_undefined, bool fallback, bool* out) {
  Napi::Value v = info[index];
  if (allow_undefined && v.IsUndefined()) {
    *out = fallback;
    return true;
  }
  if (!v.IsBoolean()) {
    ThrowTypeError(info.Env(), std::string(fn) + ": " + name + " must be a boolean, got " + Describe(v));
    return false;
  }
  bool b = false;
  napi_status s = napi_get_value_bool(info.Env(), v, &b);
  if (s != napi_ok) {
    ThrowNapiFailure(info.Env(), "napi_get_value_bool", s);
    return false;
  }
  *out = b;
  return true;
}

bool OptionalBoolProperty(napi_env env, napi_value obj, const char* fn, const char* key, bool* out) {
  napi_value v = nullptr;
  napi_status s = napi_get_named_property(env, obj, key, &v);
  if (s != napi_ok) {
    ThrowNapiFailure(env, "napi_get_named_property", s);
    return false;
  }
  napi_valuetype t;
  s = napi_typeof(env, v, &t);
  if (s != napi_ok) {
    ThrowNapiFailure(env, "napi_typeof", s);
    return false;
  }
  if (t == napi_undefined) {
    *out = false;
    return true;
  }
  if (t != napi_boolean) {
    ThrowTypeError(env, std::string(fn) + ": flags." + key + " must be a boolean or undefined");
    return false;
  }
  s = napi_get_value_bool(env, v, out);
  if (s != napi_ok) {
    ThrowNapiFailure(env, "napi_get_value_bool", s);
    return false;
  }
  return true;
}

bool Export(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback cb) {
  Napi::Function f = Napi::Function::New(env, cb, name);
  if (env.IsExceptionPending() || f.IsEmpty()) return false;
  napi_status s = napi_set_named_property(env, exports, name, f);
  if (s != napi_ok) {
    ThrowNapiFailure(env, "napi_set_named_property", s);
    return false;
  }
  return true;
}

#ifdef __linux__

namespace {

// getPeerCred(fd: number): { pid: number, uid: number, gid: number }
Napi::Value GetPeerCred(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  int fd = -1;
  if (!ArgFd(info, 0, "getPeerCred", &fd)) return Napi::Value();
  struct ucred cred;
  std::memset(&cred, 0, sizeof cred);
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ThrowErrno(env, "getPeerCred", "getsockopt", errno);
  }
  napi_value obj = nullptr, pid = nullptr, uid = nullptr, gid = nullptr;
  napi_status s = napi_create_object(env, &obj);
  if (s == napi_ok) s = napi_create_int32(env, cred.pid, &pid);
  if (s == napi_ok) s = napi_create_uint32(env, cred.uid, &uid);
  if (s == napi_ok) s = napi_create_uint32(env, cred.gid, &gid);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "pid", pid);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "uid", uid);
  if (s == napi_ok) s = napi_set_named_property(env, obj, "gid", gid);
  if (s != napi_ok) return ThrowNapiFailure(env, "getPeerCred result", s);
  return Napi::Value(env, obj);
}

// pageSize(): number
Napi::Value PageSize(const Napi::CallbackInfo& info) {
  long ps = sysconf(_SC_PAGESIZE);
  if (ps <= 0) return ThrowErrno(info.Env(), "pageSize", "sysconf", errno != 0 ? errno : EINVAL);
  return Napi::Number::New(info.Env(), static_cast<double>(ps));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!Export(env, exports, "getPeerCred", GetPeerCred) ||
      !Export(env, exports, "pageSize", PageSize) ||
      !InitMmap(env, exports) || !InitShm(env, exports) || !InitFutex(env, exports)) {
    return Napi::Object();  // exception pending: require() throws it
  }
  return exports;
}

#else  // !__linux__

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  (void)exports;
  ThrowError(env, ErrorKind::kError, kErrUnsupported,
             "quiver native: this addon supports Linux only");
  return Napi::Object();
}

#endif

}  // namespace quiver

namespace {
Napi::Object InitQuiverNative(Napi::Env env, Napi::Object exports) { return quiver::Init(env, exports); }
}  // namespace

NODE_API_MODULE(quiver_native, InitQuiverNative)
