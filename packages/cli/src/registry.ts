/**
 * The transports the network verbs (send, recv, pub, sub) can use, chosen by URL scheme. Built in
 * this one place: a new transport package is one more entry in the list.
 */
import { TransportRegistry } from '@quiver/core';
import { socketTransports } from '@quiver/transport-socket';

/** A registry of every transport the CLI ships: `unix:` and `tcp:`. */
export function createRegistry(): TransportRegistry {
  return new TransportRegistry([...socketTransports()]);
}
