'use strict';
// The leak-check examples run in each runner they are written for, and give the right verdict.

const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawnSync } = require('child_process');
const { ROOT } = require('./helpers');

function run(args) {
  // NODE_TEST_CONTEXT would make a nested `node --test` report to us instead of printing.
  const { NODE_TEST_CONTEXT, ...env } = process.env;
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 180_000, env: { ...env, HEAPSNAP_OPTIONS: 'nosignal' } });
}

const bin = (pkg, file) => path.join(ROOT, 'node_modules', pkg, 'bin', file);

test('node:test example: the clean store passes, the leaky one is reported', () => {
  const child = run(['--test', '--test-reporter=tap', 'examples/leak-check/node-test.test.js']);
  assert.strictEqual(child.status, 0, child.stdout + child.stderr);
  assert.match(child.stdout, /^ok 1 - creating and closing sessions does not leak/m);
  // The leaky test is a TODO that fails: its failure carries the readable message.
  assert.match(child.stdout, /^not ok 2 - the leaky variant is caught.* # TODO/m);
  assert.match(child.stdout, /heapsnap: \d+ leaking constructor\(s\) after 10 iterations/);
  assert.match(child.stdout, /Session: 10 objects .* held by:/);
});

test('mocha example passes', () => {
  const child = run([bin('mocha', 'mocha.js'), '--timeout', '60000', 'examples/leak-check/mocha.spec.js']);
  assert.strictEqual(child.status, 0, child.stdout + child.stderr);
  assert.match(child.stdout, /2 passing/);
});

test('jest example passes', () => {
  const child = run([bin('jest', 'jest.js'), '--rootDir', ROOT, '--ci', '--runTestsByPath', 'examples/leak-check/jest.test.js']);
  assert.strictEqual(child.status, 0, child.stdout + child.stderr);
  assert.match(child.stderr, /Tests:\s+2 passed, 2 total/);
});
