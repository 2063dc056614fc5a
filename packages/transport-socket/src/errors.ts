/**
 * Node socket, TLS and file-system errors as QuiverErrors. The original error is always the
 * `cause`; callers branch on `code` only.
 */
import { ErrorCode, QuiverError } from '@quiver/core';

/** errno codes meaning "no connection could be made, or the one we had broke". */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED', // nobody listens (TCP port, or a stale Unix socket file)
  'ENOENT', // no socket file
  'ENOTSOCK', // the path is not a socket
  'EACCES', // the socket file's mode does not let us in
  'EPERM',
  'ECONNRESET', // the peer reset (closed with unread data, or died)
  'EPIPE', // writing to a peer that has gone
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'EAGAIN', // a Unix listener's backlog is full
  'ENOTFOUND', // DNS
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/**
 * Certificate verification failures: we did not accept the peer's certificate
 * (see OpenSSL's X509_V_ERR_* names as Node reports them).
 */
function isCertificateRejection(code: string): boolean {
  return (
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    (!code.startsWith('ERR_') && /CERT|_SIGNATURE|INVALID_CA|ISSUER|SELF_SIGNED/.test(code))
  );
}

/** The `code` of a Node error, if it has a string one. */
export function errnoCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Maps an error a socket emitted (or a connect attempt failed with). `what` says what was being
 * done, for the message.
 */
export function socketError(err: unknown, what: string): QuiverError {
  if (err instanceof QuiverError) return err;
  const code = errnoCode(err) ?? '';
  const msg = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (code === 'ABORT_ERR') return new QuiverError(ErrorCode.ABORTED, `${what}: aborted`, { cause: err });
  if (isCertificateRejection(code)) return new QuiverError(ErrorCode.PEER_REJECTED, msg, { cause: err });
  // ERR_SSL_*: a TLS alert from the peer (it rejected our certificate, no shared protocol...) or a
  // malformed record: the connection could not be made or broke.
  if (CONNECTION_ERRNOS.has(code) || code.startsWith('ERR_SSL_')) {
    return new QuiverError(ErrorCode.CONNECTION_FAILED, msg, { cause: err });
  }
  if (code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new QuiverError(ErrorCode.CLOSED, msg, { cause: err });
  }
  if (code === 'EADDRINUSE') return new QuiverError(ErrorCode.ADDRESS_IN_USE, msg, { cause: err });
  return new QuiverError(ErrorCode.IO, msg, { cause: err });
}

/**
 * Maps an error of setting up a listener (bind, listen, the socket file): EADDRINUSE is
 * ERR_QUIVER_ADDRESS_IN_USE, anything else the system refused (a missing directory, no
 * permission, an address not on this host) ERR_QUIVER_IO.
 */
export function listenError(err: unknown, what: string): QuiverError {
  if (err instanceof QuiverError) return err;
  const msg = `${what}: ${(err as Error)?.message ?? String(err)}`;
  if (errnoCode(err) === 'EADDRINUSE') return new QuiverError(ErrorCode.ADDRESS_IN_USE, msg, { cause: err });
  return new QuiverError(ErrorCode.IO, msg, { cause: err });
}

/** ERR_QUIVER_ABORTED for `signal`, with its reason as cause. */
export function abortError(signal: AbortSignal, what: string): QuiverError {
  return new QuiverError(ErrorCode.ABORTED, `${what}: aborted`, { cause: signal.reason });
}
