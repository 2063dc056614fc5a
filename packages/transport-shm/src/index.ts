export * from './ring/index.js';
export { ShmError, ShmErrorCode } from './errors.js';
