/**
 * The `tcp:` transport: TCP, optionally wrapped in TLS (`tls` option). Listeners bind the
 * IPv4 loopback unless the URL names another address.
 */
import { createServer as netServer, connect as netConnect, isIP, type Server, type Socket } from 'node:net';
import { createServer as tlsServer, connect as tlsConnect, type ConnectionOptions, type SecureContextOptions } from 'node:tls';
import { badArgument } from '@quiver/core';
import type { Availability, Connection, Listener, Transport, TransportOptions } from '@quiver/core';
import { SocketConnection } from './connection.js';
import { abortError } from './errors.js';
import { SocketListener } from './listener.js';
import { tcpOptions, type TcpOptions, type TlsOptions } from './options.js';
import { whenConnected, whenListening } from './util.js';

/**
 * Host and port of a `tcp:` URL: `tcp://host:port`, IPv6 in brackets (`tcp://[::1]:9000`).
 * `localhost` means 127.0.0.1 (no lookup, no IPv6 surprise). A listener's port may be 0 or
 * left out (the system picks one); a connection needs one. Paths, queries, fragments and
 * credentials are refused.
 */
export function tcpAddress(url: URL, role: 'connect' | 'listen'): { host: string; port: number } {
  if (url.protocol !== 'tcp:') throw badArgument(`not a tcp: URL: ${url.href}`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '' && url.pathname !== '/')) {
    throw badArgument(`a tcp: URL takes a host and port only: ${url.href}`);
  }
  let host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || host === 'localhost') host = '127.0.0.1';
  const port = url.port === '' ? 0 : Number(url.port);
  if (role === 'connect' && port === 0) throw badArgument(`a tcp: URL to connect to needs a port: ${url.href}`);
  return { host, port };
}

/** The PEM fields as node:tls takes them (it accepts any ArrayBufferView where it says Buffer). */
function pem(t: TlsOptions): Pick<SecureContextOptions, 'key' | 'cert' | 'ca'> {
  return { key: t.key, cert: t.cert, ca: t.ca } as Pick<SecureContextOptions, 'key' | 'cert' | 'ca'>;
}

/** `host:port`, with IPv6 addresses in brackets. */
export function hostPort(host: string | undefined, port: number | undefined): string {
  const h = host ?? '?';
  return `${isIP(h) === 6 ? `[${h}]` : h}:${port ?? '?'}`;
}

/**
 * The `tcp:` transport. `defaults` apply to every connect/listen; per-call options override
 * them. See {@link TcpOptions}.
 */
export function tcpTransport(defaults: TcpOptions = {}): Transport {
  tcpOptions(defaults, undefined, 'connect'); // validate now, not at first use

  async function connect(url: URL, opts?: TransportOptions): Promise<Connection> {
    const o = tcpOptions(defaults, opts, 'connect');
    const { host, port } = tcpAddress(url, 'connect');
    const what = `connect to ${hostPort(host, port)}`;
    if (o.signal?.aborted) throw abortError(o.signal, what);
    let socket: Socket;
    if (o.tls) {
      const t = o.tls;
      // allowHalfOpen reaches the TLSSocket (Node passes it on) though @types/node omits it.
      const tlsOpts: ConnectionOptions & { allowHalfOpen: boolean } = {
        host,
        port,
        ...pem(t),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        // SNI and the identity check use the name; Node checks an IP host against the IP SANs.
        servername: t.servername ?? (isIP(host) ? undefined : host),
        allowHalfOpen: true,
      };
      socket = tlsConnect(tlsOpts);
      socket.setNoDelay(o.noDelay);
      await whenConnected(socket, 'secureConnect', o.signal, what);
    } else {
      socket = netConnect({ host, port, allowHalfOpen: true });
      socket.setNoDelay(o.noDelay);
      await whenConnected(socket, 'connect', o.signal, what);
    }
    const peer = hostPort(socket.remoteAddress, socket.remotePort);
    return new SocketConnection(socket, `tcp://${peer}`, { address: peer }, o.highWaterMark);
  }

  async function listen(url: URL, opts?: TransportOptions): Promise<Listener> {
    const o = tcpOptions(defaults, opts, 'listen');
    const address = tcpAddress(url, 'listen');
    const what = `listen on ${hostPort(address.host, address.port)}`;
    if (o.signal?.aborted) throw abortError(o.signal, what);
    let listener: SocketListener | undefined;
    const onSocket = (s: Socket) => (listener ? listener.offer(s) : s.destroy());
    let server: Server;
    if (o.tls) {
      const t = o.tls;
      // 'secureConnection': only sockets that completed the handshake (and, with requestCert and
      // rejectUnauthorized, presented a certificate `ca` vouches for) reach the listener.
      server = tlsServer(
        {
          ...pem(t),
          requestCert: t.requestCert ?? false,
          rejectUnauthorized: t.rejectUnauthorized ?? true,
          allowHalfOpen: true,
        },
        onSocket,
      );
    } else {
      server = netServer({ allowHalfOpen: true }, onSocket);
    }
    await whenListening(server, address, what);
    const bound = server.address();
    const local = typeof bound === 'object' && bound !== null ? hostPort(bound.address, bound.port) : hostPort(address.host, address.port);
    const href = `tcp://${local}`;
    listener = new SocketListener({
      server,
      url: href,
      maxConnections: o.maxConnections,
      maxPending: o.maxPending,
      admit(socket) {
        socket.setNoDelay(o.noDelay);
        return new SocketConnection(socket, href, { address: hostPort(socket.remoteAddress, socket.remotePort) }, o.highWaterMark);
      },
    });
    if (o.signal?.aborted) {
      await listener.close();
      throw abortError(o.signal, what);
    }
    return listener;
  }

  return {
    schemes: ['tcp'],
    availability(): Availability {
      return { available: true };
    },
    connect,
    listen,
  };
}
