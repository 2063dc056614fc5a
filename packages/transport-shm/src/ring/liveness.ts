/**
 * Whether the process that owns a publisher or subscriber slot is still alive. A pid alone is not
 * enough (pids are reused), so each slot also records its process's start time (field 22 of
 * /proc/<pid>/stat, in clock ticks since boot): a live pid with another start time is another
 * process. A zombie (killed, not yet reaped) counts as dead.
 */
import { readFileSync } from 'node:fs';

/** Who owns a slot: pid and start time (0 when unknown; then only the pid is checked). */
export interface ProcessIdentity {
  /** Process id. */
  pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22), or 0. */
  start: number;
}

/** The state letter and start time of `pid`, or null when /proc does not know it. */
function procStat(pid: number): { state: string; start: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  const start = Number(fields[19]);
  return { state: fields[0] ?? '?', start: Number.isFinite(start) ? start : 0 };
}

let self: ProcessIdentity | undefined;

/** This process. */
export function selfIdentity(): ProcessIdentity {
  return (self ??= { pid: process.pid, start: procStat(process.pid)?.start ?? 0 });
}

/** Whether `id` names a live process (signal 0 reaches it, it is no zombie, same start time). */
export function isAlive(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  if (id.pid === process.pid) return id.start === 0 || id.start === selfIdentity().start;
  try {
    process.kill(id.pid, 0);
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(id.pid);
  if (st === null) return process.platform !== 'linux'; // no /proc: trust the signal
  if (st.state === 'Z' || st.state === 'X') return false;
  return id.start === 0 || st.start === 0 || st.start === id.start;
}

/** Start times exceed 32 bits after ~497 days of uptime at 100 Hz: stored as two words. */
export const splitStart = (start: number): [number, number] => [start % 0x1_0000_0000, Math.floor(start / 0x1_0000_0000)];
export const joinStart = (lo: number, hi: number): number => (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0);
