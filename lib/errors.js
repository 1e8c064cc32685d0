'use strict';
// Errors with a stable `code`, shaped like Node's own (`err.code`, message naming the problem).

function heapsnapError(code, message, Base = Error) {
  const err = new Base(message);
  err.code = code;
  return err;
}

function invalidOption(message) {
  return heapsnapError('ERR_HEAPSNAP_INVALID_OPTION', message, TypeError);
}

module.exports = { heapsnapError, invalidOption };
