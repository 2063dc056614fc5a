// futexWake / futexWaitAsync: cross-process wake-ups on a 32-bit word in shared memory.
//
// Both use the *shared* futex operations (no FUTEX_PRIVATE_FLAG): the word normally lives in a
// MAP_SHARED mapping seen by several processes, and the kernel keys such futexes by (inode, offset),
// so a FUTEX_WAKE in one process wakes a FUTEX_WAIT in another.
//
// futexWaitAsync never blocks the event loop for longer than a short spin:
//   1. Synchronously, on the JS thread: if the word != expected the promise resolves 'not-equal'
//      (like Atomics.waitAsync). If timeoutMs is 0 it resolves 'timed-out'.
//   2. Adaptive spin, on the JS thread: up to `spin` iterations (default: adaptive, 32..512, a few
//      microseconds) re-reading the word with a CPU pause between reads. If the word changes, the
//      promise resolves 'ok' without any thread hop, so a producer that answers quickly is seen
//      with microsecond latency. The per-thread limit doubles when a spin succeeds and halves when
//      it does not, so an idle channel costs almost nothing.
//   3. Otherwise the wait is handed to a waiter thread of this environment's pool (dedicated
//      threads, NOT the libuv threadpool, which a few long waits would starve). The thread calls
//      FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline and the result comes back through
//      a thread-safe function. While pending, the JS buffer is referenced (cannot be collected) and
//      a mapping from mmapFile/mmapFd is pinned (unmap() detaches it at once but defers munmap).
//      A pending wait keeps the event loop alive, like a timer.
// The pool keeps up to kMaxIdleThreads idle threads for reuse. When the environment is torn down
// (worker exit/terminate, or normal exit) pending waits are cancelled: their threads are woken with
// FUTEX_WAKE on the waited word (other waiters of that word, possibly in other processes, see one
// spurious wake-up, which any futex protocol tolerates) and joined. process.exit() with waits pending
// simply exits: the waiter threads are blocked in the kernel and touch nothing on the way out.
#ifdef __linux__

#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace quiver {

namespace {

constexpr uint32_t kSpinMin = 32;
constexpr uint32_t kSpinMax = 512;
constexpr uint32_t kSpinInitial = 256;
constexpr size_t kMaxIdleThreads = 4;
constexpr size_t kWaiterStackSize = 256 * 1024;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

inline uint32_t LoadWord(const uint32_t* addr) { return __atomic_load_n(addr, __ATOMIC_ACQUIRE); }

long SysFutex(uint32_t* addr, int op, uint32_t val, const struct timespec* ts, uint32_t val3) {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, val3);
}

enum class Outcome { kOk, kTimedOut, kCancelled, kFailed };

struct WaitPool;

struct WaitJob {
  uint32_t* addr = nullptr;
  uint32_t expected = 0;
  bool infinite = true;
  struct timespec deadline = {0, 0};  // CLOCK_MONOTONIC, absolute
  napi_deferred deferred = nullptr;
  napi_ref keep = nullptr;            // the buffer argument, kept alive while waiting
  Mapping* pin = nullptr;
  std::atomic<bool> cancel{false};
  Outcome outcome = Outcome::kOk;
  int err = 0;
};

// Per-environment state (napi instance data).
struct AddonData {
  WaitPool* pool = nullptr;
  uint32_t spin_limit = kSpinInitial;
  bool closed = false;  // the environment is being torn down: no new off-thread waits
};

struct WaitPool {
  AddonData* data = nullptr;
  napi_threadsafe_function tsfn = nullptr;
  size_t pending_js = 0;  // JS thread only: jobs whose promise is unsettled

  std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable done_cv;
  std::deque<WaitJob*> queue;            // submitted, not yet taken by a thread
  std::unordered_set<WaitJob*> running;  // taken by a thread, waiting in the kernel
  std::unordered_set<WaitJob*> owned;    // every job not yet delivered to JS
  std::vector<pthread_t> threads;        // all threads not yet joined
  std::vector<pthread_t> exited;         // threads that returned; join them
  size_t idle = 0;
  bool shutdown = false;
};

