'use strict';
// The S3 client heapsnap uploads with: the AWS SDK v3 (`@aws-sdk/client-s3` and
// `@aws-sdk/lib-storage`'s multipart `Upload`), which works with AWS S3, MinIO, Garage,
// Cloudflare R2 and GCS's S3 interface alike. It is tens of MB and needed by few users, so it is
// no dependency of heapsnap (only an optional peer, which npm does not install): it is found at
// run time, beside heapsnap or in the application, and its absence is a coded error that says
// what to install.

const path = require('path');
const { heapsnapError } = require('../errors');

const INSTALL = 'npm install @aws-sdk/client-s3 @aws-sdk/lib-storage';
// The SDK's own minimum (its engines field); older Nodes fail inside it in ways no user should
// have to read.
const MIN_NODE_MAJOR = 20;
const PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'];

function unavailable(why) {
  return heapsnapError('ERR_HEAPSNAP_UPLOAD_UNAVAILABLE', `heapsnap: uploads ${why}`);
}

/**
 * Absolute paths of the two SDK packages' entry points, resolved from heapsnap's own folder
 * (an npm or pnpm install that has them as heapsnap's peers) and then from the working
 * directory (the application's node_modules). Throws ERR_HEAPSNAP_UPLOAD_UNAVAILABLE on Node
 * older than 20 or when either is missing; the message names the one install line.
 */
function resolveSdk({ nodeVersion = process.versions.node, cwd = process.cwd() } = {}) {
  const major = Number.parseInt(nodeVersion, 10);
  if (major < MIN_NODE_MAJOR) {
    throw unavailable(`need Node.js ${MIN_NODE_MAJOR} or later (the AWS SDK's minimum), not ${nodeVersion}; the dump itself is written as usual`);
  }
  const paths = [path.resolve(__dirname, '..', '..'), cwd];
  const resolved = {};
  for (const name of PACKAGES) {
    try {
      resolved[name] = require.resolve(name, { paths });
    } catch {
      throw unavailable(`need the AWS SDK, which is not installed here (${name} not found from ${paths.join(' or ')}): ${INSTALL}`);
    }
  }
  return { clientS3: resolved['@aws-sdk/client-s3'], libStorage: resolved['@aws-sdk/lib-storage'] };
}

module.exports = { resolveSdk, INSTALL, MIN_NODE_MAJOR };
