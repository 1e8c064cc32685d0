// Compiled (not run) by types.test.js: every documented call shape must type-check.
import * as heapsnap from 'heapsnap';
async function main() {
  const ok: boolean = heapsnap.writeSnapshot('/tmp/x.heapsnapshot', { gc: true, compress: 'gzip' }, (err, filename) => { if (err) console.log(err.code); else console.log(filename); });
  const info = await heapsnap.writeSnapshotAsync({ dir: '/tmp', compress: 'zstd', level: 3, redact: true });
  console.log(ok, info.path, info.bytes, info.pauseMs, info.redacted === true);
  heapsnap.installSignalHandler({ signal: 'SIGUSR2', dir: '/tmp', quiet: true, redact: true });
  heapsnap.removeSignalHandler();
  heapsnap.onNearHeapLimit({ dir: '/tmp', maxDumps: 1, redact: true });
  const forced = await heapsnap.writeSnapshotAsync({ force: true, memoryLimit: 2 ** 30 });
  const rss: number | undefined = forced.memory.rss;
  console.log(rss, forced.memory.heapUsed, forced.memory.cgroupLimit, forced.memory.estimatedBytes);
  const free: number | undefined = forced.disk.availableBytes;
  const warnings: string[] = forced.warnings;
  console.log(free, forced.disk.estimatedBytes, warnings.length);
  heapsnap.writeSnapshot({ memoryLimit: 1 }, (err) => { if (err && err.code === 'ERR_HEAPSNAP_NO_HEADROOM') console.log(err.estimatedBytes, err.availableBytes); });
  heapsnap.installSignalHandler({ memoryLimit: 2 ** 30, force: false });
  heapsnap.onNearHeapLimit({ force: true });
  heapsnap.gc();
  const snap = heapsnap.readSnapshot(info.path);
  const s = snap.summary({ top: 5 });
  console.log(s.constructors[0].retainedSize, snap.diff(snap).constructors.length);
  const report = await heapsnap.leakCheck(() => {}, { iterations: 5 });
  console.log(report.ok, report.leaks.map((l) => l.retainerPath.join(' -> ')));
  await heapsnap.assertNoLeaks(async () => {}, { warmup: 1 });
  const r = await heapsnap.writeReport([info.path, info.path], { output: '/tmp/r.html' });
  console.log(r.path);
  heapsnap.startSamplingHeapProfiler({ interval: 64 * 1024, stackDepth: 32, includeCollected: false });
  const prof = await heapsnap.stopSamplingHeapProfiler({ dir: '/tmp', compress: 'gzip' });
  console.log(prof.path, prof.bytes, prof.samples, prof.sampledBytes, prof.durationMs);
  const top = heapsnap.heapProfileTop(prof.path, { top: 10 });
  console.log(top.totalSize, top.sites.map((site) => `${site.functionName} ${site.url}:${site.line ?? '?'}:${site.column ?? '?'} ${site.selfSize} ${site.totalSize}`));
  const grew = heapsnap.heapProfileDiff(prof.path, prof.path);
  console.log(grew.totalDelta, grew.sites.map((site) => site.selfDelta + site.totalDelta));
}
main();