void RunWait(WaitJob* j) {
  for (;;) {
    if (j->cancel.load(std::memory_order_acquire)) {
      j->outcome = Outcome::kCancelled;
      return;
    }
    long r = SysFutex(j->addr, FUTEX_WAIT_BITSET, j->expected, j->infinite ? nullptr : &j->deadline,
                      FUTEX_BITSET_MATCH_ANY);
    if (r == 0) {
      j->outcome = j->cancel.load(std::memory_order_acquire) ? Outcome::kCancelled : Outcome::kOk;
      return;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN) {  // the word changed after the synchronous check: as good as a wake-up
      j->outcome = Outcome::kOk;
      return;
    }
    if (e == ETIMEDOUT) {
      j->outcome = Outcome::kTimedOut;
      return;
    }
    j->outcome = Outcome::kFailed;
    j->err = e;
    return;
  }
}

void* WaiterMain(void* arg) {
  WaitPool* p = static_cast<WaitPool*>(arg);
  std::unique_lock<std::mutex> lock(p->mu);
  for (;;) {
    while (p->queue.empty() && !p->shutdown) {
      p->idle++;
      p->work_cv.wait(lock);
      p->idle--;
    }
    if (p->shutdown) break;
    WaitJob* j = p->queue.front();
    p->queue.pop_front();
    p->running.insert(j);
    lock.unlock();
    RunWait(j);
    lock.lock();
    p->running.erase(j);
    p->done_cv.notify_all();
    if (!p->shutdown) {
      // Fails only with napi_closing (environment going away); Shutdown then frees the job.
      napi_call_threadsafe_function(p->tsfn, j, napi_tsfn_nonblocking);
    }
    if (p->idle >= kMaxIdleThreads && !p->shutdown) {
      p->exited.push_back(pthread_self());
      break;
    }
  }
  return nullptr;
}

napi_value ResultString(napi_env env, const char* s) {
  napi_value v = nullptr;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return nullptr;
  return v;
}

// JS thread. Settles the job's promise and frees it.
void FinishJob(napi_env env, WaitPool* p, WaitJob* j) {
  napi_value value = nullptr;
  bool reject = false;
  switch (j->outcome) {
    case Outcome::kOk: value = ResultString(env, "ok"); break;
    case Outcome::kTimedOut: value = ResultString(env, "timed-out"); break;
    case Outcome::kCancelled:
      reject = true;
      {
        napi_value code = ResultString(env, kErrInternal);
        napi_value msg = ResultString(env, "futexWaitAsync: wait cancelled");
        if (code != nullptr && msg != nullptr) napi_create_error(env, code, msg, &value);
      }
      break;
    case Outcome::kFailed:
      reject = true;
      value = MakeErrnoError(env, "futexWaitAsync", "futex", j->err);
      break;
  }
  if (value == nullptr) {  // could not even build the value: reject with whatever is pending
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_get_and_clear_last_exception(env, &value);
    }
    reject = true;
    if (value == nullptr) napi_get_undefined(env, &value);
  }
  if (reject) {
    napi_reject_deferred(env, j->deferred, value);
  } else {
    napi_resolve_deferred(env, j->deferred, value);
  }
  if (j->keep != nullptr) napi_delete_reference(env, j->keep);
  UnpinMapping(j->pin);
  delete j;
  if (p != nullptr && p->pending_js > 0 && --p->pending_js == 0) {
    napi_unref_threadsafe_function(env, p->tsfn);
  }
}

// Thread-safe function callback: a waiter thread finished `data`.
void DeliverResult(napi_env env, napi_value /*js_cb*/, void* context, void* data) {
  if (env == nullptr) return;  // the TSFN is being torn down: Shutdown owns and frees the job
  WaitPool* p = static_cast<WaitPool*>(context);
  WaitJob* j = static_cast<WaitJob*>(data);
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->owned.erase(j);
  }
  FinishJob(env, p, j);
}

// Environment teardown (TSFN finalizer, JS thread): cancel every wait, join every thread, free.
void ShutdownPool(napi_env env, void* finalize_data, void* /*hint*/) {
  WaitPool* p = static_cast<WaitPool*>(finalize_data);
  std::vector<pthread_t> threads;
  std::unordered_set<WaitJob*> leftover;
  {
    std::unique_lock<std::mutex> lock(p->mu);
    p->shutdown = true;
    for (WaitJob* j : p->owned) j->cancel.store(true, std::memory_order_release);
    p->work_cv.notify_all();
    // A thread may be just about to enter FUTEX_WAIT when we wake: repeat until all have left.
    while (!p->running.empty()) {
      for (WaitJob* j : p->running) SysFutex(j->addr, FUTEX_WAKE, INT_MAX, nullptr, 0);
      p->done_cv.wait_for(lock, std::chrono::milliseconds(2));
    }
    threads.swap(p->threads);
    leftover.swap(p->owned);
    p->queue.clear();
  }
  for (pthread_t t : threads) pthread_join(t, nullptr);
  for (WaitJob* j : leftover) {
    // The environment is going away: the promise can never be observed; release what we hold.
    if (j->keep != nullptr) napi_delete_reference(env, j->keep);
    UnpinMapping(j->pin);
    delete j;
  }
  if (p->data != nullptr) {
    p->data->pool = nullptr;
    p->data->closed = true;
  }
  delete p;
}

