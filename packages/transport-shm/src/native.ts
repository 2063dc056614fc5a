/**
 * The optional @quiver/native addon (POSIX shm, shared mappings, cross-process futexes), loaded
 * once when this module is first imported. Importing never throws: without the package, or with
 * its addon missing or disabled (`QUIVER_DISABLE_NATIVE=1`), {@link native} is undefined and the
 * `shm:` transport reports itself unavailable. The `worker:` transport does not need it.
 */
import { ErrorCode, QuiverError } from '@quiver/core';
import type { NativeBinding } from '@quiver/native';

interface Loaded {
  binding: NativeBinding | undefined;
  reason: string;
}

// A top-level await keeps `availability()` synchronous, as the transport contract wants.
const loaded: Loaded = await import('@quiver/native').then(
  (m): Loaded => ({ binding: m.native, reason: m.nativeLoadError?.message ?? 'unknown reason' }),
  (e: unknown): Loaded => ({ binding: undefined, reason: `@quiver/native is not installed (${(e as Error).message})` }),
);

/** The binding, or undefined when the addon is not available here. */
export const native: NativeBinding | undefined = loaded.binding;

/** Why the addon is unavailable (meaningless when it is available). */
export const nativeUnavailableReason: string = loaded.reason;

/** The binding, or ERR_QUIVER_NATIVE_UNAVAILABLE. */
export function requireShmNative(what: string): NativeBinding {
  if (native) return native;
  throw new QuiverError(ErrorCode.NATIVE_UNAVAILABLE, `${what} needs the @quiver/native addon: ${nativeUnavailableReason}`);
}
