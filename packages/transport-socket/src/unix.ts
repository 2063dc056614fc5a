/**
 * The `unix:` transport: Unix domain stream sockets.
 *
 * Creating the socket file (see README "Security"): the server binds inside a fresh private
 * directory (mkdtemp: mode 0700) next to the target, the file gets its final mode there, and is
 * then hard-linked to the target name. link() fails with EEXIST instead of replacing an existing
 * file, so a listener that appeared meanwhile is never stolen, and nobody can connect before the
 * mode is right: no umask games (process.umask is process-wide), no window. Where that cannot
 * work (the private path would exceed the 107-byte sun_path limit, or the file system has no
 * hard links) it falls back to bind-then-chmod, whose window the README documents.
 */
import { chmodSync, linkSync, lstatSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { badArgument, ErrorCode, QuiverError } from '@quiver/core';
import type { Availability, Connection, Listener, Transport, TransportOptions } from '@quiver/core';
import { SocketConnection } from './connection.js';
import { abortError, errnoCode, listenError } from './errors.js';
import { SocketListener } from './listener.js';
import { unixOptions, type UnixOptions } from './options.js';
import { loadNative, nativeUnavailableReason, peerCred, whenConnected, whenListening } from './util.js';

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_UNIX_PATH_BYTES = 107;

/**
 * The socket path a `unix:` URL names: `unix:///abs/path.sock` (or `unix:/abs/path.sock`), or
 * `unix:relative/path.sock`, resolved against the working directory at the time of the call.
 * Percent-escapes are decoded. A host other than `localhost`, a query or a fragment is refused.
 */
export function unixPath(url: URL): string {
  if (url.protocol !== 'unix:') throw badArgument(`not a unix: URL: ${url.href}`);
  if (url.host !== '' && url.host !== 'localhost') {
    throw badArgument(`a unix: URL names a local path, not a host ('${url.host}'): write unix:///abs/path.sock`);
  }
  if (url.username || url.password || url.search || url.hash) throw badArgument(`a unix: URL takes a path only: ${url.href}`);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw badArgument(`bad percent-escape in ${url.href}`);
  }
  if (path === '' || path.endsWith('/')) throw badArgument(`a unix: URL needs a socket file path: ${url.href}`);
  if (path.includes('\0')) throw badArgument('a socket path cannot contain NUL (abstract sockets are not supported)');
  const abs = isAbsolute(path) ? path : resolve(path);
  if (Buffer.byteLength(abs) > MAX_UNIX_PATH_BYTES) {
    throw badArgument(`socket path is ${Buffer.byteLength(abs)} bytes, the limit is ${MAX_UNIX_PATH_BYTES}: ${abs}`);
  }
  return abs;
}

/** The canonical URL of a socket path: `unix:///abs/path.sock`, percent-encoded. */
export function unixUrl(path: string): string {
  return `unix://${pathToFileURL(path).pathname}`;
}

/** Connects to `path` once to see whether a listener answers. Resolves 'live' or the errno code. */
function probe(path: string): Promise<string> {
  return new Promise((done) => {
    const s = netConnect({ path });
    s.once('connect', () => {
      s.destroy();
      done('live');
    });
    s.once('error', (e) => {
      s.destroy();
      done(errnoCode(e) ?? 'unknown');
    });
  });
}

/**
 * Makes `path` free for a new listener, or throws ERR_QUIVER_ADDRESS_IN_USE. Only a socket file
 * nobody listens on (connect: ECONNREFUSED) is removed, and only if it is still the same file.
 */
async function clearStale(path: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw listenError(e, `cannot inspect ${path}`);
  }
  if (!st.isSocket()) throw new QuiverError(ErrorCode.ADDRESS_IN_USE, `${path} exists and is not a socket; it is left alone`);
  const answer = await probe(path);
  if (answer === 'live') throw new QuiverError(ErrorCode.ADDRESS_IN_USE, `a listener is live at ${path}`);
  if (answer === 'ENOENT') return;
  if (answer !== 'ECONNREFUSED') {
    throw new QuiverError(ErrorCode.ADDRESS_IN_USE, `cannot tell whether ${path} is in use (${answer}); it is left alone`);
  }
  try {
    const now = lstatSync(path);
    if (now.ino === st.ino && now.dev === st.dev) unlinkSync(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw listenError(e, `cannot remove the stale socket ${path}`);
  }
}

interface Bound {
  server: Server;
  ino: number;
  dev: number;
}

/** errno codes of link() meaning "this file system cannot do it" (fall back, not fail). */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS']);