void FinalizeAddonData(napi_env /*env*/, void* data, void* /*hint*/) {
  AddonData* d = static_cast<AddonData*>(data);
  // The pool's TSFN is finalized by its own cleanup hook first; if not, it still owns the pool.
  if (d->pool != nullptr) d->pool->data = nullptr;
  delete d;
}

AddonData* GetAddonData(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<AddonData*>(data);
}

// JS thread: joins threads that exited for being surplus idle.
void ReapLocked(WaitPool* p) {
  for (pthread_t t : p->exited) {
    pthread_join(t, nullptr);
    for (size_t i = 0; i < p->threads.size(); i++) {
      if (pthread_equal(p->threads[i], t)) {
        p->threads.erase(p->threads.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  p->exited.clear();
}

WaitPool* GetPool(napi_env env, AddonData* d) {
  if (d->pool != nullptr) return d->pool;
  WaitPool* p = new WaitPool();
  p->data = d;
  napi_value name = nullptr;
  napi_status s = napi_create_string_utf8(env, "quiver.futexWaitAsync", NAPI_AUTO_LENGTH, &name);
  if (s == napi_ok) {
    s = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, p, ShutdownPool, p,
                                        DeliverResult, &p->tsfn);
  }
  if (s != napi_ok) {
    delete p;
    ThrowNapiFailure(env, "napi_create_threadsafe_function", s);
    return nullptr;
  }
  // An idle pool must not keep the process alive; Submit refs it while waits are pending.
  s = napi_unref_threadsafe_function(env, p->tsfn);
  if (s != napi_ok) {
    // Still usable; the TSFN owns p now (freed in ShutdownPool).
    d->pool = p;
    ThrowNapiFailure(env, "napi_unref_threadsafe_function", s);
    return nullptr;
  }
  d->pool = p;
  return p;
}

// JS thread: hands a job to a waiter thread. Returns 0, or an errno when no thread could be
// started for it (then the job is not queued).
int Submit(napi_env env, WaitPool* p, WaitJob* j) {
  {
    std::lock_guard<std::mutex> lock(p->mu);
    ReapLocked(p);
    // Every queued job needs an idle thread of its own: a busy thread may wait for a long time.
    if (p->idle < p->queue.size() + 1) {
      pthread_attr_t attr;
      int err = pthread_attr_init(&attr);
      if (err != 0) return err;
      pthread_attr_setstacksize(&attr, kWaiterStackSize);  // failure leaves the default: fine
      // Waiter threads block every signal (the mask is inherited), so signals keep going to
      // Node's threads and never interrupt a wait.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_SETMASK, &all, &old);
      pthread_t t;
      err = pthread_create(&t, &attr, WaiterMain, p);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      pthread_attr_destroy(&attr);
      if (err != 0) return err;
      p->threads.push_back(t);
    }
    p->owned.insert(j);
    p->queue.push_back(j);
    p->work_cv.notify_one();
  }
  if (p->pending_js++ == 0) {
    napi_status s = napi_ref_threadsafe_function(env, p->tsfn);
    (void)s;  // only fails for invalid arguments; the wait still completes, it just would not
              // keep the loop alive
  }
  return 0;
}

// Resolves the word argument: buffer (ArrayBuffer | SharedArrayBuffer | ArrayBufferView) and
// byteOffset (relative to the start of the buffer or view). On success *word points at an
// aligned, in-range 32-bit word (the caller keeps info[0] alive while it uses it).
bool ResolveWord(const Napi::CallbackInfo& info, const char* fn, uint32_t** word) {
  napi_env env = info.Env();
  napi_value buf = info[0];
  void* data = nullptr;
  size_t len = 0;
  bool is = false;
  napi_status s = napi_is_arraybuffer(env, buf, &is);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_is_arraybuffer", s), false;
  if (is) {
    s = napi_get_arraybuffer_info(env, buf, &data, &len);
    if (s != napi_ok) return ThrowNapiFailure(env, "napi_get_arraybuffer_info", s), false;
  } else {
    napi_value view = buf;
    napi_valuetype t;
    s = napi_typeof(env, buf, &t);
    if (s != napi_ok) return ThrowNapiFailure(env, "napi_typeof", s), false;
    if (t == napi_object) {
      // A SharedArrayBuffer (Node-API before v10 has no direct accessor): view it as a Uint8Array.
      napi_value global = nullptr, sab_ctor = nullptr;
      bool is_sab = false;
      s = napi_get_global(env, &global);
      if (s == napi_ok) s = napi_get_named_property(env, global, "SharedArrayBuffer", &sab_ctor);
      napi_valuetype ct = napi_undefined;
      if (s == napi_ok) s = napi_typeof(env, sab_ctor, &ct);
      if (s == napi_ok && ct == napi_function) s = napi_instanceof(env, buf, sab_ctor, &is_sab);
      if (s != napi_ok) return ThrowNapiFailure(env, "SharedArrayBuffer check", s), false;
      if (is_sab) {
        napi_value u8_ctor = nullptr;
        s = napi_get_named_property(env, global, "Uint8Array", &u8_ctor);
        if (s == napi_ok) s = napi_new_instance(env, u8_ctor, 1, &buf, &view);
        if (s != napi_ok) return ThrowNapiFailure(env, "new Uint8Array(SharedArrayBuffer)", s), false;
      }
    }
    bool is_ta = false, is_dv = false;
    s = napi_is_typedarray(env, view, &is_ta);
    if (s == napi_ok && !is_ta) s = napi_is_dataview(env, view, &is_dv);
    if (s != napi_ok) return ThrowNapiFailure(env, "napi_is_typedarray", s), false;
    if (is_ta) {
      napi_typedarray_type type;
      size_t length = 0;
      s = napi_get_typedarray_info(env, view, &type, &length, &data, nullptr, nullptr);
      if (s != napi_ok) return ThrowNapiFailure(env, "napi_get_typedarray_info", s), false;
      size_t elem = 1;
      switch (type) {
        case napi_int16_array: case napi_uint16_array: elem = 2; break;
        case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
        case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
        default: elem = 1; break;
      }
      len = length * elem;
    } else if (is_dv) {
      s = napi_get_dataview_info(env, view, &len, &data, nullptr, nullptr);
      if (s != napi_ok) return ThrowNapiFailure(env, "napi_get_dataview_info", s), false;
    } else {
      ThrowTypeError(env, std::string(fn) +
                              ": buffer must be an ArrayBuffer, SharedArrayBuffer or ArrayBuffer view");
      return false;
    }
  }
  int64_t offset = 0;
  if (!ArgInteger(info, 1, fn, "byteOffset", 0, 9007199254740991.0, &offset)) return false;
  if (offset % 4 != 0) {
    ThrowRangeError(env, std::string(fn) + ": byteOffset must be a multiple of 4, got " + std::to_string(offset));
    return false;
  }
  if (data == nullptr || len < 4 || static_cast<uint64_t>(offset) > len - 4) {
    ThrowRangeError(env, std::string(fn) + ": byteOffset " + std::to_string(offset) +
                             " is out of range for a buffer of " + std::to_string(len) +
                             " bytes (a detached or unmapped buffer has 0)");
    return false;
  }
  uint8_t* p = static_cast<uint8_t*>(data) + offset;
  if (reinterpret_cast<uintptr_t>(p) % 4 != 0) {
    ThrowRangeError(env, std::string(fn) + ": the word's address is not 4-byte aligned (view offset)");
    return false;
  }
  *word = reinterpret_cast<uint32_t*>(p);
  return true;
}

// futexWake(buffer, byteOffset, count): number
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  uint32_t* word = nullptr;
  if (!ResolveWord(info, "futexWake", &word)) return Napi::Value();
  int count = INT_MAX;
  Napi::Value c = info[2];
  bool infinite = false;
  if (c.IsNumber()) {
    double d = c.As<Napi::Number>().DoubleValue();
    infinite = std::isinf(d) && d > 0;
  }
  if (!infinite) {
    int64_t v = 0;
    if (!ArgInteger(info, 2, "futexWake", "count", 0, INT_MAX, &v)) return Napi::Value();
    count = static_cast<int>(v);
  }
  long r = SysFutex(word, FUTEX_WAKE, static_cast<uint32_t>(count), nullptr, 0);
  if (r < 0) return ThrowErrno(info.Env(), "futexWake", "futex", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(r));
}

Napi::Value SettledPromise(napi_env env, const char* result) {
  napi_deferred deferred = nullptr;
  napi_value promise = nullptr;
  napi_status s = napi_create_promise(env, &deferred, &promise);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_create_promise", s);
  napi_value v = ResultString(env, result);
  if (v == nullptr) {
    napi_get_undefined(env, &v);  // exception pending: it propagates
    napi_resolve_deferred(env, deferred, v);
    return Napi::Value();
  }
  s = napi_resolve_deferred(env, deferred, v);
  if (s != napi_ok) return ThrowNapiFailure(env, "napi_resolve_deferred", s);
  return Napi::Value(env, promise);
}

// futexSpin(buffer, byteOffset, expected, maxMicros): boolean. Synchronous: re-reads the word,
// with a CPU pause between reads, until it is not `expected` (true) or `maxMicros` have passed
// (false). For a caller that wants to spin before announcing that it sleeps (so that a waker
// need not make a system call for a waiter that is only spinning).
// The arguments (buffer, byteOffset, expected, maxMicros) of futexSpin and futexWaitSync.
bool BoundedWaitArgs(const Napi::CallbackInfo& info, const char* fn, uint32_t** word, uint32_t* expected, int64_t* micros) {
  if (!ResolveWord(info, fn, word)) return false;
  int64_t expected64 = 0;
  if (!ArgInteger(info, 2, fn, "expected", -2147483648.0, 4294967295.0, &expected64)) return false;
  if (!ArgInteger(info, 3, fn, "maxMicros", 0, 1000000, micros)) return false;
  *expected = static_cast<uint32_t>(expected64);
  return true;
}

Napi::Value FutexSpin(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  uint32_t* word = nullptr;
  uint32_t expected = 0;
  int64_t micros = 0;
  if (!BoundedWaitArgs(info, "futexSpin", &word, &expected, &micros)) return Napi::Value();
  if (LoadWord(word) != expected) return Napi::Boolean::New(env, true);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const int64_t limit = micros * 1000;
  for (uint32_t i = 1;; i++) {
    CpuRelax();
    if (LoadWord(word) != expected) return Napi::Boolean::New(env, true);
    if ((i & 15) == 0) {
      struct timespec t;
      clock_gettime(CLOCK_MONOTONIC, &t);
      if ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) >= limit) return Napi::Boolean::New(env, false);
    }
  }
}

