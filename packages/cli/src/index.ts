/**
 * @quiver/cli: the `quiver` command (inspect, convert, cat; send, recv, pub, sub over any
 * transport of its registry). The pieces other verbs reuse are exported: {@link run} to drive the
 * command in-process, and the progress bar.
 */
export { run, main, errorLine, UsageError, USAGE, NETWORK_VERBS, type CliIo } from './main.js';
export { createRegistry } from './registry.js';
export { ProgressBar, renderProgress, formatBytes, type ProgressOptions, type ProgressState, type ProgressStream } from './progress.js';
export { TextOutput } from './output.js';
export { jsonValue, rowWriter, type RowFormat, type RowWriter, type Column } from './format.js';
export { inspectJson, type InspectJson, type JsonField } from './commands/inspect.js';
export { formatFromExtension, defaultCompression } from './commands/convert.js';
