'use strict';
// Text to bytes for the files heapsnap writes from the process it dumps (snapshot chunks of
// the portable writer, the memory record, the `heapsnap ps` registry, the upload journal).

/**
 * `text` as UTF-8 bytes in a Buffer of its own. Buffer.from() (and fs.writeFileSync() of a
 * string, on Node 18) takes small strings from Node's shared 8 KiB pool: each dump used a bit
 * of it, and when the pool ran out the new one was an ArrayBuffer allocated between two
 * snapshots and alive in the next, which `heapsnap leaks` and leakCheck rightly reported.
 */
function utf8(text) {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'utf8'));
  bytes.write(text, 0, 'utf8');
  return bytes;
}

module.exports = { utf8 };
