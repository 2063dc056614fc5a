// POSIX shared memory and the fd operations around it: shmOpen, shmUnlink, ftruncate, fallocate,
// fstatSize, fchmod, closeFd.
#ifdef __linux__

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

namespace quiver {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;

// shm names: "/name" or "name", one path component, at most NAME_MAX bytes after the slash.
bool ArgShmName(const Napi::CallbackInfo& info, const char* fn, std::string* out) {
  if (!ArgString(info, 0, fn, "name", NAME_MAX + 1, out)) return false;
  size_t start = (*out)[0] == '/' ? 1 : 0;
  if (out->size() == start || out->find('/', start) != std::string::npos || *out == "/." ||
      *out == "/.." || *out == "." || *out == "..") {
    ThrowRangeError(info.Env(), std::string(fn) + ": name must look like '/name' (one component, "
                                                  "no other '/'), got '" + *out + "'");
    return false;
  }
  return true;
}

// shmOpen(name: string, flags?: {create?, exclusive?, readOnly?}, mode?: number): number
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  std::string name;
  if (!ArgShmName(info, "shmOpen", &name)) return Napi::Value();
  bool create = false, exclusive = false, read_only = false;
  Napi::Value flags = info[1];
  if (!flags.IsUndefined()) {
    if (!flags.IsObject()) return ThrowTypeError(env, "shmOpen: flags must be an object or undefined");
    if (!OptionalBoolProperty(env, flags, "shmOpen", "create", &create) ||
        !OptionalBoolProperty(env, flags, "shmOpen", "exclusive", &exclusive) ||
        !OptionalBoolProperty(env, flags, "shmOpen", "readOnly", &read_only)) {
      return Napi::Value();
    }
  }
  if (exclusive && !create) return ThrowTypeError(env, "shmOpen: flags.exclusive requires flags.create");
  int64_t mode = 0600;
  if (!info[2].IsUndefined() && !ArgInteger(info, 2, "shmOpen", "mode", 0, 07777, &mode)) {
    return Napi::Value();
  }
  int oflag = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (create ? O_CREAT : 0) |
              (exclusive ? O_EXCL : 0);
  int fd;
  do {
    fd = shm_open(name.c_str(), oflag, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ThrowErrno(env, "shmOpen", "shm_open", errno, &name);
  return Napi::Number::New(env, fd);
}

// shmUnlink(name: string): void
Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  std::string name;
  if (!ArgShmName(info, "shmUnlink", &name)) return Napi::Value();
  if (shm_unlink(name.c_str()) != 0) return ThrowErrno(info.Env(), "shmUnlink", "shm_unlink", errno, &name);
  return info.Env().Undefined();
}

// ftruncate(fd: number, size: number): void
Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  int fd = -1;
  int64_t size = 0;
  if (!ArgFd(info, 0, "ftruncate", &fd) || !ArgInteger(info, 1, "ftruncate", "size", 0, kMaxSafeInteger, &size)) {
    return Napi::Value();
  }
  int r;
  do {
    r = ftruncate(fd, static_cast<off_t>(size));
  } while (r != 0 && errno == EINTR);
  if (r != 0) return ThrowErrno(info.Env(), "ftruncate", "ftruncate", errno);
  return info.Env().Undefined();
}

// fallocate(fd: number, size: number): void
// posix_fallocate(fd, 0, size): reserves the blocks (tmpfs pages) now, so a full file system is an
// ENOSPC here rather than a SIGBUS at the first write through a mapping of a sparse file.
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  int fd = -1;
  int64_t size = 0;
  if (!ArgFd(info, 0, "fallocate", &fd) || !ArgInteger(info, 1, "fallocate", "size", 1, kMaxSafeInteger, &size)) {
    return Napi::Value();
  }
  int r;
  do {
    // Returns the error number (it does not set errno).
    r = posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (r == EINTR);
  if (r != 0) return ThrowErrno(info.Env(), "fallocate", "posix_fallocate", r);
  return info.Env().Undefined();
}

// fstatSize(fd: number): number
Napi::Value FstatSize(const Napi::CallbackInfo& info) {
  int fd = -1;
  if (!ArgFd(info, 0, "fstatSize", &fd)) return Napi::Value();
  struct stat st;
  if (fstat(fd, &st) != 0) return ThrowErrno(info.Env(), "fstatSize", "fstat", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_size));
}

// fchmod(fd: number, mode: number): void
Napi::Value Fchmod(const Napi::CallbackInfo& info) {
  int fd = -1;
  int64_t mode = 0;
  if (!ArgFd(info, 0, "fchmod", &fd) || !ArgInteger(info, 1, "fchmod", "mode", 0, 07777, &mode)) {
    return Napi::Value();
  }
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) return ThrowErrno(info.Env(), "fchmod", "fchmod", errno);
  return info.Env().Undefined();
}

// closeFd(fd: number): void
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = -1;
  if (!ArgFd(info, 0, "closeFd", &fd)) return Napi::Value();
  // On Linux the descriptor is released even when close() reports EINTR: never retry.
  if (close(fd) != 0 && errno != EINTR) return ThrowErrno(info.Env(), "closeFd", "close", errno);
  return info.Env().Undefined();
}

}  // namespace

bool InitShm(Napi::Env env, Napi::Object exports) {
  return Export(env, exports, "shmOpen", ShmOpen) && Export(env, exports, "shmUnlink", ShmUnlink) &&
         Export(env, exports, "ftruncate", Ftruncate) && Export(env, exports, "fallocate", Fallocate) &&
         Export(env, exports, "fstatSize", FstatSize) &&
         Export(env, exports, "fchmod", Fchmod) && Export(env, exports, "closeFd", CloseFd);
}

}  // namespace quiver

#endif  // __linux__
