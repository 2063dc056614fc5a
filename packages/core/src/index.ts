/**
 * @quiver/core: Arrow IPC for TypeScript. Streams, random-access files, Feather V2 with LZ4 or
 * ZSTD, memory-mapped reading, rows, and message-level conversion, byte-compatible with pyarrow.
 * Transports build on the codec here; core never imports a transport.
 */
export * from './errors.js';
export { DEFAULT_LIMITS, type ReadLimits } from './limits.js';
export type { ArrowType, Field, Schema, DictionaryEncoding, TimeUnit, TypeKind, IntType } from './format/types.js';
export { typeName, fieldTypeName, MetadataVersion } from './format/types.js';
export type { Message, MessageHeader, RecordBatchHeader, FieldNode, BufferRegion, CompressionCodec } from './format/message.js';
export { decodeMessage, encodeMessage } from './format/message.js';
export type { Footer, Block } from './format/footer.js';
export { type Codec, CodecRegistry, lz4Codec, zstdCodec } from './compression/registry.js';
export { readBodyBuffers, writeBodyBuffers, type BodyReadOptions, type BodyWriteOptions, type EncodedBody } from './ipc/body.js';
export { MessageFramer, DIRECT_EAGER_BYTES, DIRECT_RECEIVED_FACTOR, frameMessage, EOS, ARROW_MAGIC, type EncodedMessage, type RawMessage, type FramerOptions } from './ipc/framing.js';
export { BatchDecoder, dictionaryFields, type DecoderOptions } from './ipc/decoder.js';
export { IpcEncoder, RecordBatchEncoder, type EncoderOptions, type IpcForm } from './ipc/encoder.js';
export { StreamReader, readStreams, readMessages, readStreamTable, type StreamReaderOptions } from './ipc/stream-reader.js';
export { FileReader, readFileTable, type FileReaderOptions, type BlockMessage } from './ipc/file-reader.js';
export { writeIpc, writeIpcFile, tableToStream, tableToFile, type WriteOptions, type BatchSource } from './ipc/writer.js';
export { type ByteSource, type RandomAccessSource, chunksOf, memorySource, fileSource } from './io/sources.js';
export { type ByteSink, MemorySink, fileSink, writableSink } from './io/sinks.js';
export { mapFile, openMappedFile, isMmapAvailable, type MappedSource } from './io/mmap.js';
export { writeFeather, readFeather, type FeatherWriteOptions, type FeatherReadOptions, type FeatherCompression } from './feather.js';
export { toRows, toColumns, type RowOptions } from './rows.js';
export { convert, detectForm, type ConvertOptions, type ConvertResult, type OutputFormat } from './convert.js';
export { toArrowSchema, fromArrowSchema, toArrowField, fromArrowField } from './arrow/schema.js';
export { inspect, type InspectResult, type InspectCompression, type InspectOptions } from './inspect.js';
export * from './transport/transport.js';
export * from './messaging/index.js';
