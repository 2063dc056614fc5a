/**
 * POSIX shared-memory segments holding a ring: created exclusively with mode 0600 (stale ones of
 * dead publishers replaced), opened by subscribers, unlinked by their publisher on close, and
 * swept by {@link cleanupStaleSegments}. Needs @quiver/native (shm_open, mmap, futex).
 */
import { readdirSync } from 'node:fs';
import { ErrorCode, QuiverError } from '@quiver/core';
import type { NativeErrnoError } from '@quiver/native';
import { codeOf, ShmError, ShmErrorCode } from './errors.js';
import { CONTROL_BYTES, formatRing, H, LAYOUT_VERSION, MAGIC, openRing, randomId, ringSizes, type Policy, type Ring, type RingGeometry } from './ring/layout.js';
import { isAlive, joinStart, selfIdentity } from './ring/liveness.js';
import { requireShmNative } from './native.js';

/** Where Linux keeps POSIX shared memory. */
export const SHM_DIR = '/dev/shm';

/** `shm://name` (or `shm:///name`) → the POSIX name `/name`. */
export function segmentName(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'shm:') throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `not an shm: URL: ${u.href}`);
  const path = u.pathname.replace(/^\//, '');
  if (u.host && path) throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `a segment name has no path: ${u.href}`);
  const name = u.host || path;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === '.' || name === '..') {
    throw new QuiverError(ErrorCode.INVALID_ARGUMENT, `bad segment name '${name}' in ${u.href}: use 1 to 200 of A-Z a-z 0-9 . _ -`);
  }
  return `/${name}`;
}

/** The URL of a segment name. */
export const shmUrl = (name: string): string => `shm://${name.replace(/^\//, '')}`;

const errno = (e: unknown): string | undefined => (codeOf(e) === 'ERR_QUIVER_NATIVE_ERRNO' ? (e as NativeErrnoError).errnoName : undefined);

