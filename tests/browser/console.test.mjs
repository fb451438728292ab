// The web console in headless chromium against a real node: it loads cleanly, shows orders live,
// runs commands and shows the server's refusals, draws its charts, and asks for an API key when
// the node requires one. Screenshots of each view go to --out.
//   node console.test.mjs --build <build dir> --work <console npm project> --out <folder>
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createOrder, expect, findChromium, loadPlaywright, runTests, startNode, stopAll } from './harness.mjs';

const { values: args } = parseArgs({
  options: { build: { type: 'string' }, work: { type: 'string' }, out: { type: 'string' } },
});
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const TIMEOUT = 5000;

mkdirSync(args.out, { recursive: true });
const shots = [];
async function shoot(page, name) {
  const path = join(args.out, `${name}.png`);
  await page.screenshot({ path });
  shots.push(path);
}

/** A page that records its console errors and uncaught exceptions. */
async function openPage(browser, node, viewport = WIDE) {
  const context = await browser.newContext({ viewport, baseURL: node.base });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.errors = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // Works offline: nothing may be fetched from anywhere but the node (no CDN, no web fonts).
  page.external = [];
  page.on('request', (r) => !r.url().startsWith(node.base) && page.external.push(r.url()));
  return page;
}

const row = (page, orderNumber) => page.locator('tbody tr', { hasText: orderNumber });
const detail = (page) => page.getByTestId('order-detail');

async function seed(node) {
  const a = await createOrder(node, 'Ada Lovelace', [{ productName: 'Analytical engine', quantity: 1, price: 1999.99 }]);
  const b = await createOrder(node, 'Grace Hopper', [
    { productName: 'Compiler', quantity: 2, price: 349.5 },
    { productName: 'Nanosecond wire', quantity: 12, price: 0.3 },
  ]);
  const c = await createOrder(node, 'Alan Turing', [{ productName: 'Bombe', quantity: 1, price: 750 }]);
  await createOrder(node, 'Ada Lovelace', [{ productName: 'Punched cards', quantity: 500, price: 0.05 }]);
  for (const id of [a.orderId, b.orderId]) await node.api(`/api/orders/${id}/process`, { method: 'POST' });
  await node.api(`/api/orders/${a.orderId}/complete`, { method: 'POST' });
  await node.api(`/api/orders/${c.orderId}/cancel?reason=${encodeURIComponent('Out of stock')}`, { method: 'POST' });
}

