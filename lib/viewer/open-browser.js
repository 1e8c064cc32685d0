'use strict';
// Opens a URL in the desktop's browser, when there is a desktop: `xdg-open` on Linux and the
// BSDs (only with a display: DISPLAY or WAYLAND_DISPLAY), `open` on macOS, `start` on Windows.
//
// Why not the `open` npm package: it is ESM-only from v9 (this package is CommonJS and supports
// Node 18) and brings four dependencies for what is one spawn here; and `heapsnap view` prints
// the URL anyway, so a failure to open only costs a click. The URL (with its token) goes to
// the opener's command line, visible to `ps` for the instant it runs, as with any opener.

const { spawn } = require('node:child_process');

/** The command that opens `url` here, or null when there is no desktop to open it on. */
function opener(url, platform = process.platform, env = process.env) {
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return ['xdg-open', [url]];
}

/** Tries to open `url`; true when an opener was started (whether the browser came is not known). */
function openBrowser(url) {
  const command = opener(url);
  if (!command) return false;
  try {
    const child = spawn(command[0], command[1], { stdio: 'ignore', detached: true, windowsHide: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

module.exports = { openBrowser, opener };
