'use strict';
// Loads the addon built for this Node, or explains how to get one.

const { addonPath } = require('./native-path');
const { heapsnapError } = require('./errors');

function load() {
  const file = addonPath();
  let native;
  try {
    native = require(file);
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND' && err.code !== 'ERR_DLOPEN_FAILED') throw err;
    throw heapsnapError(
      'ERR_HEAPSNAP_NATIVE_MISSING',
      `heapsnap: no native addon for Node ${process.version} (ABI ${process.versions.modules}) at ${file}: ` +
        `run \`npm run build\` in the heapsnap package (needs Rust's cargo). Cause: ${err.message}`,
    );
  }
  const built = native.nativeBuildInfo();
  if (String(built.nodeModuleVersion) !== process.versions.modules) {
    throw heapsnapError(
      'ERR_HEAPSNAP_NATIVE_MISMATCH',
      `heapsnap: ${file} was built for Node ABI ${built.nodeModuleVersion}, this is Node ${process.version} ` +
        `(ABI ${process.versions.modules}): run \`npm run build\` again with this node`,
    );
  }
  return native;
}

module.exports = load();
