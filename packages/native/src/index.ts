/**
 * @quiver/native: the optional Linux addon behind Quiver's zero-copy paths.
 *
 * This module is the one place that declares and documents the C++ surface
 * (`build/Release/quiver_native.node`, built from `src/*.cc` by `scripts/build.mjs` at install).
 * Importing it never throws: when the addon is missing (no compiler at install time, not Linux,
 * or `QUIVER_DISABLE_NATIVE=1`), {@link isNativeAvailable} is `false`, {@link native} is
 * `undefined` and {@link nativeLoadError} says why. Callers pick a pure-JS fallback, or call
 * {@link requireNative} to get an error with code `ERR_QUIVER_NATIVE_UNAVAILABLE`.
 *
 * Errors thrown by the binding carry a `code`:
 * - `ERR_QUIVER_INVALID_ARGUMENT`: a TypeError or RangeError for a bad argument (wrong type,
 *   not an integer, out of range, misaligned futex offset, ...). Bad input never crashes.
 * - `ERR_QUIVER_NATIVE_ERRNO`: a system call failed; see {@link NativeErrnoError}.
 * - `ERR_QUIVER_NATIVE_INTERNAL`: a Node-API call failed (should not happen).
 *
 * This package deliberately does not depend on `@quiver/core` (core loads it optionally).
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import { markAsUntransferable } from 'node:worker_threads';

/** Error code of {@link requireNative} when the addon could not be loaded. */
export const ERR_NATIVE_UNAVAILABLE = 'ERR_QUIVER_NATIVE_UNAVAILABLE';
/** Error code of bad-argument TypeErrors/RangeErrors thrown by the binding. */
export const ERR_INVALID_ARGUMENT = 'ERR_QUIVER_INVALID_ARGUMENT';
/** Error code of failed system calls ({@link NativeErrnoError}). */
export const ERR_NATIVE_ERRNO = 'ERR_QUIVER_NATIVE_ERRNO';
/** Error code of an unexpected Node-API failure inside the binding. */
export const ERR_NATIVE_INTERNAL = 'ERR_QUIVER_NATIVE_INTERNAL';
/** Error code used when the platform is not supported (the addon is Linux-only). */
export const ERR_NATIVE_UNSUPPORTED = 'ERR_QUIVER_NATIVE_UNSUPPORTED';

/** An `Error` with a string `code`, as thrown by this package and by the binding. */
export interface NativeCodedError extends Error {
  /** One of the `ERR_QUIVER_*` codes exported by this module. */
  code: string;
}

/**
 * The error thrown when a system call fails (`code === 'ERR_QUIVER_NATIVE_ERRNO'`).
 *
 * Note: unlike Node's own fs errors (whose `errno` is the negative libuv number and whose `code`
 * is the errno name), `errno` here is the positive Linux errno and the name is in `errnoName`.
 */
export interface NativeErrnoError extends NativeCodedError {
  code: 'ERR_QUIVER_NATIVE_ERRNO';
  /** Positive Linux errno, e.g. `2` for ENOENT. */
  errno: number;
  /** Symbolic errno name, e.g. `'ENOENT'` (absent if the C library does not know it). */
  errnoName?: string;
  /** The failing system call, e.g. `'open'`, `'mmap'`, `'shm_open'`, `'futex'`. */
  syscall: string;
  /** The path or shm name involved, when there is one. */
  path?: string;
}

/** Options of {@link NativeBinding.shmOpen}. All default to `false`. */
export interface ShmOpenFlags {
  /** `O_CREAT`: create the segment if it does not exist. */
  create?: boolean;
  /** `O_EXCL`: fail with EEXIST if it exists (requires `create`). */
  exclusive?: boolean;
  /** `O_RDONLY` instead of `O_RDWR`. */
  readOnly?: boolean;
}

/** Credentials of the peer of a connected Unix domain socket ({@link NativeBinding.getPeerCred}). */
export interface PeerCred {
  /** Process id of the peer when it connected. */
  pid: number;
  /** Effective user id of the peer. */
  uid: number;
  /** Effective group id of the peer. */
  gid: number;
}

/**
 * Result of {@link NativeBinding.futexWaitAsync}:
 * - `'ok'`: woken by a futex wake, or the word changed after the call (seen while spinning or
 *   by the kernel). Spurious wake-ups are possible: always re-check the word.
 * - `'not-equal'`: the word did not hold `expected` when the call was made (decided synchronously,
 *   like `Atomics.waitAsync`).
 * - `'timed-out'`: `timeoutMs` elapsed first.
 */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** Something holding a 32-bit futex word: a buffer, or a view whose start `byteOffset` counts from. */
