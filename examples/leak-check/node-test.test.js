'use strict';
// Leak checks in Node's built-in test runner:  node --test examples/leak-check/node-test.test.js
// (add --expose-gc if you like; heapsnap collects garbage without it).

const test = require('node:test');
const heapsnap = require('heapsnap');
const { createSessionStore } = require('./session-store');

test('creating and closing sessions does not leak', async () => {
  const store = createSessionStore();
  await heapsnap.assertNoLeaks(async () => {
    const session = store.open('alice');
    store.close(session.id);
  });
});

test('the leaky variant is caught, with who holds the sessions', { todo: 'this one leaks on purpose' }, async () => {
  const store = createSessionStore({ leaky: true });
  await heapsnap.assertNoLeaks(async () => {
    const session = store.open('bob');
    store.close(session.id);
  });
});
