'use strict';
// What an upload costs the process that dumps (issue 22's targets: the JS thread's longest
// pause under 50 ms during the upload of a 200 MB file, peak extra RSS under 64 MiB, helper
// threads or processes included), and its throughput against the AWS SDK alone uploading the
// same file to the same server (a one-node Garage on loopback, scripts/s3-server.js).
//
// Each case runs in a fresh process: heapsnap's (the dump's own upload path, lib/upload/, which
// runs the SDK on an upload thread) and the SDK alone on the main thread (lib-storage's
// `Upload`, the same part size, queue and CRC32 checksums). Measured in the process: the longest
// gap of a 1 ms interval timer and perf_hooks' event-loop delay max (the JS thread's pauses),
// and the kernel's peak RSS (VmHWM, reset right before the upload, so the upload thread, its
// SDK and buffers count) minus VmRSS before.
//
//   node bench/upload.js [--mb 200] [--runs 3]

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');
const s3server = require('../scripts/s3-server');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({ options: { mb: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' } } });

// Shared by both cases: the pause tracker and the memory figures.
const MEASURE = `
const fs = require('fs');
const { monitorEventLoopDelay } = require('perf_hooks');
const status = (key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
function measure(run) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => { const now = performance.now(); gap = Math.max(gap, now - last); last = now; }, 1);
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const rssBefore = status('VmRSS');
  histogram.enable();
  const started = performance.now();
  return run().then(() => {
    const seconds = (performance.now() - started) / 1000;
    clearInterval(timer);
    histogram.disable();
    console.log(JSON.stringify({ seconds, maxGapMs: gap, loopDelayMaxMs: histogram.max / 1e6, extraPeakRss: status('VmHWM') - rssBefore }));
  });
}`;

function heapsnapCase(file, bucket) {
  return `${MEASURE}
const { uploadDump } = require(${JSON.stringify(path.join(ROOT, 'lib', 'upload', 'after-dump'))});
const { parseTarget } = require(${JSON.stringify(path.join(ROOT, 'lib', 'upload', 'target'))});
const settings = { target: parseTarget('s3://${bucket}/bench/'), keepLocal: true, pathStyle: false };
setTimeout(() => measure(() => uploadDump({ path: ${JSON.stringify(file)} }, settings, { report: false }).then((r) => { if (r.error) throw new Error(r.error.message); })), 200);`;
}

function sdkCase(file, bucket) {
  return `${MEASURE}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { S3Client } = require('@aws-sdk/client-s3');
const { Upload } = require('@aws-sdk/lib-storage');
const client = new S3Client({ forcePathStyle: true });
setTimeout(() => measure(() => new Upload({ client, params: { Bucket: '${bucket}', Key: 'bench/sdk-alone', Body: fs.createReadStream(${JSON.stringify(file)}, { highWaterMark: 1 << 20 }), ChecksumAlgorithm: 'CRC32' }, partSize: 5 * 1024 * 1024, queueSize: 2 }).done()), 200);`;
}

function run(code, env) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env, HEAPSNAP_OPTIONS: 'nosignal' }, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`case failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

async function main() {
  const garage = s3server.available();
  if (!garage.ok) throw new Error(garage.reason);
  const server = await s3server.startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-upload-'));
  try {
    const bytes = Number(args.mb) * 1e6;
    const file = path.join(dir, 'big.heapsnapshot');
    const chunk = crypto.randomBytes(1 << 20);
    const fd = fs.openSync(file, 'w', 0o600);
    for (let written = 0; written < bytes; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    fs.closeSync(fd);
    console.log(`Node ${process.version}, ${os.cpus().length} cores, ${args.mb} MB file, Garage ${server.endpoint}, ${args.runs} runs each (alternating)`);
    const results = { heapsnap: [], sdk: [] };
    for (let i = 0; i < Number(args.runs); i++) {
      results.heapsnap.push(run(heapsnapCase(file, server.bucket), server.env));
      results.sdk.push(run(sdkCase(file, server.bucket), server.env));
    }
    console.log('| case | throughput | longest JS pause (timer gap) | event-loop delay max | extra peak RSS |');
    console.log('|---|---|---|---|---|');
    for (const [name, rows] of Object.entries(results)) {
      const label = name === 'heapsnap' ? 'heapsnap upload (upload thread)' : 'AWS SDK alone (main thread)';
      const mbps = rows.map((r) => bytes / 1e6 / r.seconds);
      console.log(`| ${label} | ${median(mbps).toFixed(1)} MB/s (${mbps.map((x) => x.toFixed(0)).join(', ')}) | ${median(rows.map((r) => r.maxGapMs)).toFixed(1)} ms (max ${Math.max(...rows.map((r) => r.maxGapMs)).toFixed(1)}) | ${median(rows.map((r) => r.loopDelayMaxMs)).toFixed(1)} ms | ${mib(median(rows.map((r) => r.extraPeakRss)))} (max ${mib(Math.max(...rows.map((r) => r.extraPeakRss)))}) |`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exitCode = 1;
});