export type FutexBuffer = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/** Process-wide counters of the mapping registry, for tests and diagnostics. */
export interface NativeDebugCounters {
  /** Non-empty regions mapped by mmapFile/mmapFd since the process started. */
  mapped: number;
  /** Of those, how many have been munmapped (by unmap() or by the GC finalizer), each exactly once. */
  unmapped: number;
  /** Regions currently registered (mapped, and not yet unmap()ed). */
  live: number;
}

/**
 * The C++ surface of `quiver_native.node` (Linux only). Every function validates its arguments
 * (TypeError/RangeError with code `ERR_QUIVER_INVALID_ARGUMENT`) and reports failed system calls
 * as {@link NativeErrnoError}. File descriptors are plain integers; the caller owns them.
 */
export interface NativeBinding {
  /**
   * Maps a whole file read-only (`open(O_RDONLY|O_CLOEXEC)`, `fstat`, `mmap(PROT_READ, MAP_SHARED)`,
   * `close`) and returns an external ArrayBuffer over the mapping: zero copy, pages load lazily.
   * The mapping is released by {@link NativeBinding.unmap} or, failing that, when the buffer is
   * garbage collected. An empty file gives an empty (non-mapped) ArrayBuffer.
   *
   * Caveats: truncating the file while mapped makes reads past the new end raise SIGBUS (fatal);
   * Node 20 caps one ArrayBuffer at 4 GiB (`buffer.constants.MAX_LENGTH`), larger files throw
   * `ERR_BUFFER_TOO_LARGE`. The buffer is marked untransferable (postMessage copies it).
   *
   * @param path File path.
   * @returns An ArrayBuffer of the file's size.
   * @throws {NativeErrnoError} open/fstat/mmap failure, e.g. ENOENT, EACCES, EISDIR.
   */
  mmapFile(path: string): ArrayBuffer;

  /**
   * Maps `length` bytes at offset 0 of `fd` with `MAP_SHARED`, `PROT_READ` (plus `PROT_WRITE` when
   * `writable`): typically a shared-memory segment from {@link NativeBinding.shmOpen}. Writes are
   * visible to every process mapping the same object. The fd may be closed afterwards.
   * `length` 0 gives an empty ArrayBuffer. Released like {@link NativeBinding.mmapFile}.
   *
   * @param fd Open file descriptor (opened read-write if `writable`).
   * @param length Bytes to map; must not exceed the object's size (else RangeError: touching pages
   *   past the end of a file raises SIGBUS).
   * @param writable Map read-write.
   * @throws {NativeErrnoError} fstat/mmap failure (EBADF, EACCES, ...).
   */
  mmapFd(fd: number, length: number, writable: boolean): ArrayBuffer;

  /**
   * Releases a mapping from mmapFile/mmapFd now: detaches the ArrayBuffer (every view of it gets
   * byteLength 0 and can no longer touch the memory), then munmaps. munmap happens exactly once,
   * even when the GC finalizer runs later. If a {@link NativeBinding.futexWaitAsync} is pending on
   * a word inside the mapping, the munmap is deferred until that wait settles.
   * Idempotent: a detached or empty ArrayBuffer is a no-op.
   *
   * @throws TypeError (ERR_QUIVER_INVALID_ARGUMENT) for a non-empty ArrayBuffer this addon did not map.
   */
  unmap(buffer: ArrayBuffer): void;

  /**
   * `shm_open(name, flags, mode)` with `O_CLOEXEC`; returns the fd. The kernel applies the umask to
   * `mode` when creating: call {@link NativeBinding.fchmod} to force an exact mode.
   *
   * @param name `'/name'`: one path component (no other `/`), at most 255 bytes.
   * @param flags Defaults: open existing, read-write.
   * @param mode Permission bits for a new segment, default `0o600`.
   * @throws {NativeErrnoError} e.g. EEXIST (exclusive), ENOENT (no create), EACCES.
   */
  shmOpen(name: string, flags?: ShmOpenFlags, mode?: number): number;

  /**
   * `shm_unlink(name)`: removes the name; existing mappings and fds stay valid.
   * @throws {NativeErrnoError} e.g. ENOENT.
   */
  shmUnlink(name: string): void;

  /**
   * `ftruncate(fd, size)`: sets the size of a file or shm segment (new bytes read as zero).
   * @throws {NativeErrnoError} e.g. EBADF, EINVAL.
   */
  ftruncate(fd: number, size: number): void;

  /**
   * `posix_fallocate(fd, 0, size)`: reserves the first `size` bytes of a file or shm segment
   * (growing it if needed), so writing through a mapping of it cannot run out of space later.
   * On tmpfs (`/dev/shm`) this is where a full file system shows: ENOSPC, instead of a SIGBUS at
   * the first write to a page there is no room for.
   * @param size 1 or more.
   * @throws {NativeErrnoError} e.g. ENOSPC, EFBIG, EBADF.
   */
  fallocate(fd: number, size: number): void;

