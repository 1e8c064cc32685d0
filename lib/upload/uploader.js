'use strict';
// The JS thread's side of uploads: one upload thread (worker.js) per JS thread that uploads,
// started on the first upload, fed jobs, answering with messages. The thread keeps the process
// alive only while a job is queued or running, so a script that dumps and ends waits for its
// upload, and an idle service's exit is never held up.

const path = require('path');
const { Worker } = require('worker_threads');
const { resolveSdk } = require('./sdk');
const { endpointFromEnv, needsPathStyle, objectUrl } = require('./target');
const { heapsnapError } = require('../errors');

// The upload thread's heap: the SDK and a few parts in flight. A small young generation keeps
// its RSS down (V8 reserves 3 x the semi-space per thread).
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 };

let thread = null;
let nextId = 1;
const jobs = new Map();

function startThread(pathStyle) {
  const sdk = resolveSdk();
  const worker = new Worker(path.join(__dirname, 'worker.js'), {
    workerData: { sdk, pathStyle },
    resourceLimits: RESOURCE_LIMITS,
  });
  worker.on('message', (message) => settle(message));
  worker.on('error', (err) => failAll(worker, err));
  worker.on('exit', (code) => failAll(worker, new Error(`the upload thread stopped (exit code ${code})`)));
  worker.unref();
  return { worker, pathStyle };
}

function settle(message) {
  const job = jobs.get(message.id);
  if (!job) return;
  if (message.type === 'progress') {
    if (job.onProgress) job.onProgress({ loaded: message.loaded, total: message.total });
    return;
  }
  jobs.delete(message.id);
  if (jobs.size === 0 && thread) thread.worker.unref();
  if (message.type === 'done') job.resolve({ ...message.result, url: objectUrl(job.bucket, job.key), bucket: job.bucket, key: job.key });
  else job.reject(heapsnapError(message.error.code, `heapsnap: upload failed: ${message.error.message}`));
}

function failAll(worker, err) {
  if (!thread || thread.worker !== worker) return;
  thread = null;
  for (const [id, job] of jobs) {
    jobs.delete(id);
    job.reject(heapsnapError('ERR_HEAPSNAP_UPLOAD_FAILED', `heapsnap: upload failed: ${err.message}`));
  }
}

/**
 * Uploads `file` to `s3://bucket/key` on the upload thread; resolves to `{ url, bucket, key,
 * bytes, etag, checksumCRC32, versionId, parts, durationMs }` once the store confirmed the
 * object (its size and checksum), rejects with a coded error (ERR_HEAPSNAP_UPLOAD_UNAVAILABLE,
 * ERR_HEAPSNAP_UPLOAD_DENIED, ERR_HEAPSNAP_UPLOAD_FAILED, or the file's OS code).
 * `resume`: the file's earlier upload was cut off; its open multipart uploads are aborted first.
 */
function uploadFile(file, { bucket, key, pathStyle = false, resume = false, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const style = needsPathStyle(endpointFromEnv(), pathStyle);
    if (thread && thread.pathStyle !== style) {
      // Another addressing style for this job: the next thread gets it (rare: one setting per process).
      if (jobs.size === 0) thread.worker.terminate();
      thread = null;
    }
    if (!thread) thread = startThread(style);
    const id = nextId++;
    jobs.set(id, { resolve, reject, onProgress, bucket, key });
    thread.worker.ref();
    const contentType = file.endsWith('.json') ? 'application/json' : file.endsWith('.gz') ? 'application/gzip' : file.endsWith('.zst') ? 'application/zstd' : 'application/json';
    thread.worker.postMessage({ id, file: path.resolve(file), bucket, key, resume, contentType });
  });
}

module.exports = { uploadFile };
