'use strict';
// Where the addon for the running Node lives: one file per platform and Node ABI, because the
// V8 shim inside is only valid for the V8 headers it was compiled against.

const path = require('path');

function addonPath() {
  const abi = process.versions.modules;
  return path.join(__dirname, '..', 'native', `heapsnap.${process.platform}-${process.arch}.abi${abi}.node`);
}

module.exports = { addonPath };
