/**
 * The coordinator's handles on the bench's peer processes: Node peers (peer.ts, forked, commands
 * over the IPC channel) and pyarrow peers (pyarrow_peer.py, JSON lines over stdin/stdout). Both
 * take a command and give back a `ready` promise (the URL a consumer listens on) and a `done`
 * promise (its result).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Command, Reply } from './protocol.js';

/** Distributes Omit over the union, so each command keeps its own fields. */
export type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

interface Pending {
  ready: (url: string) => void;
  done: (v: unknown) => void;
  fail: (e: Error) => void;
}

export class Peer {
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  #dead: Error | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    private readonly post: (cmd: Command) => void,
  ) {
    child.on('exit', (code, signal) => {
      this.#dead = new Error(`${name} exited (${signal ?? code})`);
      for (const p of this.#pending.values()) p.fail(this.#dead);
      this.#pending.clear();
    });
  }

  /** The peer's process id (to pin it to CPUs). */
  get pid(): number {
    return this.child.pid!;
  }

  /** A Node peer: peer.js forked; `execArgv` e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  static node(name: string, execArgv: string[] = []): Peer {
    const child = fork(fileURLToPath(new URL('./peer.js', import.meta.url)), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const peer = new Peer(name, child, (cmd) => child.send(cmd));
    child.on('message', (r: Reply) => peer.#onReply(r));
    return peer;
  }

  /** A pyarrow peer: `python pyarrow_peer.py`. The script lives in bench/, beside this file's source. */
  static python(name: string, python: string): Peer {
    const script = fileURLToPath(new URL('../../bench/pyarrow_peer.py', import.meta.url));
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const peer = new Peer(name, child, (cmd) => child.stdin!.write(`${JSON.stringify(cmd)}\n`));
    createInterface({ input: child.stdout! }).on('line', (line) => peer.#onReply(JSON.parse(line) as Reply));
    return peer;
  }

  #onReply(r: Reply): void {
    const p = this.#pending.get(r.id);
    if (!p) return;
    if ('ready' in r) return p.ready(r.ready);
    this.#pending.delete(r.id);
    if ('error' in r) p.fail(new Error(`${this.name}: ${r.error}`));
    else p.done(r.done);
  }

  /** Sends a command. `ready` settles when a listening peer listens; `done` when it finished. */
  request<T>(req: Request): { ready: Promise<string>; done: Promise<T> } {
    const id = this.#next++;
    let resolveReady!: (url: string) => void;
    let rejectReady!: (e: Error) => void;
    const ready = new Promise<string>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    let pending!: Pending;
    const done = new Promise<T>((resolve, reject) => {
      pending = {
        ready: resolveReady,
        done: (v) => resolve(v as T),
        fail: (e) => {
          rejectReady(e);
          reject(e);
        },
      };
    });
    // Commands that never listen have no `ready`; keep an unobserved rejection from crashing us.
    ready.catch(() => {});
    if (this.#dead) pending.fail(this.#dead);
    else {
      this.#pending.set(id, pending);
      this.post({ ...req, id } as Command);
    }
    return { ready, done };
  }

  async call<T>(req: Request): Promise<T> {
    return this.request<T>(req).done;
  }

  /** Asks the peer to exit and waits until it has (Node peers write their CPU profile then). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.post({ op: 'exit', id: 0 });
    await exited;
  }
}
