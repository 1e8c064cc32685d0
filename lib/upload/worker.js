'use strict';
// The upload thread: the AWS SDK runs here, never on the application's JS thread, which only
// posts a job and later reads one message with the result. Reading the file, hashing its parts
// (CRC32, which the store checks on every part and on the whole object), signing and the HTTP
// requests all happen on this thread's own event loop. One job at a time, streamed from disk in
// parts: memory stays a few parts whatever the file's size.

const fs = require('fs');
const { parentPort, workerData } = require('worker_threads');

// The SDK announces on Node 20 that later versions will need Node 22; heapsnap's users did not
// choose the SDK's version and must not see its notices or warnings. Results go back as
// messages, so nothing this thread prints is passed on. (Not the Worker's `stdout: true`
// option: reading those streams keeps the process alive after the last upload.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
for (const stream of [process.stdout, process.stderr]) stream.write = (chunk, encoding, callback) => {
  const done = typeof encoding === 'function' ? encoding : callback;
  if (done) process.nextTick(done);
  return true;
};

const { S3Client, ListMultipartUploadsCommand, AbortMultipartUploadCommand, HeadObjectCommand } = require(workerData.sdk.clientS3);
const { Upload } = require(workerData.sdk.libStorage);

const MIN_PART = 5 * 1024 * 1024; // S3's smallest part
const MAX_PARTS = 9000; // S3 allows 10 000; the rest is margin
const QUEUE = 2; // parts in flight: memory is about (QUEUE + 1) x part size
const PROGRESS_EVERY_MS = 250;

// Credential and permission failures: retrying cannot help, and the user must fix the settings.
const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError']);

let client;
let secrets = [];

// Each part is a fresh Buffer outside the heap; V8 collects them only once external memory grew
// by tens of MB, which alone would take the upload past its memory target (64 MiB with this
// thread and the SDK). A full GC of this thread's small heap after each part (a few ms, on this
// thread only) frees them as they are sent. heapsnap's native gc() needs no --expose-gc.
let collect = () => {};
try {
  const native = require('../loader/native').writer();
  if (!native.portable) collect = () => native.gc();
} catch {
  // No native writer: memory stays bounded, only higher.
}

/** The client, made once: the standard credential chain, endpoint and region settings. */
async function getClient() {
  if (client) return client;
  const settings = { forcePathStyle: workerData.pathStyle, maxAttempts: 5, retryMode: 'standard', requestChecksumCalculation: 'WHEN_SUPPORTED' };
  client = new S3Client(settings);
  try {
    await client.config.region();
  } catch {
    // No region anywhere (env, profile): S3's default, which S3-compatible stores accept unless
    // they were given another one.
    client = new S3Client({ ...settings, region: 'us-east-1' });
  }
  try {
    const credentials = await client.config.credentials();
    secrets = [credentials.secretAccessKey, credentials.sessionToken, credentials.accessKeyId].filter((s) => typeof s === 'string' && s.length >= 8);
  } catch {
    // Reported by the request that needs them.
  }
  return client;
}

/** Never a credential in a message that goes to a log. */
function scrub(text) {
  let out = String(text);
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

function describeError(err, job) {
  const name = err && (err.name || err.Code);
  const status = err && err.$metadata && err.$metadata.httpStatusCode;
  const detail = scrub(err && err.message ? err.message : String(err)).split('\n')[0];
  if (err && err.path === job.file && err.code) return { code: err.code, message: `cannot read ${job.file}: ${detail}` };
  if (DENIED.has(name) || status === 403) {
    return { code: 'ERR_HEAPSNAP_UPLOAD_DENIED', message: `the store refused the credentials or the permission for s3://${job.bucket}/${job.key}: ${name}: ${detail}` };
  }
  const network = err && (err.code || (err.cause && err.cause.code));
  const where = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || 'the AWS S3 endpoint';
  if (network && /^E[A-Z]+$/.test(network)) {
    return { code: 'ERR_HEAPSNAP_UPLOAD_FAILED', message: `cannot reach the store at ${where}: ${network} (after retries)` };
  }
  return { code: 'ERR_HEAPSNAP_UPLOAD_FAILED', message: `s3://${job.bucket}/${job.key}: ${name || 'Error'}${status ? ` (HTTP ${status})` : ''}: ${detail}` };
}

/**
 * A file whose previous upload was cut off (its process died) may have a multipart upload
 * open on the store, holding parts no object shows: abort those before uploading it again.
 */
async function abortStale(s3, job) {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: job.bucket, Prefix: job.key }));
  for (const upload of listed.Uploads || []) {
    if (upload.Key === job.key) await s3.send(new AbortMultipartUploadCommand({ Bucket: job.bucket, Key: job.key, UploadId: upload.UploadId }));
  }
}

async function run(job) {
  const started = Date.now();
  const s3 = await getClient();
  const { size } = await fs.promises.stat(job.file);
  if (job.resume) await abortStale(s3, job).catch(() => {});
  const partSize = Math.max(MIN_PART, Math.ceil(size / MAX_PARTS));
  const body = fs.createReadStream(job.file, { highWaterMark: 1024 * 1024 });
  const upload = new Upload({
    client: s3,
    params: { Bucket: job.bucket, Key: job.key, Body: body, ContentType: job.contentType, ChecksumAlgorithm: 'CRC32' },
    partSize,
    queueSize: QUEUE,
    leavePartsOnError: false, // a failed multipart upload is aborted: no stray parts
  });
  let last = 0;
  let collected = 0;
  upload.on('httpUploadProgress', ({ loaded }) => {
    if (loaded - collected >= partSize) {
      collected = loaded;
      collect();
    }
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    parentPort.postMessage({ type: 'progress', id: job.id, loaded, total: size });
  });
  let done;
  try {
    done = await upload.done();
  } finally {
    body.destroy();
  }
  // The store checked each part's CRC32 and the whole object's as it completed it; where the
  // credentials may also read, what it holds is checked against the file's size too. Write-only
  // credentials (a common policy for a dumps bucket) are refused that look: no matter.
  let head = {};
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: job.bucket, Key: job.key, ChecksumMode: 'ENABLED' }));
  } catch (err) {
    if (!(err.$metadata && err.$metadata.httpStatusCode === 403)) throw err;
  }
  if (head.ContentLength !== undefined && head.ContentLength !== size) {
    throw Object.assign(new Error(`the store holds ${head.ContentLength} bytes, ${size} were sent`), { name: 'SizeMismatch' });
  }
  return {
    bytes: size,
    etag: (done.ETag || head.ETag || '').replace(/"/g, '') || null,
    checksumCRC32: done.ChecksumCRC32 || head.ChecksumCRC32 || null,
    versionId: done.VersionId || null,
    parts: Math.max(1, Math.ceil(size / partSize)),
    durationMs: Date.now() - started,
  };
}

const queue = [];
let busy = false;

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) {
    const job = queue.shift();
    try {
      parentPort.postMessage({ type: 'done', id: job.id, result: await run(job) });
    } catch (err) {
      parentPort.postMessage({ type: 'failed', id: job.id, error: describeError(err, job) });
    }
  }
  busy = false;
}

parentPort.on('message', (job) => {
  queue.push(job);
  drain();
});
