// The three conformance subjects of this package (unix, tcp, tcp+TLS) and the TLS fixtures.
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from '@quiver/testkit';
import { tcpTransport, unixTransport, unixUrl } from '../../src/index.js';
import type { ConformanceSubject } from '../conformance.js';

/** test/fixtures in the source tree (this file runs from dist/test/helpers). */
export const fixturesDir = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
/** A fixture file as text (PEM). */
export const fixture = (name: string): string => readFileSync(join(fixturesDir, name), 'utf8');

/** The child-peer module (compiled helpers/peer.js) as a file URL. */
const peerModule = new URL('./peer.js', import.meta.url).href;

/** A fresh socket path in a per-test directory. */
export const sockPath = (t: ExecutionContext, name = 'l.sock'): string => join(tmpDir(t), name);

/** A TCP URL nobody listens on: a port the system just handed out and took back. */
export async function deadTcpUrl(): Promise<string> {
  const l = await tcpTransport().listen(new URL('tcp://127.0.0.1:0'));
  const url = l.url;
  await l.close();
  return url;
}

export const unixSubject: ConformanceSubject = {
  name: 'unix',
  transport: unixTransport(),
  listenUrl: (t) => unixUrl(sockPath(t)),
  deadUrl: (t) => unixUrl(sockPath(t, 'nobody.sock')),
  childPeer: { module: peerModule },
};

export const tcpSubject: ConformanceSubject = {
  name: 'tcp',
  transport: tcpTransport(),
  listenUrl: () => 'tcp://127.0.0.1:0',
  deadUrl: deadTcpUrl,
  childPeer: { module: peerModule },
};

/** Mutual TLS: the server demands a client certificate from the test CA. */
export const serverTls = { key: fixture('server.key'), cert: fixture('server.pem'), ca: fixture('ca.pem'), requestCert: true };
export const clientTls = { key: fixture('client.key'), cert: fixture('client.pem'), ca: fixture('ca.pem') };

export const tlsSubject: ConformanceSubject = {
  name: 'tcp+tls',
  transport: tcpTransport(),
  listenUrl: () => 'tcp://127.0.0.1:0',
  deadUrl: deadTcpUrl,
  listenOptions: { tls: serverTls },
  connectOptions: { tls: clientTls },
  childPeer: { module: peerModule, options: { tls: clientTls } },
};
