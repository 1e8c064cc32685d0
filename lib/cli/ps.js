'use strict';
// `heapsnap ps [--json]`: Node processes on this machine (lib/operator/ps.js), `jps` for Node.

const { UsageError, parseOrUsage } = require('./args');
const { formatBytes, table, percent } = require('../format');

function uptime(seconds) {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** `heapsnap ps [--json]`; returns the exit code. */
function ps(argv, out) {
  const { values, positionals } = parseOrUsage(argv, { json: { type: 'boolean', default: false } });
  if (positionals.length !== 0) throw new UsageError(`ps takes no arguments, got ${positionals.join(' ')}`);
  if (process.platform !== 'linux') {
    const { heapsnapError } = require('../errors');
    throw heapsnapError('ERR_HEAPSNAP_UNSUPPORTED', `heapsnap ps needs Linux's /proc (this is ${process.platform})`);
  }
  const processes = require('../operator/ps').listProcesses();
  if (values.json) {
    out(JSON.stringify(processes, null, 2));
    return 0;
  }
  const rows = processes.map((p) => {
    const h = p.heapsnap;
    const sample = h && h.lastSample;
    return [
      String(p.pid),
      String(p.uid),
      p.node || '?',
      uptime(p.uptimeSeconds),
      formatBytes(p.rss),
      h ? h.heapsnap : p.private ? '(private)' : '-',
      sample ? `${formatBytes(sample.heapUsed)} ${percent(sample.heapUsed, sample.heapLimit)}` : '',
      h && h.watch ? h.watch.rules.join(' ') || 'log' : '',
      h && h.lastDump ? h.lastDump.path : '',
      p.command.length > 60 ? `${p.command.slice(0, 57)}...` : p.command,
    ];
  });
  out(
    table(
      [
        { title: 'pid', align: 'right' },
        { title: 'uid', align: 'right' },
        { title: 'node', align: 'left' },
        { title: 'up', align: 'right' },
        { title: 'rss', align: 'right' },
        { title: 'heapsnap', align: 'left' },
        { title: 'heap', align: 'right' },
        { title: 'watch', align: 'left' },
        { title: 'last dump', align: 'left' },
        { title: 'command', align: 'left' },
      ],
      rows,
    ),
  );
  const hidden = processes.filter((p) => p.private).length;
  if (hidden > 0) out(`\n${hidden} process${hidden === 1 ? '' : 'es'} of other users: heapsnap's details of them are private to their user (run as that user or root to see them)`);
  return 0;
}

module.exports = { ps };