  /**
   * `fstat(fd).st_size`.
   * @throws {NativeErrnoError} e.g. EBADF.
   */
  fstatSize(fd: number): number;

  /**
   * `fchmod(fd, mode)`: sets exact permission bits (not affected by the umask).
   * @param mode 0 to 0o7777.
   * @throws {NativeErrnoError} e.g. EBADF, EPERM.
   */
  fchmod(fd: number, mode: number): void;

  /**
   * `close(fd)`. EINTR counts as closed (Linux releases the fd regardless).
   * @throws {NativeErrnoError} e.g. EBADF.
   */
  closeFd(fd: number): void;

  /**
   * `FUTEX_WAKE` (shared, not private: works across processes mapping the same object) on the
   * 32-bit word at `byteOffset`. Store the new value (e.g. `Atomics.store` on an Int32Array over
   * the mapping) before waking.
   *
   * @param buffer ArrayBuffer (e.g. from mmapFd), SharedArrayBuffer, or a view; for a view
   *   `byteOffset` counts from the view's start.
   * @param byteOffset Multiple of 4, with the word inside the buffer (else RangeError,
   *   ERR_QUIVER_INVALID_ARGUMENT).
   * @param count Maximum waiters to wake (0 to 2^31-1, or `Infinity` for all).
   * @returns Number of waiters woken, in all processes.
   */
  futexWake(buffer: FutexBuffer, byteOffset: number, count: number): number;

  /**
   * Spins on the calling thread, re-reading the 32-bit word at `byteOffset` with a CPU pause
   * between reads, until it no longer holds `expected` (returns true) or `maxMicros` microseconds
   * have passed (returns false). Synchronous: it blocks the thread for at most `maxMicros`. For a
   * waiter that spins briefly before announcing it sleeps, so that the waking side makes no system
   * call for a waiter that is only spinning.
   * @param maxMicros 0 to 1,000,000.
   */
  futexSpin(buffer: FutexBuffer, byteOffset: number, expected: number, maxMicros: number): boolean;

  /**
   * Sleeps on the calling thread in the kernel (FUTEX_WAIT on the shared word) while the 32-bit
   * word at `byteOffset` holds `expected`, for at most `maxMicros` microseconds. Returns true when
   * the word no longer holds `expected` (woken by {@link NativeBinding.futexWake}, or it had
   * changed), false when the time ran out. Synchronous: it blocks the thread for at most
   * `maxMicros`, without using the CPU; a wake reaches the thread directly (no waiter thread, no
   * event-loop hop). For a waiter that expects an answer within microseconds; the waking side
   * must call futexWake.
   * @param maxMicros 0 to 1,000,000.
   */
  futexWaitSync(buffer: FutexBuffer, byteOffset: number, expected: number, maxMicros: number): boolean;

  /**
   * Waits until the 32-bit word at `byteOffset` is woken by {@link NativeBinding.futexWake} (from
   * any process), without ever blocking the event loop:
   * 1. If the word is not `expected` now: resolves `'not-equal'`. If `timeoutMs` is 0: `'timed-out'`.
   * 2. Spins on the JS thread for a few hundred iterations (a CPU pause between reads, a few
   *    microseconds at most) and resolves `'ok'` as soon as the word changes, so a fast producer is
   *    seen with microsecond latency. By default the spin is adaptive per thread (32 to 512
   *    iterations: doubles when a spin catches the change, halves when it does not); `spin`
   *    sets a fixed count instead (0 disables spinning).
   * 3. Otherwise a dedicated waiter thread (not the libuv threadpool) blocks in
   *    `FUTEX_WAIT_BITSET` and the promise settles on the JS thread.
   *
   * While pending, the buffer is kept alive, a mapping containing the word is pinned (unmap()
   * detaches it but defers munmap), and the wait keeps the event loop alive like a timer. When the
   * thread's environment is torn down (worker exit/terminate) pending waits are cancelled; their
   * word receives one FUTEX_WAKE, so other waiters on it may see a spurious wake-up.
   * `process.exit()` with waits pending exits normally.
   *
   * @param buffer As for {@link NativeBinding.futexWake}.
   * @param byteOffset As for {@link NativeBinding.futexWake}.
   * @param expected The value the word must hold to sleep; int32 or uint32 (compared bitwise).
   * @param timeoutMs Milliseconds (fractions allowed) >= 0, or `Infinity` to wait forever.
   * @param spin Fixed spin iterations (0 to 1,000,000) instead of the adaptive default.
   * @returns A promise of {@link FutexWaitResult}; rejects with {@link NativeErrnoError} if the
   *   futex call fails (e.g. EFAULT) or no waiter thread can be started.
   */
  futexWaitAsync(
    buffer: FutexBuffer,
    byteOffset: number,
    expected: number,
    timeoutMs: number,
    spin?: number,
  ): Promise<FutexWaitResult>;