function ioError(e: unknown, what: string): QuiverError {
  if (e instanceof QuiverError) return e;
  return new QuiverError(ErrorCode.IO, `${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** What an existing segment is, as far as a would-be creator is concerned. */
type Verdict = 'gone' | 'stale' | 'live' | 'creating' | 'foreign' | 'version';

/** Looks at an existing segment's header (read-only) to tell whether its publisher is alive. */
function inspect(name: string): Verdict {
  const native = requireShmNative('shm:');
  let fd: number;
  try {
    fd = native.shmOpen(name, { readOnly: true });
  } catch (e) {
    return errno(e) === 'ENOENT' ? 'gone' : 'foreign';
  }
  try {
    const size = native.fstatSize(fd);
    if (size < CONTROL_BYTES) return 'creating';
    const w = new Int32Array(native.mapFdShared(fd, CONTROL_BYTES, false));
    const magic = w[H.MAGIC]! >>> 0;
    const pid = w[H.PUB_PID]!;
    if (magic !== MAGIC && magic !== 0) return 'foreign';
    if (magic === MAGIC && w[H.VERSION] !== LAYOUT_VERSION) return 'version';
    if (pid === 0) return 'creating'; // the creator records itself before anything else
    return isAlive({ pid, start: joinStart(w[H.PUB_START_LO]!, w[H.PUB_START_HI]!) }) ? 'live' : 'stale';
  } catch {
    return 'foreign';
  } finally {
    native.closeFd(fd);
  }
}

export interface CreateOptions extends RingGeometry {
  policy: Policy;
  /** Permission bits. */
  mode: number;
}

/**
 * Creates the segment exclusively and initialises a ring in it. An existing segment whose
 * publisher is dead is stale: it is unlinked and the segment made anew. A live one is
 * ERR_QUIVER_ADDRESS_IN_USE; one of another layout version ERR_QUIVER_SHM_VERSION.
 */
export function createSegment(name: string, o: CreateOptions): Ring {
  const native = requireShmNative('shm:');
  const sizes = ringSizes(o);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = native.shmOpen(name, { create: true, exclusive: true }, o.mode);
    } catch (e) {
      if (errno(e) !== 'EEXIST' || attempt >= 3) throw ioError(e, `cannot create shm segment ${name}`);
      const verdict = inspect(name);
      if (verdict === 'stale') {
        unlinkQuietly(name);
        continue;
      }
      if (verdict === 'gone') continue;
      if (verdict === 'version') throw new ShmError(ShmErrorCode.VERSION, `shm segment ${name} exists with another layout version`);
      throw new QuiverError(
        ErrorCode.ADDRESS_IN_USE,
        verdict === 'live' ? `shm segment ${name} has a live publisher` : `shm segment ${name} exists (${verdict === 'creating' ? 'being created' : 'not a Quiver ring'})`,
      );
    }
    try {
      native.fchmod(fd, o.mode); // exact bits, whatever the umask
      native.ftruncate(fd, sizes.segmentBytes);
      // Reserve every page now. A sparse segment on a full /dev/shm maps fine and then kills the
      // process with SIGBUS at the first write to a page tmpfs has no room for; reserved, a full
      // /dev/shm is an ENOSPC here (ERR_QUIVER_IO) and the half-made segment is unlinked below.
      native.fallocate(fd, sizes.segmentBytes);
      const buffer = native.mapFdShared(fd, sizes.segmentBytes, true);
      return formatRing(buffer, sizes, selfIdentity(), o.policy, randomId());
    } catch (e) {
      unlinkQuietly(name);
      if (errno(e) === 'ENOSPC') throw ioError(e, `cannot set up shm segment ${name}: ${SHM_DIR} has no room for ${sizes.segmentBytes} bytes`);
      throw ioError(e, `cannot set up shm segment ${name}`);
    } finally {
      native.closeFd(fd);
    }
  }
}

/**
 * Opens an existing segment read-write (a subscriber writes its slot). A missing segment is
 * ERR_QUIVER_CONNECTION_FAILED; see {@link openRing} for the other errors.
 */
export function openSegment(name: string): Ring {
  const native = requireShmNative('shm:');
  let fd: number;
  try {
    fd = native.shmOpen(name, {});
  } catch (e) {
    const n = errno(e);
    if (n === 'ENOENT' || n === 'EACCES' || n === 'EPERM') {
      throw new QuiverError(ErrorCode.CONNECTION_FAILED, `cannot open shm segment ${name}: ${n === 'ENOENT' ? 'no such segment' : 'permission denied'}`, { cause: e });
    }
    throw ioError(e, `cannot open shm segment ${name}`);
  }
  try {
    const size = native.fstatSize(fd);
    if (size < CONTROL_BYTES) throw new ShmError(ShmErrorCode.NOT_READY, `shm segment ${name} is not sized yet (${size} bytes)`);
    return openRing(native.mapFdShared(fd, size, true));
  } catch (e) {
    throw ioError(e, `cannot map shm segment ${name}`);
  } finally {
    native.closeFd(fd);
  }
}

/**
 * Unlinks `name` if it still names the ring `id` (a publisher wrongly taken for dead may have
 * seen its name reused: it must not remove the new segment).
 */
export function unlinkIfOurs(name: string, id: string): void {
  const native = requireShmNative('shm:');
  let fd: number;
  try {
    fd = native.shmOpen(name, { readOnly: true });
  } catch {
    return;
  }
  let ours = false;
  try {
    if (native.fstatSize(fd) >= CONTROL_BYTES) {
      const w = new Uint32Array(native.mapFdShared(fd, CONTROL_BYTES, false));
      ours = Array.from({ length: 4 }, (_, i) => w[H.ID + i]!.toString(16).padStart(8, '0')).join('') === id;
    }
  } finally {
    native.closeFd(fd);
  }
  if (ours) unlinkQuietly(name);
}

export function unlinkQuietly(name: string): void {
  try {
    requireShmNative('shm:').shmUnlink(name);
  } catch {
    // Already gone (or never ours): nothing to do.
  }
}

/**
 * Unlinks the Quiver segments in /dev/shm whose publisher process is dead (left by a crash or a
 * SIGKILL), optionally only those whose name starts with `prefix`. Segments of live publishers,
 * half-created ones and files that are not Quiver rings are left alone. Returns the names
 * removed (`/name`). ERR_QUIVER_NATIVE_UNAVAILABLE without the addon.
 */
export function cleanupStaleSegments(prefix = ''): string[] {
  requireShmNative('cleanupStaleSegments');
  let names: string[];
  try {
    names = readdirSync(SHM_DIR);
  } catch (e) {
    throw ioError(e, `cannot list ${SHM_DIR}`);
  }
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(prefix.replace(/^\//, ''))) continue;
    const name = `/${n}`;
    if (inspect(name) === 'stale') {
      unlinkQuietly(name);
      removed.push(name);
    }
  }
  return removed;
}

export { openRing };
