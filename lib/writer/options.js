'use strict';
// Checks the shapes of user options before they cross into Rust, so a wrong type gets a
// clear ERR_HEAPSNAP_INVALID_OPTION rather than a napi type error. What the values mean
// (templates, compression vs file name) is decided natively.

const { threadId } = require('worker_threads');
const { invalidOption } = require('../errors');
const { parseTarget } = require('../upload/target');

const WRITE_OPTIONS = {
  path: 'string',
  dir: 'string',
  gc: 'boolean',
  compress: 'compress',
  level: 'integer',
  exposeInternals: 'boolean',
  numericValues: 'boolean',
  redact: 'boolean',
  force: 'boolean',
  memoryLimit: 'bytes',
  memoryFile: 'boolean',
  // After the dump, to S3-compatible object storage (lib/upload/).
  upload: 'upload',
  keepLocal: 'boolean',
  uploadPathStyle: 'boolean',
};

// writeSnapshotAsync and signal dumps may run in a forked child (src/background.rs).
const BACKGROUND_OPTIONS = {
  background: 'boolean',
  fallback: 'boolean',
  backgroundTimeout: 'ms',
};

const ASYNC_WRITE_OPTIONS = { ...WRITE_OPTIONS, ...BACKGROUND_OPTIONS };

const COMPRESS_VALUES = new Map([
  [false, 'none'],
  ['none', 'none'],
  [true, 'gzip'],
  ['gzip', 'gzip'],
  ['zstd', 'zstd'],
]);

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  return typeof value === 'object' || typeof value === 'function' ? typeof value : `${typeof value} ${String(value)}`;
}

function checkValue(where, key, kind, value) {
  const fail = (expected) => invalidOption(`${where}: option '${key}' must be ${expected}, got ${describe(value)}`);
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' || value === '') throw fail('a non-empty string');
      if (value.includes('\0')) throw fail('a string without NUL bytes');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('a boolean');
      return value;
    case 'integer':
      if (!Number.isSafeInteger(value)) throw fail('an integer');
      return value;
    case 'bytes':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw fail('a positive number of bytes');
      return value;
    case 'seconds':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw fail('a non-negative number of seconds');
      return value;
    case 'ms':
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw fail('a positive number of milliseconds');
      return value;
    case 'count':
      if (!Number.isSafeInteger(value) || value < 0) throw fail('a non-negative integer');
      return value;
    case 'upload':
      parseTarget(value, where);
      return value;
    case 'compress':
      if (!COMPRESS_VALUES.has(value)) throw fail(`one of 'gzip', 'zstd', false`);
      return COMPRESS_VALUES.get(value);
    default:
      throw new Error(`heapsnap: unknown option kind ${kind}`);
  }
}

/**
 * Validates `options` against `schema` and returns a plain object of the known keys.
 * Unknown keys are errors: a misspelt `compres: 'gzip'` must not silently write plain JSON.
 */
function checkOptions(where, options, schema = WRITE_OPTIONS) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw invalidOption(`${where}: options must be an object, got ${describe(options)}`);
  }
  const checked = {};
  for (const [key, value] of Object.entries(options)) {
    const kind = schema[key];
    if (kind === undefined) {
      throw invalidOption(`${where}: unknown option '${key}' (known: ${Object.keys(schema).join(', ')})`);
    }
    if (value !== undefined) checked[key] = checkValue(where, key, kind, value);
  }
  return checked;
}

/** Options as the native side takes them. */
function toNative(checked, extra = {}) {
  return { ...checked, threadId, ...extra };
}

module.exports = { WRITE_OPTIONS, BACKGROUND_OPTIONS, ASYNC_WRITE_OPTIONS, checkOptions, checkValue, toNative };