  /**
   * `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)`: who is on the other end of a connected Unix domain
   * socket (for allow-lists).
   * @throws {NativeErrnoError} e.g. ENOTSOCK, EBADF.
   */
  getPeerCred(fd: number): PeerCred;

  /** `sysconf(_SC_PAGESIZE)`, e.g. 4096. */
  pageSize(): number;

  /** Counters of the mapping registry (tests use them to prove munmap happens exactly once). */
  debugCounters(): NativeDebugCounters;

  /**
   * Maps a whole file read-only as a **SharedArrayBuffer** (module quiver_map, see
   * src/shared_map.cc). Unlike {@link NativeBinding.mmapFile}, V8 does not count the mapping as
   * memory of the isolate (`process.memoryUsage().external`): nothing was allocated, the pages
   * belong to the page cache. There is no explicit unmap: the mapping is released when the last
   * view of it is collected, so views handed out can never dangle.
   * @throws {NativeErrnoError} e.g. ENOENT, EACCES; EINVAL for a non-regular file.
   */
  mapFileShared(path: string): SharedArrayBuffer;

  /**
   * Maps `length` bytes of `fd` (a shm segment or file) as a SharedArrayBuffer, writable or not,
   * released when collected. Refuses a length beyond the object's size (touching those pages
   * would raise SIGBUS).
   */
  mapFdShared(fd: number, length: number, writable: boolean): SharedArrayBuffer;
}

function codedError(code: string, message: string, cause?: unknown): NativeCodedError {
  const err = new Error(message, cause === undefined ? undefined : { cause }) as NativeCodedError;
  err.code = code;
  return err;
}

function load(): { binding?: NativeBinding; error?: Error } {
  if (process.env.QUIVER_DISABLE_NATIVE === '1') {
    return {
      error: codedError(ERR_NATIVE_UNAVAILABLE, 'disabled by QUIVER_DISABLE_NATIVE=1'),
    };
  }
  if (process.platform !== 'linux') {
    return {
      error: codedError(ERR_NATIVE_UNSUPPORTED, `the addon supports Linux only (this is ${process.platform})`),
    };
  }
  try {
    // Relative to dist/src/index.js: packages/native/build/Release/quiver_native.node.
    const raw = createRequire(import.meta.url)('../../build/Release/quiver_native.node') as NativeBinding;
    // Mapped buffers must not be transferred to another thread: their mapping belongs to this one.
    const untransferable = (ab: ArrayBuffer): ArrayBuffer => {
      if (ab.byteLength > 0) markAsUntransferable(ab);
      return ab;
    };
    // The SharedArrayBuffer mappings live in a second, V8-API module built beside this one.
    const shared = createRequire(import.meta.url)('../../build/Release/quiver_map.node') as Pick<NativeBinding, 'mapFileShared' | 'mapFdShared'>;
    const binding: NativeBinding = Object.freeze({
      ...raw,
      mapFileShared: shared.mapFileShared,
      mapFdShared: shared.mapFdShared,
      mmapFile: (path: string) => untransferable(raw.mmapFile(path)),
      mmapFd: (fd: number, length: number, writable: boolean) => untransferable(raw.mmapFd(fd, length, writable)),
    });
    return { binding };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { error: codedError(ERR_NATIVE_UNAVAILABLE, `quiver_native.node failed to load: ${message}`, cause) };
  }
}

const loaded = load();

/**
 * The binding, or `undefined` when the addon is not available (see {@link nativeLoadError}).
 * Mapped ArrayBuffers it returns are marked untransferable.
 */
export const native: NativeBinding | undefined = loaded.binding;

/** `true` when the addon loaded; `false` when disabled, unsupported, not built, or broken. */
export const isNativeAvailable: boolean = loaded.binding !== undefined;

/**
 * Why the addon is unavailable (`undefined` when it loaded). Its `code` is
 * `ERR_QUIVER_NATIVE_UNAVAILABLE` (not built, failed to load, or `QUIVER_DISABLE_NATIVE=1`) or
 * `ERR_QUIVER_NATIVE_UNSUPPORTED` (not Linux); a load failure is attached as `cause`.
 */
export const nativeLoadError: NativeCodedError | undefined = loaded.error as NativeCodedError | undefined;

/**
 * Returns the binding, or throws an Error with code `ERR_QUIVER_NATIVE_UNAVAILABLE` whose `cause`
 * is {@link nativeLoadError}.
 */
export function requireNative(): NativeBinding {
  if (native !== undefined) return native;
  throw codedError(
    ERR_NATIVE_UNAVAILABLE,
    `@quiver/native addon is not available: ${nativeLoadError?.message ?? 'unknown reason'}`,
    nativeLoadError,
  );
}
