// What the console's browser tests stand on: a real build/bin/ordersystem in standalone mode in a
// temp folder on a free loopback port, Debian's chromium driven by playwright-core (from the
// console's lockfile, no browser download), and bounded waits. Every process started here is
// stopped again, also when a test fails or the run is interrupted.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const running = new Set();

export function stopAll() {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll();
    process.exit(1);
  });
}
process.on('exit', stopAll);

export function loadPlaywright(workDir) {
  const require = createRequire(resolve(workDir, 'package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${workDir}: build the 'console' target first (${e.message})`);
  }
}

export function findChromium() {
  const chosen = process.env.ORDERSYSTEM_CHROMIUM;
  for (const path of chosen ? [chosen] : ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // try the next one
    }
  }
  throw new Error('chromium not found: run packaging/install-deps.sh --test (or set ORDERSYSTEM_CHROMIUM)');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A standalone node; `apiKey` turns on [http] api_keys_file with that one key. */
export async function startNode(buildDir, { apiKey = '' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ordersystem-console-'));
  const port = await freePort();
  let keys = '';
  if (apiKey) {
    writeFileSync(join(dir, 'keys.txt'), `console-test ${createHash('sha256').update(apiKey).digest('hex')}\n`);
    keys = 'api_keys_file = keys.txt\n';
  }
  writeFileSync(
    join(dir, 'ordersystem.ini'),
    `[node]\nid = console-node\ndata_dir = data\ndurability = normal\n\n` +
      `[http]\nhost = 127.0.0.1\nport = ${port}\n${keys}\n` +
      `[plugins]\nload = orders, transport-inmemory, notifications, analytics\n\n` +
      `[notifications]\nwebhook_url =\n\n[log]\nlevel = warn\n`,
  );
  const log = openSync(join(dir, 'node.log'), 'a');
  const child = spawn(resolve(buildDir, 'bin/ordersystem'), [`--config=${join(dir, 'ordersystem.ini')}`], {
    stdio: ['ignore', log, log],
  });
  running.add(child);
  const base = `http://127.0.0.1:${port}`;
  const node = {
    base,
    dir,
    headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(100);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      running.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async api(path, { method = 'GET', body } = {}) {
      const headers = { ...node.headers };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return node;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await node.stop();
  throw new Error(`ordersystem did not become ready on ${base} (see its log in ${dir}/node.log)`);
}

export async function createOrder(node, customerName, items) {
  const r = await node.api('/api/orders', { method: 'POST', body: { customerName, items } });
  if (r.status !== 201) throw new Error(`creating an order failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Runs named tests in order; a failure is reported and the rest still run. */
export async function runTests(tests) {
  let failed = 0;
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAILED - ${name}\n    ${String((e && e.stack) || e).split('\n').join('\n    ')}`);
    }
  }
  return failed;
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}
