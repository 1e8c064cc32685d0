'use strict';
// Leak checks in jest (or any runner with global test/expect, e.g. vitest with globals):
//   npx jest examples/leak-check/jest.test.js
// Jest runs tests inside vm contexts; heapsnap snapshots the whole isolate, so objects made
// in the test context are seen, and heapsnap's retainer paths name the test's own variables.

const heapsnap = require('heapsnap');
const { createSessionStore } = require('./session-store');

jest.setTimeout(30000);

test('session store does not leak', async () => {
  const store = createSessionStore();
  await heapsnap.assertNoLeaks(() => store.close(store.open('erin').id));
});

test('the leaky session store is reported', async () => {
  const store = createSessionStore({ leaky: true });
  const report = await heapsnap.leakCheck(() => store.close(store.open('frank').id));
  expect(report.ok).toBe(false);
  expect(report.leaks.map((leak) => leak.name)).toContain('Session');
});
