'use strict';
// Where an upload goes: `s3://bucket/prefix/` as the user wrote it, the object key each dump
// gets (`<prefix><hostname>/<file name>`), and whether requests must be path-style. Pure: no
// SDK, no I/O, so option checks can use it at require() time.

const os = require('os');
const path = require('path');
const { invalidOption } = require('../errors');

// S3's bucket naming rules (3-63 of lowercase letters, digits, dots and hyphens); stores that
// allow more (Garage allows the same) are reached the same way.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const TOKEN = /\{(pid|hostname|date|time|iso)\}/g;

/**
 * `s3://bucket/prefix/` as `{ url, bucket, prefix }`; anything else is an
 * ERR_HEAPSNAP_INVALID_OPTION naming `where`. A prefix that does not end in `/` is kept as it
 * is (`s3://b/dumps-` gives `dumps-<hostname>/...`), as `aws s3 cp` would.
 */
function parseTarget(url, where = 'upload') {
  const fail = (why) => invalidOption(`${where}: option 'upload' must be an s3://bucket/prefix/ URL (${why}), got ${typeof url === 'string' ? `'${url}'` : typeof url}`);
  if (typeof url !== 'string') throw fail('a string');
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!match) throw fail('it starts with s3://');
  const [, bucket, prefix = ''] = match;
  if (!BUCKET.test(bucket)) throw fail(`'${bucket}' is not a bucket name`);
  if (prefix.startsWith('/') || prefix.includes('//') || prefix.includes('\0')) throw fail('the prefix has an empty path segment');
  return { url, bucket, prefix };
}

function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

/**
 * The key of `file` under `target`: `<prefix><hostname>/<file name>`, so the dumps of a whole
 * fleet share one prefix and stay apart by host (a Kubernetes pod's hostname is its name). A
 * prefix with its own tokens (`{hostname}`, `{pid}`, `{date}`, `{time}`, `{iso}`, as in file
 * names) is used as written, without the hostname folder.
 */
function objectKey(target, file, { now = new Date(), pid = process.pid, hostname = os.hostname() } = {}) {
  const name = path.basename(file);
  if (!/\{(pid|hostname|date|time|iso)\}/.test(target.prefix)) return `${target.prefix}${hostname}/${name}`;
  const date = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
  const time = `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const values = { pid: String(pid), hostname, date, time, iso: now.toISOString().replace(/[:.]/g, '-') };
  return target.prefix.replace(TOKEN, (_, token) => values[token]) + name;
}

/** `s3://bucket/key`, how results and messages name an object. */
function objectUrl(bucket, key) {
  return `s3://${bucket}/${key}`;
}

/**
 * The endpoint the SDK will use, from the standard variables (`AWS_ENDPOINT_URL_S3`, then
 * `AWS_ENDPOINT_URL`); `undefined` means AWS itself (or a profile's `endpoint_url`).
 */
function endpointFromEnv(env = process.env) {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Path-style requests (`http://host/bucket/key`) where virtual-host style cannot work: an
 * endpoint given as an IP address or `localhost` has no DNS for `bucket.host` (MinIO, Garage
 * and test servers are reached like that). `forced` (the `uploadPathStyle` option) asks for it
 * anywhere else.
 */
function needsPathStyle(endpoint, forced = false) {
  if (forced) return true;
  if (!endpoint) return false;
  let host;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}

module.exports = { parseTarget, objectKey, objectUrl, endpointFromEnv, needsPathStyle };
