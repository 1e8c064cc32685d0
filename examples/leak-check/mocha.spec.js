'use strict';
// Leak checks in mocha:  npx mocha --timeout 30000 examples/leak-check/mocha.spec.js

const heapsnap = require('heapsnap');
const { createSessionStore } = require('./session-store');

describe('session store', function () {
  this.timeout(30000);

  it('does not leak sessions', async () => {
    const store = createSessionStore();
    await heapsnap.assertNoLeaks(() => store.close(store.open('carol').id));
  });

  it('reports the leaky variant', async () => {
    const store = createSessionStore({ leaky: true });
    const report = await heapsnap.leakCheck(() => store.close(store.open('dave').id));
    if (report.ok || !report.leaks.some((leak) => leak.name === 'Session')) {
      throw new Error(`expected a Session leak, got ${JSON.stringify(report.leaks)}`);
    }
  });
});
