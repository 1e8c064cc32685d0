'use strict';
// A small client for Node's inspector: its HTTP discovery endpoint (/json/list) and one
// Chrome DevTools Protocol session over a WebSocket (the `ws` package: Node 18 and 20 have no
// global WebSocket). Errors carry `code: 'ERR_HEAPSNAP_INSPECTOR'`; lib/operator/inspector-dump.js says
// which process they are about and whether it died.

const http = require('http');
const WebSocket = require('ws');
const { heapsnapError } = require('../errors');

const PROTOCOL_ERROR = 'ERR_HEAPSNAP_INSPECTOR';
// /json/list is a few hundred bytes; anything much larger is not Node's inspector.
const MAX_LIST_BYTES = 1 << 20;

function urlHost(host) {
  return host.includes(':') ? `[${host}]` : host;
}

/** GET `path` from host:port and parse it as JSON; rejects on any other answer. */
function getJson({ host, port }, path, timeoutMs) {
  return new Promise((resolve, reject) => {
    const fail = (why) => reject(heapsnapError(PROTOCOL_ERROR, `GET http://${urlHost(host)}:${port}${path}: ${why}`));
    const request = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        fail(`HTTP ${response.statusCode}`);
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text) => {
        body += text;
        if (body.length > MAX_LIST_BYTES) request.destroy(new Error('answer too large'));
      });
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          fail('not JSON');
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (err) => fail(err.message));
  });
}

/**
 * The WebSocket URL of the main thread's session at an inspector listening on host:port.
 * Rebuilt on the address we reached: a wildcard-bound inspector names whatever Host we sent.
 */
async function debuggerUrl(address, timeoutMs) {
  const targets = await getJson(address, '/json/list', timeoutMs);
  const target = Array.isArray(targets) ? targets.find((t) => t && typeof t.webSocketDebuggerUrl === 'string') : undefined;
  if (target === undefined) {
    throw heapsnapError(PROTOCOL_ERROR, `http://${urlHost(address.host)}:${address.port}/json/list names no debugging target`);
  }
  const { pathname } = new URL(target.webSocketDebuggerUrl);
  return `ws://${urlHost(address.host)}:${address.port}${pathname}`;
}

/** One DevTools Protocol session: calls with replies, notifications, and one failure for all. */
class InspectorSession {
  /** Opens a session at `url`; rejects after `timeoutMs` without a handshake. */
  static connect(url, timeoutMs) {
    return new Promise((resolve, reject) => {
      // Snapshot chunks are already compact JSON text: compressing them in the target would
      // cost its CPU for nothing on a loopback connection.
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      ws.once('open', () => {
        ws.removeAllListeners('error');
        resolve(new InspectorSession(ws));
      });
      ws.once('error', (err) => reject(heapsnapError(PROTOCOL_ERROR, `WebSocket ${url}: ${err.message}`)));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.failure = null;
    this.closed = new Promise((resolve) => ws.once('close', resolve));
    ws.on('message', (data) => this.receive(data));
    ws.on('error', (err) => this.fail(connectionLost(err.message)));
    ws.on('close', () => this.fail(connectionLost('the connection closed')));
  }

  /** Whether messages can still be sent (even after `fail`, until the socket closes). */
  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends `method` and resolves with its result; rejects on an error reply or a failed session. */
  call(method, params = {}) {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const id = this.write(method, params);
      this.pending.set(id, { method, resolve, reject });
    });
  }

  /**
   * Sends `method` without waiting for a reply, for calls whose reply may never come; resolves
   * once the message is handed to the OS (or could not be), so closing right after loses nothing.
   */
  send(method, params = {}) {
    return new Promise((resolve) => this.write(method, params, () => resolve()));
  }

  write(method, params, onWritten) {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }), onWritten);
    return id;
  }

  /** Calls `handler(params)` for each `method` notification; a throw fails the session. */
  on(method, handler) {
    this.handlers.set(method, handler);
  }

  receive(data) {
    if (this.failure) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      this.fail(heapsnapError(PROTOCOL_ERROR, 'the inspector sent a message that is not JSON'));
      return;
    }
    if (message.id === undefined) {
      this.notify(message);
      return;
    }
    const call = this.pending.get(message.id);
    if (call === undefined) return;
    this.pending.delete(message.id);
    if (message.error) call.reject(heapsnapError(PROTOCOL_ERROR, `${call.method} failed: ${message.error.message}`));
    else call.resolve(message.result);
  }

  notify({ method, params }) {
    const handler = this.handlers.get(method);
    if (handler === undefined) return;
    try {
      handler(params);
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Fails the session with `err`: every pending and later call rejects with it, and later
   * notifications are dropped. The first failure wins. The socket stays open, so that `send`
   * can still ask the target to close its inspector.
   */
  fail(err) {
    if (this.failure) return;
    this.failure = err;
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }

  /** Drops the connection; pending calls reject. */
  close() {
    this.fail(connectionLost('closed by heapsnap'));
    this.ws.terminate();
  }
}

/** The connection ended under us; the caller tells a dead target from a protocol problem. */
function connectionLost(why) {
  const err = heapsnapError(PROTOCOL_ERROR, `lost the inspector connection: ${why}`);
  err.connectionLost = true;
  return err;
}

module.exports = { debuggerUrl, InspectorSession, PROTOCOL_ERROR };