function withoutKeysTests(browser, node) {
  let page;
  let fresh;
  return [
    [
      'the console loads at / with no console errors, labelled controls and a live stream',
      async () => {
        await seed(node);
        page = await openPage(browser, node);
        await page.goto('/');
        await page.getByRole('heading', { name: 'Orders' }).waitFor();
        await row(page, 'Grace Hopper').first().waitFor();
        await page.getByTestId('stream-state').filter({ hasText: 'Live' }).waitFor();
        const unlabelled = await page.evaluate(() =>
          [...document.querySelectorAll('input, select')].filter((el) => el.labels.length === 0).map((el) => el.id),
        );
        expect(unlabelled.length === 0, `controls without a label: ${unlabelled}`);
        expect(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
        expect(page.external.length === 0, `requests beyond the node: ${page.external.join(' ')}`);
      },
    ],
    [
      'an order created through the API appears in the table within 2 s without a reload',
      async () => {
        fresh = await createOrder(node, 'Katherine Johnson', [{ productName: 'Trajectory', quantity: 3, price: 120 }]);
        await row(page, fresh.orderNumber).waitFor({ timeout: 2000 });
        expect((await row(page, fresh.orderNumber).textContent()).includes('Pending'), 'the new order is not Pending');
      },
    ],
    [
      'process and complete from the page change the order, and its timeline grows',
      async () => {
        await row(page, fresh.orderNumber).getByRole('link').click();
        await detail(page).getByRole('heading', { name: fresh.orderNumber }).waitFor();
        await detail(page).getByRole('button', { name: 'Process' }).click();
        await detail(page).getByRole('button', { name: 'Complete' }).waitFor();
        expect((await node.api(`/api/orders/${fresh.orderId}`)).body.status === 'Processing', 'not Processing');
        await detail(page).getByRole('button', { name: 'Complete' }).click();
        await detail(page).getByText('No commands: the order is completed.').waitFor();
        expect((await node.api(`/api/orders/${fresh.orderId}`)).body.status === 'Completed', 'not Completed');
        await detail(page).locator('.timeline li').nth(2).waitFor();
        await row(page, fresh.orderNumber).filter({ hasText: 'Completed' }).waitFor();
        await shoot(page, 'console-orders');
      },
    ],
    [
      'cancel with a reason from the page cancels the order',
      async () => {
        const o = await createOrder(node, 'Hedy Lamarr', [{ productName: 'Frequency hopper', quantity: 1, price: 42 }]);
        await page.goto(`/#/orders/${o.orderId}`);
        await detail(page).getByLabel('Cancel reason').fill('Customer changed their mind');
        await detail(page).getByRole('button', { name: 'Cancel order' }).click();
        await detail(page).getByText('Customer changed their mind').first().waitFor();
        const after = (await node.api(`/api/orders/${o.orderId}`)).body;
        expect(after.status === 'Cancelled' && after.cancelReason === 'Customer changed their mind', JSON.stringify(after));
      },
    ],
    [
      'a command the order no longer allows shows the server problem detail',
      async () => {
        // A page that does not hear the stream still shows the order as Pending.
        const stale = await openPage(browser, node);
        await stale.route('**/api/events/stream*', (r) => r.abort());
        const o = await createOrder(node, 'Edsger Dijkstra', [{ productName: 'Semaphore', quantity: 2, price: 5 }]);
        await stale.goto(`/#/orders/${o.orderId}`);
        await detail(stale).getByRole('button', { name: 'Process' }).waitFor();
        await node.api(`/api/orders/${o.orderId}/cancel?reason=elsewhere`, { method: 'POST' });
        const refusal = await node.api(`/api/orders/${o.orderId}/process`, { method: 'POST' });
        expect(refusal.status === 409 && refusal.body.detail, `expected a 409 problem, got ${JSON.stringify(refusal)}`);
        await detail(stale).getByRole('button', { name: 'Process' }).click();
        const alert = stale.getByTestId('command-message').getByRole('alert');
        await alert.filter({ hasText: refusal.body.detail }).waitFor();
        await detail(stale).getByText('No commands: the order is cancelled.').waitFor();
        await stale.context().close();
      },
    ],
    [
      'the analytics charts draw the figures and follow new orders live',
      async () => {
        await page.getByRole('link', { name: 'Analytics' }).click();
        const figures = (await node.api('/api/analytics')).body;
        const byStatus = ['Pending', 'Processing', 'Completed', 'Cancelled'].map((s) => `${s} ${figures.ordersByStatus[s] || 0}`);
        await page.getByTestId('chart-status-summary').filter({ hasText: byStatus.join(', ') }).waitFor();
        await page.getByTestId('chart-per-minute-summary').filter({ hasText: `${figures.totalOrders} orders created` }).waitFor();
        await page.getByTestId('chart-revenue-summary').filter({ hasText: 'in total' }).waitFor();
        for (const id of ['chart-status', 'chart-revenue', 'chart-per-minute']) {
          const painted = await page.getByTestId(id).locator('canvas').evaluate((c) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
            return n;
          });
          expect(painted > 500, `${id} drew only ${painted} pixels`);
        }
        await createOrder(node, 'Barbara Liskov', [{ productName: 'Substitution', quantity: 1, price: 10 }]);
        const pending = `Pending ${(figures.ordersByStatus.Pending || 0) + 1}`;
        await page.getByTestId('chart-status-summary').filter({ hasText: pending }).waitFor();
        await shoot(page, 'console-analytics');
      },
    ],
    [
      'the cluster view lists this node with its mode and readiness',
      async () => {
        await page.getByRole('link', { name: 'Cluster' }).click();
        await page.getByTestId('nodes').locator('tbody tr', { hasText: 'console-node' }).filter({ hasText: 'standalone' }).waitFor();
        await page.getByTestId('readiness').getByText('Ready', { exact: true }).waitFor();
        await shoot(page, 'console-cluster');
        expect(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
        await page.context().close();
      },
    ],
    [
      "under Content-Security-Policy default-src 'self' the page works the same",
      async () => {
        const strict = await openPage(browser, node);
        await strict.route(`${node.base}/`, async (r) => {
          const res = await r.fetch();
          await r.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': "default-src 'self'" } });
        });
        await strict.goto('/');
        await row(strict, 'Grace Hopper').first().waitFor();
        await strict.getByTestId('stream-state').filter({ hasText: 'Live' }).waitFor();
        await strict.getByRole('link', { name: 'Analytics' }).click();
        await strict.getByTestId('chart-status-summary').filter({ hasText: 'Pending' }).waitFor();
        expect(strict.errors.length === 0, `console errors: ${strict.errors.join(' | ')}`);
        await strict.context().close();
      },
    ],
    [
      'at phone width the page fits the screen and an open order comes first',
      async () => {
        const phone = await openPage(browser, node, PHONE);
        await phone.goto(`/#/orders/${fresh.orderId}`);
        await detail(phone).getByRole('heading', { name: fresh.orderNumber }).waitFor();
        await row(phone, 'Grace Hopper').first().waitFor();
        const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow <= 0, `the page is ${overflow}px wider than the phone`);
        const detailTop = await detail(phone).evaluate((el) => el.getBoundingClientRect().top);
        const listTop = await phone.locator('.list').evaluate((el) => el.getBoundingClientRect().top);
        expect(detailTop < listTop, 'the open order is below the list');
        await shoot(phone, 'console-phone-order');
        await phone.goto('/#/orders');
        await row(phone, 'Grace Hopper').first().waitFor();
        await shoot(phone, 'console-phone-orders');
        await phone.context().close();
      },
    ],
  ];
}

