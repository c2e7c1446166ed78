// End to end through the web console: a real `outpost-server` on a fresh store, driven in
// headless Chromium with playwright-core.
//
//   OUTPOST_SERVER_BIN=/path/to/outpost-server npm run test:e2e     (after `npm run build`)
//
// Optional: CHROMIUM_BIN (default /usr/bin/chromium), E2E_SHOTS=<dir> for a screenshot per step.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const uiDist = path.resolve(here, '..', 'dist');
const chromiumBin = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const shotsDir = process.env.E2E_SHOTS ?? '';

const USERNAME = 'e2e.tech';
const PASSWORD = 'correct-horse-42';
const CLIENT_NAME = 'Acme Dental Practice';
const TITLE = 'Reception printer jams on every job';
const OTHER_TITLE = 'VPN drops every hour';
const COMMENT = 'Replaced the fuser unit; the zebrafish test page printed cleanly.';
const SEARCH_WORD = 'zebrafish';
// Client scope: a technician the admin limits to CLIENT_NAME.
const OTHER_CLIENT_NAME = 'Borealis Logistics';
const SCOPED_USERNAME = 'e2e.scoped';
const SCOPED_DISPLAY = 'Scoped Technician';
const SCOPED_PASSWORD = 'battery-staple-77';
const SCOPED_TITLE = 'Dental chair tablet will not enrol';
const HIDDEN_TITLE = 'Warehouse scanners lose Wi-Fi';

const STEP_MS = 15_000;

let server = null;
let serverLog = '';
let dataDir = '';
let browser = null;
let base = '';

function fail(message) {
  throw new Error(message);
}

function serverBinary() {
  const bin = process.env.OUTPOST_SERVER_BIN;
  if (!bin) {
    fail(
      'OUTPOST_SERVER_BIN is not set. Build the server (cargo build -p outpost-server) and run ' +
        'OUTPOST_SERVER_BIN=<target>/debug/outpost-server npm run test:e2e',
    );
  }
  if (!fs.existsSync(bin)) fail(`OUTPOST_SERVER_BIN points at ${bin}, which does not exist; build the server first.`);
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForHealth(url, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      fail(`outpost-server exited with code ${proc.exitCode} before it was healthy.\n${serverLog}`);
    }
    try {
      const res = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e?.cause?.code ?? e?.message ?? e);
    }
    await sleep(100);
  }
  fail(`outpost-server did not answer /api/v1/health within ${timeoutMs} ms (last: ${last}).\n${serverLog}`);
}