// futexWaitSync(buffer, byteOffset, expected, maxMicros): boolean. Synchronous and bounded: if the
// word is `expected`, sleeps in the kernel on it (FUTEX_WAIT, shared) for at most `maxMicros`.
// True when the word is no longer `expected` on return (woken, or it had changed), false when
// the time ran out (or a spurious wake left it unchanged). Unlike futexSpin it yields the CPU,
// and unlike futexWaitAsync a wake reaches this thread directly, with no hop through a waiter
// thread and the event loop: for a caller that expects an answer within microseconds and
// accepts blocking its thread for that long.
Napi::Value FutexWaitSync(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  uint32_t* word = nullptr;
  uint32_t expected = 0;
  int64_t micros = 0;
  if (!BoundedWaitArgs(info, "futexWaitSync", &word, &expected, &micros)) return Napi::Value();
  if (LoadWord(word) != expected) return Napi::Boolean::New(env, true);
  if (micros == 0) return Napi::Boolean::New(env, false);
  struct timespec rel;
  rel.tv_sec = static_cast<time_t>(micros / 1000000);
  rel.tv_nsec = static_cast<long>((micros % 1000000) * 1000);
  long r = SysFutex(word, FUTEX_WAIT, expected, &rel, 0);
  if (r < 0 && errno != EAGAIN && errno != ETIMEDOUT && errno != EINTR) return ThrowErrno(env, "futexWaitSync", "futex", errno);
  return Napi::Boolean::New(env, LoadWord(word) != expected);
}

