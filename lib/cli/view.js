'use strict';
// `heapsnap view A [B [C]] [--no-open] [--port N]`: the interactive viewer. Starts the server
// (lib/viewer/server.js: 127.0.0.1, a token in the URL), prints the URL on stdout at once,
// opens the browser when there is a desktop, loads the snapshots in the background (the page
// shows their progress) and serves until Ctrl-C. A snapshot that fails to load stops it with
// the usual one-line error and exit code 2.

const fs = require('node:fs');
const { UsageError, parseOrUsage } = require('./args');
const { heapsnapError } = require('../errors');

function parse(argv) {
  const { values, positionals } = parseOrUsage(argv, {
    'no-open': { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
  });
  if (positionals.length < 1 || positionals.length > 3) throw new UsageError(`view takes 1 to 3 snapshot files, got ${positionals.length}`);
  if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port must be a port number (0 for any free one), got '${values.port}'`);
  return { files: positionals, open: !values['no-open'], port: Number(values.port) };
}

/** Resolves to the exit code once the server has stopped (Ctrl-C, or a load failure: rejects). */
async function view(argv, out) {
  const opts = parse(argv);
  for (const file of opts.files) {
    if (!fs.existsSync(file)) throw heapsnapError('ENOENT', `ENOENT: no such file: ${file}`);
  }
  const { ApiSession } = require('../viewer/api');
  const { startServer } = require('../viewer/server');
  // This process only analyzes: big columns go back to the OS as soon as they are freed.
  require('../loader/native').analyzer().usePrivateMappingsForLargeBlocks();
  const session = new ApiSession(opts.files);
  const viewer = await startServer(session, { port: opts.port });
  out(viewer.url);
  if (process.stderr.isTTY) process.stderr.write(`heapsnap view: serving on 127.0.0.1 only; Ctrl-C stops it\n`);
  if (opts.open) require('../viewer/open-browser').openBrowser(viewer.url);
  const stopped = new Promise((resolve) => process.once('SIGINT', resolve));
  try {
    await Promise.race([session.load(), stopped]);
  } catch (err) {
    await viewer.close();
    throw err;
  }
  if (process.stderr.isTTY && session.status().ready) {
    process.stderr.write(`heapsnap view: loaded in ${(session.status().elapsedMs / 1000).toFixed(1)} s\n`);
  }
  await stopped;
  await viewer.close();
  return 0;
}

module.exports = { view, parse };
