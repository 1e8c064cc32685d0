// Compiled (not run) by types.test.js: every documented call shape must type-check.
import * as heapsnap from 'heapsnap';
async function main() {
  const ok: boolean = heapsnap.writeSnapshot('/tmp/x.heapsnapshot', { gc: true, compress: 'gzip' }, (err, filename) => { if (err) console.log(err.code); else console.log(filename); });
  const info = await heapsnap.writeSnapshotAsync({ dir: '/tmp', compress: 'zstd', level: 3, redact: true });
  console.log(ok, info.path, info.bytes, info.pauseMs, info.redacted === true);
  heapsnap.installSignalHandler({ signal: 'SIGUSR2', dir: '/tmp', quiet: true, redact: true });
  heapsnap.removeSignalHandler();
  heapsnap.onNearHeapLimit({ dir: '/tmp', maxDumps: 1, redact: true });
  heapsnap.gc();
  const snap = heapsnap.readSnapshot(info.path);
  const s = snap.summary({ top: 5 });
  console.log(s.constructors[0].retainedSize, snap.diff(snap).constructors.length);
  const report = await heapsnap.leakCheck(() => {}, { iterations: 5 });
  console.log(report.ok, report.leaks.map((l) => l.retainerPath.join(' -> ')));
  await heapsnap.assertNoLeaks(async () => {}, { warmup: 1 });
  const r = await heapsnap.writeReport([info.path, info.path], { output: '/tmp/r.html' });
  console.log(r.path);
}
main();
