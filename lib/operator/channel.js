'use strict';
// The private per-user directory heapsnap's processes and tools meet in: `heapsnap dump`
// leaves its requests there (the target's writer answers them, crates/heapsnap-core's
// write::remote), and each process that loaded heapsnap registers there for `heapsnap ps`
// (registry.js). Mode 0700, owned by that user: nobody else may read or plant anything.

const fs = require('fs');
const { heapsnapError } = require('../errors');

/** The directory of processes running as `uid` (mirrors heapsnap-core's remote::channel_dir). */
function channelDir(uid) {
  return `/tmp/heapsnap-${uid}`;
}

/** Creates (or checks) the private channel directory: ours alone, or we refuse to use it. */
function openChannel(uid) {
  const dir = channelDir(uid);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    if (process.getuid() !== uid) fs.chownSync(dir, uid, -1);
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
    throw heapsnapError(
      'ERR_HEAPSNAP_UNSAFE_CHANNEL',
      `refusing ${dir}: it must be a directory owned by uid ${uid} with mode 0700 (owner ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}); remove it and retry`,
    );
  }
  return dir;
}

module.exports = { channelDir, openChannel };
