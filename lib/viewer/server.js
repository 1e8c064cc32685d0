'use strict';
// `heapsnap view`'s web server: one page (lib/viewer/page/) and its JSON API (./api.js), on
// 127.0.0.1 only, behind an unguessable token.
//
// Snapshots hold secrets (tokens, keys, user data in strings), so the server answers no one
// but the person who started it:
// - it listens on 127.0.0.1 (loopback), never on another interface;
// - every URL starts with a 128-bit random token (`/<token>/...`): other local users and
//   other local web pages cannot guess it; the page's own requests are relative, so they
//   carry it without cookies or storage;
// - the Host header must name this server (127.0.0.1:<port> or localhost:<port>): a DNS
//   rebinding page (evil.example resolving to 127.0.0.1) sends its own name and is refused;
// - a request with an Origin other than this server's, or that the browser marks
//   cross-site (Sec-Fetch-Site), is refused: no other site can drive or read the API;
// - GET and HEAD only; the page's Content-Security-Policy allows no network but this server,
//   no inline script, no framing; no-referrer so the token never leaves in a Referer.
// Refusals are a bare 403 that says which rule refused, never the data.

const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { heapsnapError } = require('../errors');

const PAGE_DIR = path.join(__dirname, 'page');
const STATIC = {
  '': ['index.html', 'text/html; charset=utf-8'],
  'index.html': ['index.html', 'text/html; charset=utf-8'],
  'viewer.js': ['viewer.js', 'text/javascript; charset=utf-8'],
  'viewer.css': ['viewer.css', 'text/css; charset=utf-8'],
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/** Constant-time comparison of the URL's token with ours. */
function sameToken(given, token) {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * Why a request must be refused (a short reason), or null when it may be served: the Host,
 * Origin and Sec-Fetch-Site rules above, given the port the server listens on.
 */
function refusal(req, port) {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!hosts.includes(req.headers.host)) return 'Host';
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin === `http://${h}`)) return 'Origin';
  if (req.headers['sec-fetch-site'] === 'cross-site') return 'Sec-Fetch-Site';
  if (req.method !== 'GET' && req.method !== 'HEAD') return 'method';
  return null;
}

function send(res, status, type, body) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Starts the server on 127.0.0.1 (`port` 0: a random free one) for `api` (an ApiSession of
 * ./api.js). Resolves to `{ url, port, token, server, close() }`; `url` carries the token.
 */
async function startServer(api, { port = 0 } = {}) {
  const token = crypto.randomBytes(16).toString('hex');
  const files = Object.fromEntries(
    Object.entries(STATIC).map(([route, [file, type]]) => [route, [fs.readFileSync(path.join(PAGE_DIR, file), 'utf8'), type]]),
  );
  const server = http.createServer((req, res) => {
    const listening = server.address().port;
    const why = refusal(req, listening);
    if (why) return send(res, 403, 'text/plain; charset=utf-8', `refused (${why})\n`);
    const url = new URL(req.url, `http://127.0.0.1:${listening}`);
    const [, given = '', ...rest] = url.pathname.split('/');
    if (!sameToken(given, token)) return send(res, 403, 'text/plain; charset=utf-8', 'refused (token)\n');
    if (rest.length === 0) {
      // `/<token>` without its slash: the page's relative requests need the slash.
      res.writeHead(301, { ...SECURITY_HEADERS, Location: `/${token}/` });
      return res.end();
    }
    const route = rest.join('/');
    if (Object.hasOwn(files, route)) return send(res, 200, files[route][1], files[route][0]);
    if (route.startsWith('api/')) {
      return api.handle(route.slice(4), url.searchParams).then(({ status, body }) => send(res, status, 'application/json; charset=utf-8', body));
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  });
  // Keep-alive sockets would hold close() open until the browser lets go.
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', (err) => reject(heapsnapError(err.code || 'ERR_HEAPSNAP_VIEW_LISTEN', `heapsnap view: cannot listen on 127.0.0.1:${port}: ${err.message}`)));
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}/${token}/`,
    port: actual,
    token,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

module.exports = { startServer, refusal };