// futexWaitAsync(buffer, byteOffset, expected, timeoutMs, spin?): Promise<'ok'|'not-equal'|'timed-out'>
Napi::Value FutexWaitAsync(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  uint32_t* word = nullptr;
  if (!ResolveWord(info, "futexWaitAsync", &word)) return Napi::Value();
  int64_t expected64 = 0;
  if (!ArgInteger(info, 2, "futexWaitAsync", "expected", -2147483648.0, 4294967295.0, &expected64)) {
    return Napi::Value();
  }
  uint32_t expected = static_cast<uint32_t>(expected64);  // int32 and uint32 views agree bitwise

  Napi::Value tv = info[3];
  if (!tv.IsNumber()) return ThrowTypeError(env, "futexWaitAsync: timeoutMs must be a number (Infinity for no timeout)");
  double timeout_ms = tv.As<Napi::Number>().DoubleValue();
  if (std::isnan(timeout_ms) || timeout_ms < 0) {
    return ThrowRangeError(env, "futexWaitAsync: timeoutMs must be >= 0 or Infinity");
  }

  AddonData* d = GetAddonData(env);
  if (d == nullptr) return ThrowError(env, ErrorKind::kError, kErrInternal, "futexWaitAsync: addon data missing");
  bool adaptive = info[4].IsUndefined();
  uint32_t spin = d->spin_limit;
  if (!adaptive) {
    int64_t v = 0;
    if (!ArgInteger(info, 4, "futexWaitAsync", "spin", 0, 1000000, &v)) return Napi::Value();
    spin = static_cast<uint32_t>(v);
  }

  // 1. Synchronous check.
  if (LoadWord(word) != expected) return SettledPromise(env, "not-equal");
  if (timeout_ms == 0) return SettledPromise(env, "timed-out");

  // 2. Spin.
  for (uint32_t i = 0; i < spin; i++) {
    CpuRelax();
    if (LoadWord(word) != expected) {
      if (adaptive) d->spin_limit = std::min<uint32_t>(kSpinMax, d->spin_limit * 2);
      return SettledPromise(env, "ok");
    }
  }
  if (adaptive) d->spin_limit = std::max<uint32_t>(kSpinMin, d->spin_limit / 2);

  // 3. Off-thread wait.
  WaitJob* j = new WaitJob();
  j->addr = word;
  j->expected = expected;
  if (std::isfinite(timeout_ms) && timeout_ms < 1e15) {  // ~31,000 years: treat more as infinite
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = std::floor(timeout_ms / 1000.0);
    long long nsec = static_cast<long long>((timeout_ms - secs * 1000.0) * 1e6) + now.tv_nsec;
    j->deadline.tv_sec = now.tv_sec + static_cast<time_t>(secs) + static_cast<time_t>(nsec / 1000000000LL);
    j->deadline.tv_nsec = static_cast<long>(nsec % 1000000000LL);
    j->infinite = false;
  }
  napi_value promise = nullptr;
  napi_status s = napi_create_promise(env, &j->deferred, &promise);
  if (s == napi_ok) s = napi_create_reference(env, info[0], 1, &j->keep);
  if (s != napi_ok) {
    if (j->deferred != nullptr) {
      napi_value undef = nullptr;
      napi_get_undefined(env, &undef);
      napi_resolve_deferred(env, j->deferred, undef);
    }
    delete j;
    return ThrowNapiFailure(env, "futexWaitAsync setup", s);
  }
  j->pin = PinMappingContaining(word, 4);
  WaitPool* p = nullptr;
  if (d->closed) {
    ThrowError(env, ErrorKind::kError, kErrInternal, "futexWaitAsync: the environment is shutting down");
  } else {
    p = GetPool(env, d);
  }
  int err = p == nullptr ? -1 : Submit(env, p, j);
  if (err != 0) {
    napi_value reason = nullptr;
    if (err > 0) reason = MakeErrnoError(env, "futexWaitAsync", "pthread_create", err);
    if (reason == nullptr) {
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_get_and_clear_last_exception(env, &reason);
      }
    }
    if (reason == nullptr) napi_get_undefined(env, &reason);
    napi_reject_deferred(env, j->deferred, reason);
    napi_delete_reference(env, j->keep);
    UnpinMapping(j->pin);
    delete j;
  }
  return Napi::Value(env, promise);
}

}  // namespace

bool InitFutex(Napi::Env env, Napi::Object exports) {
  AddonData* d = new AddonData();
  napi_status s = napi_set_instance_data(env, d, FinalizeAddonData, nullptr);
  if (s != napi_ok) {
    delete d;
    ThrowNapiFailure(env, "napi_set_instance_data", s);
    return false;
  }
  return Export(env, exports, "futexWake", FutexWake) && Export(env, exports, "futexWaitAsync", FutexWaitAsync) &&
         Export(env, exports, "futexSpin", FutexSpin) && Export(env, exports, "futexWaitSync", FutexWaitSync);
}

}  // namespace quiver

#endif  // __linux__
