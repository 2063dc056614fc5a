// `connectPeer` for the conformance suite's child process: the socket transports through a
// registry, options as JSON (TLS PEM as strings).
import { TransportRegistry, type Connection, type TransportOptions } from '@quiver/core';
import { socketTransports } from '../../src/index.js';

export function connectPeer(url: string, options: TransportOptions | null): Promise<Connection> {
  return new TransportRegistry(socketTransports()).connect(url, options ?? undefined);
}