async function bind(path: string, mode: number, onConnection: (s: Socket) => void): Promise<Bound> {
  const make = () => createServer({ allowHalfOpen: true }, onConnection);
  const what = `listen on ${path}`;
  let priv: string;
  try {
    priv = mkdtempSync(join(dirname(path), '.quiver-'));
  } catch (e) {
    throw listenError(e, `${what}: cannot create a private directory in ${dirname(path)}`);
  }
  try {
    const tmp = join(priv, 's');
    if (Buffer.byteLength(tmp) <= MAX_UNIX_PATH_BYTES) {
      const server = make();
      await whenListening(server, { path: tmp }, what);
      let linked = false;
      try {
        chmodSync(tmp, mode);
        linkSync(tmp, path);
        linked = true;
        unlinkSync(tmp);
        const st = lstatSync(path);
        return { server, ino: st.ino, dev: st.dev };
      } catch (e) {
        if (linked) unlinkSync(path);
        server.close();
        const code = errnoCode(e);
        if (code === 'EEXIST') throw new QuiverError(ErrorCode.ADDRESS_IN_USE, `${what}: the path was taken meanwhile`, { cause: e });
        if (linked || code === undefined || !NO_LINK.has(code)) throw listenError(e, what);
        // No hard links here: fall through to bind-then-chmod.
      }
    }
  } finally {
    rmSync(priv, { recursive: true, force: true });
  }
  const server = make();
  await whenListening(server, { path }, what);
  try {
    chmodSync(path, mode);
    const st = lstatSync(path);
    return { server, ino: st.ino, dev: st.dev };
  } catch (e) {
    server.close();
    throw listenError(e, what);
  }
}

/** Removes `path` if it is still the socket file we created (same inode). */
function removeIfOurs(path: string, ino: number, dev: number): void {
  try {
    const st = lstatSync(path);
    if (st.ino === ino && st.dev === dev) unlinkSync(path);
  } catch {
    // Gone already (libuv unlinks the name it bound), or not ours to remove.
  }
}

/**
 * The `unix:` transport. `defaults` apply to every connect/listen; per-call options override
 * them. See {@link UnixOptions}.
 */
export function unixTransport(defaults: UnixOptions = {}): Transport {
  unixOptions(defaults, undefined); // validate now, not at first use

  async function connect(url: URL, opts?: TransportOptions): Promise<Connection> {
    const o = unixOptions(defaults, opts);
    const path = unixPath(url);
    if (o.signal?.aborted) throw abortError(o.signal, `connect to ${path}`);
    const native = await loadNative();
    const socket = netConnect({ path, allowHalfOpen: true });
    await whenConnected(socket, 'connect', o.signal, `connect to ${path}`);
    return new SocketConnection(socket, unixUrl(path), { address: path, ...peerCred(native, socket) }, o.highWaterMark);
  }

  async function listen(url: URL, opts?: TransportOptions): Promise<Listener> {
    const o = unixOptions(defaults, opts);
    const path = unixPath(url);
    const native = await loadNative();
    if (o.allowUids && !native) {
      throw new QuiverError(ErrorCode.NATIVE_UNAVAILABLE, `allowUids needs @quiver/native for SO_PEERCRED: ${await nativeUnavailableReason()}`);
    }
    const aborted = () => {
      if (o.signal?.aborted) throw abortError(o.signal, `listen on ${path}`);
    };
    aborted();
    await clearStale(path);
    aborted();
    const href = unixUrl(path);
    const allow = o.allowUids;
    let listener: SocketListener | undefined;
    const { server, ino, dev } = await bind(path, o.mode, (s) => (listener ? listener.offer(s) : s.destroy()));
    listener = new SocketListener({
      server,
      url: href,
      maxConnections: o.maxConnections,
      maxPending: o.maxPending,
      admit(socket) {
        const cred = peerCred(native, socket);
        // Fail closed: unreadable credentials are not on the list.
        if (allow && (cred === undefined || !allow.has(cred.uid))) return undefined;
        return new SocketConnection(socket, href, { address: path, ...cred }, o.highWaterMark);
      },
      cleanup: () => removeIfOurs(path, ino, dev),
    });
    if (o.signal?.aborted) {
      await listener.close();
      aborted();
    }
    return listener;
  }

  return {
    schemes: ['unix'],
    availability(): Availability {
      return process.platform === 'win32'
        ? { available: false, reason: 'Unix domain sockets are not supported on Windows by this transport', code: ErrorCode.UNSUPPORTED }
        : { available: true };
    },
    connect,
    listen,
  };
}
