// The child process of the conformance suite's SIGKILL test:
//   node child-peer.js <module file URL> <url> <options JSON>
// Loads `connectPeer` from the module, connects to <url>, sends 64 KiB, prints "ready", and then
// stays connected without reading until it is killed.
import type { Connection } from '@quiver/core';

const [moduleUrl, url, json] = process.argv.slice(2);
if (!moduleUrl || !url || json === undefined) throw new Error('usage: child-peer.js <module URL> <url> <options JSON>');
const m = (await import(moduleUrl)) as { connectPeer(url: string, options: unknown): Promise<Connection> };
const conn = await m.connectPeer(url, JSON.parse(json));
await conn.send([new Uint8Array(64 << 10).fill(0x5a)]);
process.stdout.write('ready\n');
// Keep the process alive even for a transport whose handles do not hold the event loop.
setInterval(() => {}, 1 << 30);
