/**
 * How failures are reported: one stderr line, `quiver: ERR_QUIVER_…: message`, the code taken
 * from the error (a core QuiverError, or a system error as ERR_QUIVER_IO). Shared by the verbs
 * that keep running after a non-fatal failure (recv dropping a producer) and the final report.
 */

/** The one stderr line for a failure: `ERR_QUIVER_…: message`. */
export function errorLine(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown; name?: unknown } | null;
  const message = String(err?.message ?? e).replace(/\s*\n\s*/g, ' ');
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code?.startsWith('ERR_QUIVER_')) return `${code}: ${message}`;
  // System errors (ENOENT, EACCES, EISDIR, ENOSPC, ...) carry an errno and a syscall.
  if (code && (e as NodeJS.ErrnoException).syscall !== undefined) return `ERR_QUIVER_IO: ${message}`;
  return `ERR_QUIVER_INTERNAL: ${String(err?.name ?? 'Error')}: ${message}`;
}
