'use strict';
// `heapsnap upload FILE... s3://bucket/prefix/ [--delete-local] [--path-style] [--json]`: files
// written earlier (a dump whose upload failed, one from before uploads were set up) sent like a
// dump's own upload: same client and thread, same object names (`<prefix><hostname>/<file
// name>`), each snapshot with its memory record when it has one. Prints each object's URL;
// progress on a terminal; exit code 2 when any file failed (one line each, naming the code).

const fs = require('node:fs');
const { UsageError, parseOrUsage } = require('./args');
const { parseTarget } = require('../upload/target');
const { resolveSdk } = require('../upload/sdk');
const { uploadPair, removeLocal } = require('../upload/after-dump');
const { formatBytes } = require('../format');

function parse(argv) {
  const { values, positionals } = parseOrUsage(argv, {
    'delete-local': { type: 'boolean', default: false },
    'path-style': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length < 2) throw new UsageError('upload takes one or more files and then an s3://bucket/prefix/ URL');
  const url = positionals[positionals.length - 1];
  let target;
  try {
    target = parseTarget(url, 'heapsnap upload');
  } catch (err) {
    throw new UsageError(err.message.replace("option 'upload'", 'the last argument'));
  }
  return { files: positionals.slice(0, -1), target, keepLocal: !values['delete-local'], pathStyle: values['path-style'], json: values.json };
}

async function upload(argv, out) {
  const options = parse(argv);
  resolveSdk();
  const tty = process.stderr.isTTY;
  const results = [];
  let failed = 0;
  for (const file of options.files) {
    const onProgress = tty ? ({ loaded, total }) => process.stderr.write(`\r\x1b[Kuploading ${file}: ${Math.floor((100 * loaded) / total)}% (${formatBytes(loaded)} of ${formatBytes(total)})`) : undefined;
    try {
      if (!fs.statSync(file).isFile()) throw Object.assign(new Error(`${file} is not a file`), { code: 'EISDIR' });
      const result = await uploadPair(file, `${file}.memory.json`, options, { resume: true, onProgress });
      if (!options.keepLocal) removeLocal(file, `${file}.memory.json`);
      if (tty) process.stderr.write('\r\x1b[K');
      results.push({ file, ...result });
      if (!options.json) out(result.url);
    } catch (err) {
      failed++;
      if (tty) process.stderr.write('\r\x1b[K');
      const message = String(err.message).replace(/^heapsnap: (upload failed: )?/, '');
      process.stderr.write(`heapsnap: ${err.code || 'ERR_HEAPSNAP_UPLOAD_FAILED'}: ${file}: ${message}\n`);
      results.push({ file, error: { code: err.code, message } });
    }
  }
  if (options.json) out(JSON.stringify(results, null, 2));
  return failed > 0 ? 2 : 0;
}

module.exports = { upload };
