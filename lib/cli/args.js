'use strict';
// Argument errors shared by the CLI's commands (bin/heapsnap.js, lib/cli/profile.js): a usage
// error exits 2 with its one line plus a pointer to --help.

const { parseArgs } = require('node:util');

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.code = 'ERR_HEAPSNAP_INVALID_OPTION';
  }
}

/** node:util's parseArgs, its complaints as usage errors. */
function parseOrUsage(argv, options) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (err) {
    throw new UsageError(err.message);
  }
}

module.exports = { UsageError, parseOrUsage };