function withKeysTests(browser, node, key) {
  let page;
  return [
    [
      'with API keys the page asks for a key, refuses a wrong one and works with the right one',
      async () => {
        page = await openPage(browser, node);
        await page.goto('/');
        const input = page.getByLabel('API key', { exact: true });
        await input.waitFor();
        await shoot(page, 'console-key-prompt');
        await input.fill('not-the-key');
        await page.getByRole('button', { name: 'Use key' }).click();
        await page.getByRole('alert').filter({ hasText: 'The API key is not valid' }).waitFor();
        await input.fill(key);
        await page.getByRole('button', { name: 'Use key' }).click();
        await page.getByRole('heading', { name: 'Orders' }).waitFor();
        await page.getByTestId('stream-state').filter({ hasText: 'Live' }).waitFor();
        const o = await createOrder(node, 'Margaret Hamilton', [{ productName: 'Guidance code', quantity: 1, price: 64 }]);
        await row(page, o.orderNumber).waitFor({ timeout: 2000 });
        await row(page, o.orderNumber).getByRole('link').click();
        await detail(page).getByRole('button', { name: 'Process' }).click();
        // The page's own command acted with the key it was given.
        await detail(page).locator('.timeline li').nth(1).filter({ hasText: 'by console-test' }).waitFor();
        const unexpected = page.errors.filter((e) => !e.includes('401'));
        expect(unexpected.length === 0, `console errors: ${unexpected.join(' | ')}`);
      },
    ],
    [
      'the key is kept for the tab only: a reload needs no prompt, a new tab asks again',
      async () => {
        const stored = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }));
        expect(stored.session === 1 && stored.local === 0, `storage: ${JSON.stringify(stored)}`);
        await page.reload();
        await page.getByRole('heading', { name: 'Orders' }).waitFor();
        await page.context().close();
        const other = await openPage(browser, node);
        await other.goto('/');
        await other.getByLabel('API key', { exact: true }).waitFor();
        await other.context().close();
      },
    ],
  ];
}

async function main() {
  const { chromium } = loadPlaywright(args.work);
  const executablePath = findChromium();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  let failed = 0;
  try {
    let node = await startNode(args.build);
    try {
      failed += await runTests(withoutKeysTests(browser, node));
    } finally {
      await node.stop();
    }
    const key = 'console-browser-test-key';
    node = await startNode(args.build, { apiKey: key });
    try {
      failed += await runTests(withKeysTests(browser, node, key));
    } finally {
      await node.stop();
    }
  } finally {
    await browser.close();
    stopAll();
  }
  for (const s of shots) console.log(`screenshot: ${s}`);
  if (failed) {
    console.log(`${failed} test(s) failed`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`console browser tests: ${(e && e.message) || e}`);
  stopAll();
  process.exit(1);
});