async function apiCall(method, route, { token, body } = {}) {
  const res = await fetch(`${base}/api/v1${route}`, {
    method,
    headers: {
      ...(body ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(STEP_MS),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) fail(`${method} ${route} failed: ${res.status} ${text}`);
  return data;
}

/** Polls until the element's text equals (or matches) what is expected. */
async function waitForText(locator, expected, what, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = ((await locator.first().textContent({ timeout: 1000 }).catch(() => '')) ?? '').trim();
    if (expected instanceof RegExp ? expected.test(seen) : seen === expected) return seen;
    await sleep(100);
  }
  fail(`${what}: expected ${expected instanceof RegExp ? expected : JSON.stringify(expected)}, page shows ${JSON.stringify(seen)}`);
}

/** Polls until the locator matches exactly `n` elements. */
async function waitForCount(locator, n, what, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  let count = -1;
  while (Date.now() < deadline) {
    count = await locator.count();
    if (count === n) return;
    await sleep(100);
  }
  fail(`${what}: expected ${n}, page shows ${count}`);
}

before(async () => {
  const bin = serverBinary();
  if (!fs.existsSync(path.join(uiDist, 'index.html'))) {
    fail(`${uiDist}/index.html is missing; run \`npm run build\` in ui/ before the end-to-end test.`);
  }
  if (!fs.existsSync(chromiumBin)) fail(`Chromium not found at ${chromiumBin}; install it (apt-get install chromium) or set CHROMIUM_BIN.`);
  if (shotsDir) fs.mkdirSync(shotsDir, { recursive: true });

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-'));
  const created = spawnSync(
    bin,
    ['admin', 'create-user', '--data-dir', dataDir, '--username', USERNAME, '--role', 'admin',
      '--display-name', 'E2E Technician', '--password-stdin'],
    { input: `${PASSWORD}\n`, encoding: 'utf8', timeout: 60_000 },
  );
  if (created.status !== 0) {
    fail(`admin create-user failed (status ${created.status}, ${created.error ?? ''}):\n${created.stdout}\n${created.stderr}`);
  }

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, OUTPOST_UI_DIR: uiDist, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Last resort if the runner dies between here and the after() hook.
  process.once('exit', () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
  });
  const keep = (chunk) => {
    serverLog = (serverLog + chunk.toString()).slice(-8000);
  };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  await waitForHealth(base, server, 30_000);

  browser = await chromium.launch({
    executablePath: chromiumBin,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    const exited = await Promise.race([
      new Promise((r) => server.once('exit', () => r(true))),
      sleep(5000).then(() => false),
    ]);
    if (!exited) server.kill('SIGKILL');
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('technician works a ticket in the web console', { timeout: 180_000 }, async () => {
  // Data the technician needs: a client (and a second ticket the search must leave out).
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const client = await apiCall('POST', '/clients', { token: session.token, body: { name: CLIENT_NAME } });
  const other = await apiCall('POST', '/tickets', {
    token: session.token,
    body: { title: OTHER_TITLE, client_id: client.id, priority: 'low' },
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const shot = async (name) => {
    if (shotsDir) await page.screenshot({ path: path.join(shotsDir, `${name}.png`) });
  };

  try {
    // Log in.
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(USERNAME);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('queue').waitFor();
    await waitForText(page.getByTestId('current-user'), /E2E Technician/, 'current user in the top bar');
    await waitForCount(page.getByTestId('queue-row'), 1, 'tickets in the queue after login');
    await shot('01-queue');

    // Create a ticket through the UI.
    await page.getByTestId('new-ticket-button').click();
    await page.getByTestId('ticket-title-input').fill(TITLE);
    await page.getByTestId('ticket-client-select').selectOption(client.id);
    await page.getByTestId('ticket-create-submit').click();
    await page.getByTestId('new-ticket-dialog').waitFor({ state: 'detached' });
    await waitForText(page.getByTestId('detail-title'), TITLE, 'title of the new ticket');
    const numberText = await waitForText(page.getByTestId('detail-number'), /^#\d+$/, 'number of the new ticket');
    const number = Number(numberText.slice(1));
    assert.notEqual(number, other.number, 'the new ticket has its own number');
    await waitForCount(page.getByTestId('queue-row'), 2, 'tickets in the queue after creating one');
    await shot('02-created');

    // Open it from the queue.
    await page.getByTestId('detail-close').click();
    await page.getByTestId('ticket-detail').waitFor({ state: 'detached' });
    await page.locator(`[data-testid="queue-row"][data-number="${number}"]`).click();
    await waitForText(page.getByTestId('detail-title'), TITLE, 'title of the opened ticket');
    await waitForText(page.getByTestId('detail-number'), `#${number}`, 'number of the opened ticket');
    await waitForText(page.getByTestId('ticket-total-time'), 'Time: 0 min (0 min billable)', 'time before logging');

    // Post a comment.
    await page.getByTestId('comment-input').fill(COMMENT);
    await page.getByTestId('comment-submit').click();
    await waitForText(page.getByTestId('comment'), new RegExp(SEARCH_WORD), 'the posted comment');
    assert.equal(await page.getByTestId('comment-input').inputValue(), '', 'the composer is cleared');
    await shot('03-commented');

    // Log 45 billable minutes and see the total move.
    await page.getByTestId('time-minutes').fill('45');
    const billable = page.getByTestId('time-billable');
    if (!(await billable.isChecked())) await billable.check();
    await page.getByTestId('time-submit').click();
    await waitForText(page.getByTestId('ticket-total-time'), 'Time: 45 min (45 min billable)', 'time after logging 45 min');
    await shot('04-time');

    // Search for a word that only the comment holds: only this ticket stays in the queue.
    await page.getByTestId('search-input').fill(SEARCH_WORD);
    await waitForCount(page.getByTestId('queue-row'), 1, 'tickets matching the search');
    const row = page.getByTestId('queue-row').first();
    assert.equal(await row.getAttribute('data-number'), String(number), 'the search finds the commented ticket');
    assert.match((await row.textContent()) ?? '', new RegExp(TITLE));
    assert.match(page.url(), new RegExp(`[?&]q=${SEARCH_WORD}`), 'the search is part of the queue link');
    await shot('05-search');

    // Clients: add a site, then correct its time zone in place.
    await page.goto(`${base}/#/clients/${client.id}`);
    await page.getByTestId('site-name').fill('Head office');
    await page.getByTestId('site-add').click();
    await page.getByTestId('site-edit').first().click();
    await page.getByTestId('site-edit-timezone').fill('Europe/Paris');
    await page.getByTestId('site-save').click();
    await page.getByTestId('site-list').getByText('Europe/Paris').waitFor({ timeout: STEP_MS });
    const detail = await apiCall('GET', `/clients/${client.id}`, { token: session.token });
    assert.equal(detail.sites[0].timezone, 'Europe/Paris', 'the edit reached the server');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('admin limits a technician to one client; the technician sees only that client', { timeout: 180_000 }, async () => {
  // Two clients with a ticket each. The first client exists already when the test above ran.
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const existing = await apiCall('GET', '/clients', { token });
  const acme =
    existing.find((c) => c.name === CLIENT_NAME) ?? (await apiCall('POST', '/clients', { token, body: { name: CLIENT_NAME } }));
  const borealis = await apiCall('POST', '/clients', { token, body: { name: OTHER_CLIENT_NAME } });
  const seen = await apiCall('POST', '/tickets', {
    token,
    body: { title: SCOPED_TITLE, client_id: acme.id, priority: 'normal' },
  });
  const hidden = await apiCall('POST', '/tickets', {
    token,
    body: { title: HIDDEN_TITLE, client_id: borealis.id, priority: 'high' },
  });
  // The queue opens on active tickets: this many belong to the first client.
  const acmeActive = (await apiCall('GET', `/tickets?status=active&client_id=${acme.id}`, { token })).total;
  assert.ok(acmeActive >= 1, 'the first client has an active ticket');
  const scopeOf = async (username) => {
    const users = await apiCall('GET', '/users', { token });
    const u = users.find((x) => x.username === username);
    if (!u) fail(`user ${username} is not on the server`);
    return u.clients;
  };

  const pageErrors = [];
  const open = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return { context, page };
  };
  const logIn = async (page, username, password) => {
    await page.goto(`${base}/`);
    await page.getByTestId('login-username').fill(username);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('queue').waitFor();
  };
  let { context, page } = await open();
  const shot = async (name) => {
    if (shotsDir) await page.screenshot({ path: path.join(shotsDir, `${name}.png`) });
  };

  try {
    // The admin adds the technician in Settings → Users.
    await logIn(page, USERNAME, PASSWORD);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('user-list').waitFor();
    await page.getByTestId('user-username').fill(SCOPED_USERNAME);
    await page.getByTestId('user-display-name').fill(SCOPED_DISPLAY);
    await page.getByTestId('user-role').selectOption('technician');
    await page.getByTestId('user-password').fill(SCOPED_PASSWORD);
    await page.getByTestId('user-add').click();
    const row = page.locator(`[data-testid="user-row"][data-username="${SCOPED_USERNAME}"]`);
    await row.waitFor();
    await waitForText(row.getByTestId('user-scope'), 'All clients', 'scope of the new technician');

    // Open the scope editor: every client by default, the client boxes locked until "Only these clients".
    await row.getByTestId('user-scope-edit').click();
    const form = page.getByTestId('scope-form');
    await form.waitFor();
    assert.ok(await form.getByTestId('scope-all').isChecked(), '"All clients" is chosen at first');
    const acmeBox = form.locator(`[data-testid="scope-client"][data-client="${CLIENT_NAME}"]`);
    const borealisBox = form.locator(`[data-testid="scope-client"][data-client="${OTHER_CLIENT_NAME}"]`);
    await acmeBox.waitFor();
    await borealisBox.waitFor();
    assert.ok(await acmeBox.isDisabled(), 'client boxes are locked while "All clients" is chosen');
    await form.getByTestId('scope-some').check();
    assert.ok(await acmeBox.isEnabled(), 'client boxes unlock with "Only these clients"');
    assert.equal(await form.locator('[data-testid="scope-client"]:checked').count(), 0, 'no client is ticked yet');

    // Saving "Only these clients" with nothing ticked is refused and changes nothing.
    await form.getByTestId('scope-save').click();
    await waitForText(form.getByTestId('scope-error'), /Tick at least one client/, 'error for an empty scope');
    await shot('10-scope-empty-error');
    assert.ok(await form.isVisible(), 'the editor stays open after the refusal');
    await waitForText(row.getByTestId('user-scope'), 'All clients', 'scope label after the refused save');
    assert.equal(await scopeOf(SCOPED_USERNAME), null, 'the refused save did not reach the server');

    // Tick the first client only: the message goes, and Save narrows the scope.
    await acmeBox.check();
    await form.getByTestId('scope-error').waitFor({ state: 'detached' });
    assert.ok(!(await borealisBox.isChecked()), 'the other client stays unticked');
    await shot('11-scope-editor');
    await form.getByTestId('scope-save').click();
    await form.waitFor({ state: 'detached' });
    await waitForText(row.getByTestId('user-scope'), CLIENT_NAME, 'scope label after saving');
    assert.deepEqual(await scopeOf(SCOPED_USERNAME), [acme.id], 'the server holds the new scope');
    await shot('12-scope-saved');
    await context.close();

    // The technician, in a browser of their own, sees only the first client.
    ({ context, page } = await open());
    await logIn(page, SCOPED_USERNAME, SCOPED_PASSWORD);
    await waitForText(page.getByTestId('current-user'), new RegExp(SCOPED_DISPLAY), 'current user in the top bar');
    await waitForCount(page.getByTestId('queue-row'), acmeActive, "the first client's active tickets in the queue");
    await waitForText(page.getByTestId('queue-total'), new RegExp(`^${acmeActive} tickets?$`), 'queue total');
    await page.locator(`[data-testid="queue-row"][data-number="${seen.number}"]`).waitFor();
    assert.equal(
      await page.locator(`[data-testid="queue-row"][data-number="${hidden.number}"]`).count(),
      0,
      "the other client's ticket is not in the queue",
    );
    for (const text of await page.getByTestId('queue-row').allTextContents()) {
      assert.ok(text.includes(CLIENT_NAME), `a queued ticket is the first client's: ${text}`);
    }
    const queueText = (await page.getByTestId('queue').textContent()) ?? '';
    assert.ok(!queueText.includes(HIDDEN_TITLE) && !queueText.includes(OTHER_CLIENT_NAME), 'nothing of the other client shows');
    const filterOptions = (await page.getByTestId('filter-client').locator('option').allTextContents()).map((t) => t.trim());
    assert.deepEqual(filterOptions, ['Any client', CLIENT_NAME], 'the client filter offers only the first client');
    await shot('13-scoped-queue');

    // A link to the other client's tickets opens an empty queue.
    await page.goto(`${base}/#/tickets?status=active&client_id=${borealis.id}`);
    await page.getByTestId('queue-empty').waitFor();
    await waitForCount(page.getByTestId('queue-row'), 0, 'tickets of the other client via a link');

    // Clients page: one client, the first.
    await page.getByTestId('nav-clients').click();
    await page.getByTestId('client-list').waitFor();
    await waitForCount(page.getByTestId('client-row'), 1, 'clients the technician sees');
    assert.equal(await page.getByTestId('client-row').first().getAttribute('data-id'), acme.id);
    await waitForText(page.getByTestId('client-row'), new RegExp(`^${CLIENT_NAME}`), 'the one client listed');
    await shot('14-scoped-clients');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  } catch (e) {
    await shot('failure-scope').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});
