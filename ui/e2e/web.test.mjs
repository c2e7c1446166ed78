// End to end through the web console: a real `outpost-server` on a fresh store, driven in
// headless Chromium with playwright-core.
//
//   OUTPOST_SERVER_BIN=/path/to/outpost-server npm run test:e2e     (after `npm run build`)
//
// Optional: CHROMIUM_BIN (default /usr/bin/chromium), E2E_SHOTS=<dir> for a screenshot per step.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
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
// Fleet: two devices of CLIENT_NAME, one at a site.
const SITE_NAME = 'Head office';
const PC_NAME = 'RECEPTION-PC';
const PC_SERIAL = 'SN-RCP-4471';
const NAS_NAME = 'NAS-01';
const NAS_OS = 'Synology DSM 7.1';
const NAS_OS_EDITED = 'Synology DSM 7.2.1';
const VIEWER_USERNAME = 'e2e.viewer';
const VIEWER_PASSWORD = 'viewer-pass-9182';

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

/** Polls until an input's value equals what is expected. */
async function waitForValue(locator, expected, what, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await locator.first().inputValue({ timeout: 1000 }).catch(() => '');
    if (seen === expected) return;
    await sleep(100);
  }
  fail(`${what}: expected ${JSON.stringify(expected)}, the field holds ${JSON.stringify(seen)}`);
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

/** Logs in on the login page and waits for the queue. */
async function logIn(page, username = USERNAME, password = PASSWORD) {
  await page.goto(`${base}/`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('queue').waitFor();
}

/** Collects what a page throws and what the server's Content-Security-Policy blocks in it. */
function watchErrors(page, pageErrors) {
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy')) pageErrors.push(m.text());
  });
}

/** A fresh browser page with the usual timeouts, the errors it throws, and `shot(name)`. */
async function newPage(viewport = { width: 1280, height: 800 }, { fullPage = false } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  const pageErrors = [];
  watchErrors(page, pageErrors);
  const shot = async (name) => {
    if (shotsDir) await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage });
  };
  return { context, page, pageErrors, shot };
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
  server = spawn(bin, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--webhook-retry-secs', '0.2'], {
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

  const { context, page, pageErrors, shot } = await newPage();

  try {
    // Log in.
    await logIn(page);
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
    watchErrors(page, pageErrors);
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

test('admin records assets in Fleet: create, filter, search, edit in place', { timeout: 180_000 }, async () => {
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  // The client (and its site) may exist already from the tests above; this test also runs alone.
  const clients = await apiCall('GET', '/clients', { token });
  const acme =
    clients.find((c) => c.name === CLIENT_NAME) ?? (await apiCall('POST', '/clients', { token, body: { name: CLIENT_NAME } }));
  const acmeDetail = await apiCall('GET', `/clients/${acme.id}`, { token });
  const site =
    acmeDetail.sites.find((s) => s.name === SITE_NAME) ??
    (await apiCall('POST', `/clients/${acme.id}/sites`, { token, body: { name: SITE_NAME } }));
  const assetTotal = async () => (await apiCall('GET', '/assets', { token })).total;
  assert.equal(await assetTotal(), 0, 'the store has no assets yet');

  const pageErrors = [];
  const open = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    watchErrors(page, pageErrors);
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
  const rows = page.getByTestId('asset-row');
  const rowNamed = (name) => page.locator('[data-testid="asset-row"]', { has: page.getByText(name, { exact: true }) });

  try {
    // Fleet starts empty and says what to do.
    await logIn(page, USERNAME, PASSWORD);
    await page.getByTestId('nav-fleet').click();
    await page.getByTestId('asset-list').waitFor();
    assert.equal(await page.getByTestId('nav-fleet').getAttribute('aria-current'), 'page', 'Fleet is the active rail entry');
    const empty = page.locator('[data-testid="asset-empty"][data-reason="no-assets"]');
    await empty.waitFor();
    assert.match((await empty.textContent()) ?? '', /No endpoints yet.*Add an endpoint.*recorded by hand/s, 'the empty list says how to start');
    await waitForText(page.getByTestId('asset-total'), '0 assets', 'total of the empty fleet');
    await shot('20-fleet-empty');

    // An empty name is refused in the dialog, inline, and nothing is created.
    await page.getByTestId('asset-new-button').click();
    const dialog = page.getByTestId('new-asset-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('asset-new-client').selectOption(acme.id);
    await dialog.getByTestId('asset-new-site').selectOption(site.id);
    await dialog.getByTestId('asset-new-name').fill('   ');
    await dialog.getByTestId('asset-new-submit').click();
    await waitForText(dialog.getByTestId('asset-new-error'), /Give the asset a name/, 'error for an empty name');
    await shot('21-new-asset-empty-name');
    assert.ok(await dialog.isVisible(), 'the dialog stays open after the refusal');
    assert.equal(await assetTotal(), 0, 'the refused asset did not reach the server');
    assert.equal(await rows.count(), 0, 'no asset is listed after the refusal');

    // The message goes as soon as the name is typed; the first asset, at the site.
    await dialog.getByTestId('asset-new-name').fill(PC_NAME);
    await dialog.getByTestId('asset-new-error').waitFor({ state: 'detached' });
    await dialog.getByTestId('asset-new-kind').selectOption('workstation');
    await dialog.getByTestId('asset-new-os').fill('Windows 11 Pro');
    await dialog.getByTestId('asset-new-serial').fill(PC_SERIAL);
    await shot('22-new-asset-dialog');
    await dialog.getByTestId('asset-new-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await waitForValue(page.getByTestId('asset-name-input'), PC_NAME, 'the new asset opens in the detail pane');
    await waitForCount(rows, 1, 'assets listed after the first create');

    // The second asset, without a site.
    await page.getByTestId('asset-new-button').click();
    await dialog.waitFor();
    await dialog.getByTestId('asset-new-client').selectOption(acme.id);
    await dialog.getByTestId('asset-new-name').fill(NAS_NAME);
    await dialog.getByTestId('asset-new-kind').selectOption('server');
    await dialog.getByTestId('asset-new-os').fill(NAS_OS);
    await dialog.getByTestId('asset-new-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await waitForCount(rows, 2, 'assets listed after the second create');
    await waitForText(page.getByTestId('asset-total'), '2 assets', 'fleet total');
    const pcRow = rowNamed(PC_NAME);
    const pcText = (await pcRow.textContent()) ?? '';
    for (const part of ['Workstation', CLIENT_NAME, SITE_NAME, 'Windows 11 Pro']) {
      assert.ok(pcText.includes(part), `the ${PC_NAME} row shows ${part}: ${pcText}`);
    }
    assert.match((await rowNamed(NAS_NAME).textContent()) ?? '', new RegExp(`Server.*${CLIENT_NAME}.*${NAS_OS}`), 'the NAS row');
    const onServer = await apiCall('GET', `/assets?client_id=${acme.id}`, { token });
    assert.equal(onServer.total, 2, 'both assets reached the server');
    assert.equal(onServer.items.find((a) => a.name === PC_NAME)?.site_id, site.id, 'the first asset is at the site');
    assert.equal(onServer.items.find((a) => a.name === NAS_NAME)?.site_id, null, 'the second asset has no site');
    await shot('23-fleet-list');

    // Filter by kind: only the server stays; the filter is part of the link.
    await page.getByTestId('asset-filter-kind').selectOption('server');
    await waitForCount(rows, 1, 'servers in the fleet');
    assert.equal(await rows.first().getAttribute('data-kind'), 'server');
    assert.match((await rows.first().textContent()) ?? '', new RegExp(NAS_NAME));
    assert.match(page.url(), /[?&]kind=server/, 'the kind filter is part of the link');
    await page.getByTestId('asset-filter-kind').selectOption('');
    await waitForCount(rows, 2, 'assets after clearing the kind');

    // Search by part of a serial number.
    await page.getByTestId('asset-search').fill('RCP-44');
    await waitForCount(rows, 1, 'assets matching the serial search');
    assert.match((await rows.first().textContent()) ?? '', new RegExp(PC_NAME));
    await waitForText(page.getByTestId('asset-total'), '1 asset', 'total while searching');
    await shot('24-fleet-search');

    // A search that finds nothing says how to get back.
    await page.getByTestId('asset-search').fill('no-such-device');
    const noMatch = page.locator('[data-testid="asset-empty"][data-reason="no-match"]');
    await noMatch.waitFor();
    assert.match((await noMatch.textContent()) ?? '', /Clear the filters/);
    await page.getByTestId('asset-filter-clear').click();
    await waitForCount(rows, 2, 'assets after clearing the filters');
    assert.equal(await page.getByTestId('asset-search').inputValue(), '', 'clearing empties the search box');

    // Open the NAS and correct its OS in place.
    await rowNamed(NAS_NAME).click();
    const nas = onServer.items.find((a) => a.name === NAS_NAME);
    await page.locator(`[data-testid="asset-detail"][data-id="${nas.id}"]`).waitFor();
    await waitForValue(page.getByTestId('asset-os'), NAS_OS, 'OS in the opened asset');
    assert.ok(await page.getByTestId('asset-save').isDisabled(), 'nothing to save before an edit');
    await page.getByTestId('asset-os').fill(NAS_OS_EDITED);
    await page.getByTestId('asset-discard').waitFor();
    await shot('25-asset-detail-editing');
    await page.getByTestId('asset-save').click();
    await page.getByTestId('asset-discard').waitFor({ state: 'detached' });
    await waitForText(rowNamed(NAS_NAME), new RegExp(NAS_OS_EDITED.replace(/\./g, '\\.')), 'the list row follows the edit');
    assert.equal((await apiCall('GET', `/assets/${nas.id}`, { token })).os, NAS_OS_EDITED, 'the edit reached the server');
    assert.match(page.url(), new RegExp(`#/fleet/${nas.id}`), 'the open asset is part of the link');

    // After a reload the same asset is open, with the edit kept.
    await page.reload();
    await page.locator(`[data-testid="asset-detail"][data-id="${nas.id}"]`).waitFor();
    await waitForText(rowNamed(NAS_NAME), new RegExp(NAS_OS_EDITED.replace(/\./g, '\\.')), 'the row after the reload');
    await waitForValue(page.getByTestId('asset-os'), NAS_OS_EDITED, 'the edit is kept after the reload');
    await shot('26-asset-detail-reloaded');
    await context.close();

    // A viewer sees the fleet but no write controls.
    await apiCall('POST', '/users', {
      token,
      body: { username: VIEWER_USERNAME, display_name: 'E2E Viewer', role: 'viewer', password: VIEWER_PASSWORD },
    });
    ({ context, page } = await open());
    await logIn(page, VIEWER_USERNAME, VIEWER_PASSWORD);
    await page.goto(`${base}/#/fleet/${nas.id}`);
    await page.locator(`[data-testid="asset-detail"][data-id="${nas.id}"]`).waitFor();
    await waitForCount(page.getByTestId('asset-row'), 2, 'assets the viewer sees');
    assert.equal(await page.getByTestId('asset-new-button').count(), 0, 'viewers get no New asset button');
    assert.equal(await page.getByTestId('asset-save').count(), 0, 'viewers get no Save button');
    assert.ok(await page.getByTestId('asset-os').isDisabled(), 'viewers cannot edit the OS');
    await shot('27-fleet-viewer');

    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  } catch (e) {
    await shot('failure-fleet').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('a sync conflict shows in words, and choosing the other value settles it', { timeout: 180_000 }, async () => {
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const clients = await apiCall('GET', '/clients', { token });
  const acme =
    clients.find((c) => c.name === CLIENT_NAME) ?? (await apiCall('POST', '/clients', { token, body: { name: CLIENT_NAME } }));
  const colleague = await apiCall('POST', '/users', {
    token,
    body: { username: 'e2e.colleague', display_name: 'Priya Natarajan', role: 'technician', password: 'colleague-pass-5521' },
  });
  const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Scanner offline at the front desk', client_id: acme.id } });
  // Another console, offline, had moved the ticket and assigned it without seeing this
  // store's values: its change reaches the server later, with a later clock.
  const replica = crypto.randomUUID();
  const later = String(Date.now() + 60_000).padStart(15, '0');
  const push = await apiCall('POST', '/sync/push', {
    token,
    body: {
      replica_id: replica,
      changes: [
        {
          change_id: crypto.randomUUID(),
          replica_id: replica,
          replica_seq: 1,
          hlc: `${later}-0000000000-${replica.replaceAll('-', '')}`,
          entity: 'ticket',
          entity_id: ticket.id,
          op: 'update',
          fields: { status: 'waiting_on_client', assignee_id: colleague.id },
          base: {},
        },
      ],
    },
  });
  assert.equal(push.conflicts, 2, 'status and assignee were edited in two places');

  const { context, page, pageErrors } = await newPage();
  try {
    await logIn(page);
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    await waitForCount(page.getByTestId('conflict'), 2, 'both conflicts shown');
    const status = page.locator('[data-testid="conflict"][data-field="status"]');
    const assignee = page.locator('[data-testid="conflict"][data-field="assignee_id"]');
    await waitForText(status, /Status\..*Kept: Waiting on client.*Other value: New/s, 'the status conflict in words');
    await waitForText(assignee, /Assignee\..*Kept: Priya Natarajan.*Other value: Unassigned/s, 'the assignee conflict names the person');
    const text = (await page.getByTestId('conflicts').textContent()) ?? '';
    assert.doesNotMatch(text, /waiting_on_client|assignee_id|"|[0-9a-f]{8}-[0-9a-f]{4}-/, `no raw values: ${text}`);
    if (shotsDir) await page.screenshot({ path: path.join(shotsDir, 'conflicts.png') });

    // Choosing the other assignee is an edit of the field: it settles that conflict.
    await assignee.getByTestId('conflict-use-other').click();
    await waitForCount(page.getByTestId('conflict'), 1, 'one conflict left after choosing');
    const detail = await apiCall('GET', `/tickets/${ticket.id}`, { token });
    assert.equal(detail.ticket.assignee_id, null, 'the other value (nobody) is set');
    const open = detail.conflicts.filter((c) => !c.resolved).map((c) => c.field);
    assert.deepEqual(open, ['status'], 'the assignee conflict is settled on the server too');
    // Keeping the status resolves the last one.
    await status.getByTestId('conflict-keep').click();
    await waitForCount(page.getByTestId('conflict'), 0, 'no conflict left');
    assert.deepEqual(pageErrors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('admin adds an endpoint: the real agent enrolls with the command shown, Fleet and its page show it', { timeout: 180_000 }, async () => {
  const agentBin = path.join(path.dirname(serverBinary()), 'outpost-agent');
  if (!fs.existsSync(agentBin)) fail(`${agentBin} is missing; build the agent (cargo build -p outpost-agent) first.`);
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const clinic = await apiCall('POST', '/clients', { token, body: { name: 'Cobalt Clinic' } });
  // An override any machine crosses, so an alert (and its ticket) follows the first heartbeat.
  await apiCall('POST', '/alert-rules', {
    token,
    body: { client_id: clinic.id, kind: 'memory', threshold: 0.5, samples: 1, priority: 'high' },
  });
  // What an endpoint says is data: this host name must show as text, never run.
  const HOSTILE = `<img src=x onerror="window.__pwned=1">CLINIC-PC<script>window.__pwned=2</script>`;

  const { context, page, pageErrors, shot } = await newPage({ width: 1360, height: 860 });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-agent-'));
  let agent = null;
  let agentLog = '';
  try {
    await logIn(page);
    await page.goto(`${base}/#/fleet?client_id=${clinic.id}`);
    await page.getByTestId('asset-empty').waitFor();

    // Add endpoint: a token for the clinic, and the command to run on the machine.
    await page.getByTestId('endpoint-add-button').click();
    await page.getByTestId('enroll-client').selectOption(clinic.id);
    await page.getByTestId('enroll-create').click();
    const command = await waitForText(page.getByTestId('enroll-command'), /outpost-agent enroll --server/, 'the enroll command');
    assert.match(command, new RegExp(`--server '${base}'`), 'the command names this server');
    assert.match(command, /systemctl enable --now outpost-agent/);
    await page.getByTestId('enroll-os-windows').click();
    await waitForText(page.getByTestId('enroll-command'), /outpost-agent\.exe" enroll/, 'the Windows command');
    await shot('30-add-endpoint');
    const enrollToken = /--token "(opt_[0-9a-f]+)"/.exec(await page.getByTestId('enroll-command').textContent())[1];
    await page.keyboard.press('Escape');

    // On the "machine": the real agent, with the token from the page.
    const env = {
      ...process.env,
      OUTPOST_AGENT_MACHINE_ID: 'e2e-clinic-pc',
      OUTPOST_AGENT_HOSTNAME: HOSTILE,
      OUTPOST_AGENT_SAMPLE_SECS: '1',
      OUTPOST_AGENT_JITTER_SECS: '1',
      RUST_LOG: 'outpost_agent=info',
    };
    const enrolled = spawnSync(agentBin, ['enroll', '--server', base, '--token', enrollToken, '--state-dir', stateDir], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (enrolled.status !== 0) fail(`outpost-agent enroll failed:\n${enrolled.stdout}\n${enrolled.stderr}`);
    agent = spawn(agentBin, ['run', '--state-dir', stateDir, '--heartbeat-secs', '2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr.on('data', (c) => (agentLog = (agentLog + c.toString()).slice(-4000)));

    // The Fleet list shows the machine online, with its numbers, within a refresh.
    await page.goto(`${base}/#/fleet?client_id=${clinic.id}`);
    const row = page.getByTestId('asset-row').first();
    const deadline = Date.now() + 60_000;
    while ((await page.getByTestId('asset-row').count()) === 0 || (await row.getAttribute('data-health')) === 'offline') {
      if (Date.now() > deadline) fail(`the endpoint did not show online.\n${agentLog}`);
      await sleep(500);
      await page.reload();
    }
    await waitForText(row.getByTestId('asset-seen'), 'online', 'the endpoint is online');
    assert.ok((await row.textContent()).includes(HOSTILE), 'the host name shows as the text it is');
    await waitForText(page.getByTestId('fleet-count-healthy'), /\d+ healthy/, 'health counts at the top');

    await row.click();
    await page.getByTestId('endpoint-overview').waitFor();
    // Charts are images drawn by the core, with at least one minute of heartbeats.
    const cpu = page.locator('[data-testid="endpoint-charts"] img[data-series="cpu"]');
    const chartDeadline = Date.now() + 60_000;
    while (Number((await cpu.getAttribute('data-points').catch(() => '0')) ?? 0) < 1) {
      if (Date.now() > chartDeadline) fail('no CPU history reached the chart');
      await page.getByTestId('chart-range-hour').click();
      await sleep(1000);
    }
    assert.match(await cpu.getAttribute('src'), /^data:image\/svg\+xml/, 'the chart is an image, not markup');
    assert.match(await cpu.getAttribute('alt'), /CPU: average/);
    await shot('31-endpoint-overview');

    await page.getByTestId('asset-tab-inventory').click();
    // The whole inventory follows the first heartbeats by a few seconds (software, updates).
    await waitForText(page.getByTestId('inventory-os'), /\S/, 'the operating system in the inventory', 45_000);
    const hostLine = await page.getByTestId('inventory-system').textContent();
    assert.ok(hostLine.includes(HOSTILE), 'the inventory shows the host name as text');
    await page.getByTestId('inventory-software-search').fill('zzzz-no-such-package');
    await shot('32-endpoint-inventory');

    // The alert it raised, with its ticket; a technician acknowledges it.
    await page.goto(`${base}/#/alerts?state=firing&client_id=${clinic.id}`);
    // The memory rule's alert (a machine with many pending updates raises that one too).
    const alertRow = page.getByTestId('alert-row').filter({ hasText: 'memory' }).first();
    await alertRow.waitFor({ timeout: 60_000 });
    assert.match((await alertRow.textContent()) ?? '', /memory [\d.]+ % used \(limit 0\.5 %\).*#\d+/s);
    await alertRow.getByTestId('alert-ack').click();
    await waitForText(alertRow.locator('.ack'), /seen by/, 'the acknowledgement');
    await shot('33-alerts');

    // The alert's ticket knows its endpoint and offers a script run on it (signed in the
    // desktop app; its result would be noted on this ticket).
    await alertRow.locator('a.ticket').click();
    await page.getByTestId('ticket-endpoints').waitFor();
    assert.ok(((await page.getByTestId('ticket-endpoints').textContent()) ?? '').includes('CLINIC-PC'));
    await page.getByTestId('ticket-run-script').click();
    await page.getByTestId('run-for-ticket').waitFor();
    await page.getByTestId('run-sign-elsewhere').waitFor();
    await page.keyboard.press('Escape');

    // Nothing the endpoint said ran, and no element it named was made.
    assert.equal(await page.evaluate(() => window.__pwned ?? null), null, 'agent text ran as script');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'agent text became an element');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  } catch (e) {
    await shot('failure-endpoint').catch(() => {});
    throw new Error(`${e.message}\nagent log:\n${agentLog}`);
  } finally {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    await context.close().catch(() => {});
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

test('scripts: the library and its versions, a signed run streaming its output, the results grid', { timeout: 240_000 }, async () => {
  const { newKey, fingerprint, certify, signRun } = await import('./signer.mjs');
  const agentBin = path.join(path.dirname(serverBinary()), 'outpost-agent');
  if (!fs.existsSync(agentBin)) fail(`${agentBin} is missing; build the agent (cargo build -p outpost-agent) first.`);
  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const firm = await apiCall('POST', '/clients', { token, body: { name: 'Delta Accountants' } });
  // The organisation's root and this technician's certificate, made the way PROTOCOL.md says.
  const root = newKey();
  const tech = newKey();
  await apiCall('POST', '/trust/root', { token, body: { public_key: root.raw.toString('hex') } });
  const cert = certify(root, tech, { userId: session.user.id, name: 'E2E Technician' });
  await apiCall('POST', '/trust/certificates', { token, body: { certificate: cert.certificate } });
  const enrollment = await apiCall('POST', '/enrollment-tokens', {
    token,
    body: { client_id: firm.id, expires_in_hours: 1, max_uses: 1 },
  });

  const { context, page, pageErrors, shot } = await newPage({ width: 1360, height: 860 });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-scripts-'));
  let agent = null;
  let agentLog = '';
  try {
    const env = {
      ...process.env,
      OUTPOST_AGENT_MACHINE_ID: 'e2e-delta-pc',
      OUTPOST_AGENT_SAMPLE_SECS: '1',
      OUTPOST_AGENT_JITTER_SECS: '1',
      RUST_LOG: 'outpost_agent=info',
    };
    const enrolled = spawnSync(
      agentBin,
      ['enroll', '--server', base, '--token', enrollment.token, '--root', fingerprint(root.raw), '--state-dir', stateDir],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    if (enrolled.status !== 0) fail(`outpost-agent enroll failed:\n${enrolled.stdout}\n${enrolled.stderr}`);
    const agentId = JSON.parse(fs.readFileSync(path.join(stateDir, 'agent.json'), 'utf8')).agent_id;
    agent = spawn(agentBin, ['run', '--state-dir', stateDir, '--heartbeat-secs', '2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr.on('data', (c) => (agentLog = (agentLog + c.toString()).slice(-4000)));

    await logIn(page);

    // The library: the starter scripts are there; a technician adds one, then edits it.
    await page.getByTestId('nav-scripts').click();
    await page.getByTestId('scripts-page').waitFor();
    await page.getByTestId('scripts-filter').fill('flush dns');
    await waitForCount(page.getByTestId('script-row'), 3, 'Flush DNS for Linux, Windows and macOS');
    await page.getByTestId('scripts-filter').fill('');
    await page.getByTestId('script-new').click();
    await page.getByTestId('script-name').fill('Count to three');
    await page.getByTestId('script-body').fill('for i in 1 2 3; do echo "line $i"; sleep 1; done\n');
    await page.getByTestId('script-save').click();
    await page.getByTestId('script-detail').waitFor();
    await page.getByTestId('script-edit').click();
    await page.getByTestId('script-body').fill('for i in 1 2 3; do echo "$WORD $i"; sleep 1; done\necho "<img src=x onerror=window.__pwned=1>"\nexit "$CODE"\n');
    await page.getByRole('button', { name: 'Add a parameter' }).click();
    await page.getByLabel('Parameter name').fill('WORD');
    await page.getByRole('button', { name: 'Add a parameter' }).click();
    await page.getByLabel('Parameter name').nth(1).fill('CODE');
    await page.getByLabel('Type').nth(1).selectOption('number');
    await page.getByTestId('script-save').click();
    await waitForText(page.getByTestId('script-diff'), /- for i in 1 2 3; do echo "line \$i".*\+ for i in 1 2 3; do echo "\$WORD \$i"/s, 'the change between versions');
    await shot('40-script-library');
    const scripts = await apiCall('GET', '/scripts', { token });
    const mine = scripts.find((s) => s.current.name === 'Count to three');
    assert.equal(mine.current.version, 2);

    // A run signed outside the browser (the web console never holds a key) streams its
    // output here as the agent sends it.
    const target = {
      agentId,
      clientId: firm.id,
      scriptId: mine.id,
      version: 2,
      body: mine.current.body,
      interpreter: 'bash',
    };
    const good = signRun(tech, cert, { ...target, parameters: { WORD: 'tick', CODE: 0 } });
    const bad = signRun(tech, cert, { ...target, parameters: { WORD: 'tock', CODE: 3 } });
    await apiCall('POST', '/runs', { token, body: { runs: [good.signed, bad.signed] } });
    await page.goto(`${base}/#/scripts/runs/${good.runId}`);
    await waitForText(page.getByTestId('run-stdout'), /tick 1/, 'the first line while it runs', 60_000);
    const midway = await page.getByTestId('run-state').textContent();
    await waitForText(page.getByTestId('run-state'), 'Finished', 'the run finished', 30_000);
    const out = await page.getByTestId('run-stdout').textContent();
    assert.match(out, /tick 1\ntick 2\ntick 3\n<img src=x onerror=window.__pwned=1>/, 'all of its output, as text');
    assert.match(midway ?? '', /Running|Waiting|Finished/);
    await waitForText(page.getByTestId('run-outcome'), 'exit 0', 'its exit code');
    await shot('41-run-output');

    // The results grid: each endpoint's run, the failure marked.
    await page.goto(`${base}/#/scripts?tab=runs`);
    const rows = page.getByTestId('run-row');
    await waitForCount(rows, 2, 'both runs in the grid');
    const deadline = Date.now() + 30_000;
    while (!((await page.getByTestId('runs-grid').textContent()) ?? '').includes('exit 3')) {
      if (Date.now() > deadline) fail('the failed run never showed its exit code');
      await sleep(500);
    }
    assert.equal(await page.locator('[data-testid="run-row"].bad').count(), 1, 'one failure marked');
    await shot('42-runs-grid');

    // An automation signed ahead (two runs on standby for a CPU alert) shows with its runs,
    // and cancelling it drops them.
    const from = Math.floor(Date.now() / 1000) - 60;
    const until = from + 86_400;
    const pool = [0, 1].map(() =>
      signRun(tech, cert, { ...target, parameters: { WORD: 'auto', CODE: 0 }, notBefore: from, notAfter: until }),
    );
    const automation = await apiCall('POST', '/automations', {
      token,
      body: {
        id: crypto.randomUUID(),
        name: 'Busy CPU: count',
        trigger: 'alert',
        alert_kind: 'cpu',
        runs_per_endpoint: 2,
        script_id: mine.id,
        script_version: 2,
        valid_from: new Date(from * 1000).toISOString(),
        valid_until: new Date(until * 1000).toISOString(),
        runs: pool.map((p) => p.signed),
      },
    });
    assert.equal(automation.state, 'active');
    await page.getByTestId('scripts-automations-tab').click();
    await waitForCount(page.getByTestId('automation-row'), 1, 'the automation in the list');
    await page.getByTestId('automation-sign-elsewhere').waitFor();
    await page.getByTestId('automation-row').getByRole('link').click();
    await page.getByTestId('automation-detail').waitFor();
    await waitForText(page.getByTestId('automation-counts'), /0 started, 0 failed, 2 left/, 'its runs on standby');
    await waitForCount(page.getByTestId('automation-run'), 2, 'both runs signed ahead');
    await shot('43-automation');
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('automation-cancel').click();
    await waitForText(page.getByTestId('automation-state'), 'Cancelled', 'the automation cancelled');
    await waitForText(page.getByTestId('automation-counts'), /0 started, 0 failed, 0 left/, 'none left to start');


    // The endpoint's page lists them; the web console says where runs are signed.
    const assets = await apiCall('GET', `/assets?client_id=${firm.id}`, { token });
    await page.goto(`${base}/#/fleet/${assets.items[0].id}`);
    await page.getByTestId('asset-tab-scripts').click();
    await waitForCount(page.getByTestId('endpoint-run-row'), 2, 'the endpoint lists its runs');
    await page.getByTestId('endpoint-run-script').click();
    await page.getByTestId('run-sign-elsewhere').waitFor();
    assert.equal(await page.getByTestId('run-sign').isDisabled(), true, 'no signing in a browser');
    await page.keyboard.press('Escape');

    // A schedule, every minute: its current minute is due at once and runs; its page lists
    // that run first, then the next times signed ahead.
    const first = Math.ceil((Math.floor(Date.now() / 1000) - 60) / 60) * 60;
    const times = Array.from({ length: 200 }, (_, i) => first + 60 * i);
    const everyMinute = await apiCall('POST', '/automations', {
      token,
      body: {
        id: crypto.randomUUID(),
        name: 'Every minute: count',
        trigger: 'schedule',
        schedule: '* * * * *',
        time_zone: 'UTC',
        script_id: mine.id,
        script_version: 2,
        valid_from: new Date((first - 30) * 1000).toISOString(),
        valid_until: new Date((first + 60 * 200) * 1000).toISOString(),
        runs: times.map(
          (t) => signRun(tech, cert, { ...target, parameters: { WORD: 'minute', CODE: 0 }, notBefore: t, notAfter: t + 59 }).signed,
        ),
      },
    });
    const ranDeadline = Date.now() + 90_000;
    while ((await apiCall('GET', `/runs?automation_id=${everyMinute.id}&state=finished`, { token })).total < 1) {
      if (Date.now() > ranDeadline) fail('the schedule never ran its first time');
      await sleep(1000);
    }
    await page.goto(`${base}/#/scripts/automations/${everyMinute.id}`);
    await waitForText(page.getByTestId('automation-counts'), /[12] started, 0 failed/, 'the started run counted');
    const firstRow = page.getByTestId('automation-run').first();
    assert.equal(await firstRow.getAttribute('data-state'), 'finished', 'the started run is listed first');
    await page.getByTestId('automation-more').waitFor();
    await shot('44-automation-schedule');
    await apiCall('POST', `/automations/${everyMinute.id}/cancel`, { token });

    assert.equal(await page.evaluate(() => window.__pwned ?? null), null, 'script output ran as script');
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'script output became an element');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the pages');
  } catch (e) {
    await shot('failure-scripts').catch(() => {});
    throw new Error(`${e.message}\nagent log:\n${agentLog}`);
  } finally {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    await context.close().catch(() => {});
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

test('admin subscribes a webhook; a failing receiver\'s delivery is a dead letter, replayed from the UI', { timeout: 120_000 }, async () => {
  // A receiver on loopback that refuses until told otherwise, and checks every signature.
  let accepting = false;
  const got = [];
  let secret = '';
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const sig = String(req.headers['x-outpost-signature'] ?? '');
      const t = /t=(\d+)/.exec(sig)?.[1] ?? '';
      const v1 = /v1=([0-9a-f]+)/.exec(sig)?.[1] ?? '';
      const want = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      got.push({ id: req.headers['x-outpost-delivery'], event: req.headers['x-outpost-event'], body, signed: v1 === want });
      if (accepting) {
        res.writeHead(200).end('thanks');
      } else {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('receiver broken: disk full');
      }
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/outpost`;

  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const { context, page, pageErrors, shot } = await newPage({ width: 1280, height: 900 }, { fullPage: true });
  try {
    await logIn(page);
    await page.getByTestId('nav-settings').click();
    const section = page.getByTestId('webhooks');
    await section.waitFor();

    // A URL that is no address is refused in words, nothing is added.
    await page.getByTestId('webhook-url').fill('ftp://files.example.com/in');
    await page.getByTestId('webhook-add').click();
    await waitForText(page.getByTestId('webhook-error'), /http:\/\/ or https:\/\//, 'the refusal of an ftp URL');
    assert.equal(await page.getByTestId('webhook-row').count(), 0);

    await page.getByTestId('webhook-url').fill(hookUrl);
    await page.getByTestId('webhook-event-comment.added').uncheck();
    await page.getByTestId('webhook-add').click();
    secret = await waitForText(page.getByTestId('webhook-secret').locator('code'), /^whsec_[0-9a-f]{48}$/, 'the secret shown once');
    await waitForCount(page.getByTestId('webhook-row'), 1, 'the new webhook listed');
    await shot('50-webhook-added');

    const client = (await apiCall('GET', '/clients', { token }))[0] ?? (await apiCall('POST', '/clients', { token, body: { name: CLIENT_NAME } }));
    const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Webhook test: server room too warm', client_id: client.id } });
    await page.getByTestId('dead-letter').first().waitFor({ timeout: 40_000 });
    await waitForText(page.getByTestId('dead-letter-error'), /answered 500 Internal Server Error/, 'the status the receiver gave');
    assert.equal(got.length, 4, 'tried once and retried three times');
    assert.ok(got.every((g) => g.signed && g.event === 'ticket.created' && g.id === got[0].id), 'every try signed, one delivery id');
    assert.equal(JSON.parse(got[0].body).data.number, ticket.number);
    await page.getByTestId('dead-letter').locator('summary').first().click();
    await waitForText(page.getByTestId('dead-letter-response'), 'receiver broken: disk full', 'the answer seen');
    await shot('51-dead-letter');

    accepting = true;
    await page.getByTestId('dead-letter-replay').click();
    await page.getByTestId('dead-letters-empty').waitFor({ timeout: 20_000 });
    const replayDeadline = Date.now() + 10_000;
    while (got.length < 5 && Date.now() < replayDeadline) await sleep(100);
    await sleep(500);
    assert.equal(got.length, 5, 'the replay was sent once');
    assert.equal(got[4].id, got[0].id, 'a replay keeps the delivery id');
    assert.ok(got[4].signed, 'the replay is signed');
    await waitForText(page.getByTestId('webhook-delivered').first(), /^1/, 'the delivered count', 20_000);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-webhooks').catch(() => {});
    throw e;
  } finally {
    receiver.close();
    await context.close().catch(() => {});
  }
});

test('admin sets the mail server in Settings; a reply typed in the ticket reaches the contact in one thread', { timeout: 120_000 }, async () => {
  // A real SMTP server on loopback (aiosmtpd): each message it takes is a line of its log.
  const sinkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-smtp-'));
  const sinkLog = path.join(sinkDir, 'mail.jsonl');
  const sinkPort = await freePort();
  const sink = spawn('python3', [path.resolve(here, '../../crates/server/tests/support/smtp_sink.py'), '--port', String(sinkPort), '--log', sinkLog], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    sink.stdout.once('data', (d) => (String(d).includes('READY') ? resolve() : reject(new Error(`SMTP sink: ${d}`))));
    sink.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code}): is aiosmtpd installed?`)));
  });
  const mails = () => (fs.existsSync(sinkLog) ? fs.readFileSync(sinkLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const waitMails = async (n) => {
    const deadline = Date.now() + 20_000;
    while (mails().length < n) {
      if (Date.now() > deadline) fail(`the SMTP server got ${mails().length} mails, not ${n}`);
      await sleep(100);
    }
    return mails();
  };
  const header = (data, name) => new RegExp(`^${name}: (.*)$`, 'mi').exec(data.split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' '))?.[1];

  const session = await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } });
  const token = session.token;
  const { context, page, pageErrors, shot } = await newPage({ width: 1280, height: 900 }, { fullPage: true });
  try {
    await logIn(page);
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('smtp-form').waitFor();

    // A From address that is not one is refused in words.
    await page.getByTestId('smtp-host').fill('127.0.0.1');
    await page.getByTestId('smtp-port').fill(String(sinkPort));
    await page.getByTestId('smtp-security').selectOption('none');
    await page.getByTestId('smtp-from-address').fill('help desk');
    await page.getByTestId('smtp-from-name').fill('Acme IT Service Desk');
    await page.getByTestId('smtp-save').click();
    await waitForText(page.getByTestId('smtp-error'), /from_address/i, 'the refusal of a bad From address');
    await page.getByTestId('smtp-from-address').fill('help@acme-it.example');
    await page.getByTestId('smtp-save').click();
    await page.getByTestId('smtp-test-to').fill('tech@acme-it.example');
    await page.getByTestId('smtp-test').click();
    await waitForText(page.getByTestId('smtp-test-result'), /^Sent:/, 'the test mail result');
    assert.equal((await waitMails(1))[0].rcpt_tos[0], 'tech@acme-it.example');

    // The reply template, previewed.
    await page.getByTestId('template-reply').click();
    await page.getByTestId('template-preview').click();
    await waitForText(page.getByTestId('preview-subject'), /^Re: \[#\d+\]/, 'the previewed subject');
    await shot('55-mail-settings');

    // A ticket for a contact with an address: acknowledged, then the reply typed here goes in its thread.
    const client = await apiCall('POST', '/clients', { token, body: { name: 'Mail Test Dental' } });
    const contact = await apiCall('POST', `/clients/${client.id}/contacts`, { token, body: { name: 'Dana', email: 'dana@dental.example' } });
    const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Scanner sends blank pages', client_id: client.id, contact_id: contact.id } });
    const ack = (await waitMails(2))[1];
    assert.equal(ack.rcpt_tos[0], 'dana@dental.example');
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    await page.getByTestId('comment-input').fill('Please try the other USB port; it is a driver issue.');
    await page.getByTestId('comment-submit').click();
    const reply = (await waitMails(3))[2];
    assert.equal(header(reply.data, 'Subject'), `Re: [#${ticket.number}] Scanner sends blank pages`);
    assert.equal(header(reply.data, 'In-Reply-To'), header(ack.data, 'Message-ID'), 'the reply threads under the acknowledgement');
    assert.match(reply.data, /other USB port/);

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('outbox-row').first().waitFor();
    await waitForText(page.getByTestId('outbox-state').first(), /^Sent/, 'the reply in the outbox');
    await shot('56-outbox');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-mail').catch(() => {});
    throw e;
  } finally {
    sink.kill();
    await context.close().catch(() => {});
    fs.rmSync(sinkDir, { recursive: true, force: true });
  }
});

test('a technician sees in the bell that a ticket was assigned to them and opens it from there', { timeout: 90_000 }, async () => {
  const admin = (await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } })).token;
  const tech = await apiCall('POST', '/users', {
    token: admin,
    body: { username: 'e2e.bell', display_name: 'Bell Technician', role: 'technician', password: 'bell-pass-5521' },
  });
  const client = (await apiCall('GET', '/clients', { token: admin }))[0] ?? (await apiCall('POST', '/clients', { token: admin, body: { name: CLIENT_NAME } }));
  const { context, page, pageErrors, shot } = await newPage();
  try {
    await logIn(page, 'e2e.bell', 'bell-pass-5521');
    await page.getByTestId('bell').waitFor();
    assert.equal(await page.getByTestId('bell-count').count(), 0, 'nothing unread yet');
    const ticket = await apiCall('POST', '/tickets', { token: admin, body: { title: 'Bell test: NAS degraded', client_id: client.id, assignee_id: tech.id } });
    // The bell looks every 15 s; opening it looks at once.
    const deadline = Date.now() + 20_000;
    while ((await page.getByTestId('bell-count').count()) === 0 && Date.now() < deadline) {
      await page.getByTestId('bell').click();
      await page.getByTestId('bell').click();
      await sleep(500);
    }
    await waitForText(page.getByTestId('bell-count'), '1', 'the unread count');
    await page.getByTestId('bell').click();
    await waitForText(page.getByTestId('notification').first(), /Assigned to you: #\d+ Bell test: NAS degraded/, 'the notification');
    await shot('60-bell');
    await page.getByTestId('notification').first().click();
    await waitForText(page.getByTestId('detail-number'), `#${ticket.number}`, 'the ticket it opened');
    await page.getByTestId('bell-count').waitFor({ state: 'detached' });
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-bell').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('a technician pastes a screenshot into a reply and drops files on the ticket; images preview, files save under safe names', { timeout: 90_000 }, async () => {
  const token = (await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } })).token;
  const client = await apiCall('POST', '/clients', { token, body: { name: 'Files Test Dental' } });
  const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Printer shows an error code', client_id: client.id } });
  const { context, page, pageErrors, shot } = await newPage({ width: 1280, height: 900 });
  try {
    await logIn(page);
    await page.goto(`${base}/#/tickets/${ticket.id}`);
    await page.getByTestId('comment-input').fill('The display says PC LOAD LETTER, see the screenshot.');
    // A screenshot on the clipboard, pasted into the reply (what Ctrl+V does after PrtScn).
    await page.getByTestId('comment-input').evaluate(async (el) => {
      const c = document.createElement('canvas');
      c.width = 240;
      c.height = 90;
      const g = c.getContext('2d');
      g.fillStyle = '#1f3b73';
      g.fillRect(0, 0, 240, 90);
      g.fillStyle = '#ffffff';
      g.font = 'bold 20px sans-serif';
      g.fillText('PC LOAD LETTER', 30, 52);
      const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'image.png', { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    });
    await waitForText(page.getByTestId('pending-file'), /^screenshot-.*\.png/, 'the pasted screenshot waiting to go');
    await page.getByTestId('comment-submit').click();
    const comment = page.getByTestId('comment').filter({ hasText: 'PC LOAD LETTER' });
    const preview = comment.getByTestId('attachment-preview');
    await preview.waitFor();
    // The image really shows (its bytes came back from the server and decode as a PNG).
    const deadline = Date.now() + STEP_MS;
    let width = 0;
    while (width === 0 && Date.now() < deadline) {
      width = await preview.evaluate((img) => (img.complete ? img.naturalWidth : 0));
      if (!width) await sleep(100);
    }
    assert.equal(width, 240, 'the pasted screenshot previews at its size');
    assert.equal(await page.getByTestId('pending-file').count(), 0, 'nothing left waiting');

    // Files dropped on the ticket: a hostile name and a disguised program.
    await page.getByTestId('attach-drop').evaluate((el) => {
      const dt = new DataTransfer();
      dt.items.add(new File(['root:x:0:0:root:/root:/bin/bash\n'], '../../etc/passwd', { type: 'text/plain' }));
      dt.items.add(new File([new Uint8Array([0x4d, 0x5a, 0x90, 0x00])], 'invoice.pdf.exe', { type: 'application/pdf' }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const files = page.getByTestId('ticket-files');
    await waitForCount(files.getByTestId('attachment'), 3, 'the ticket\'s three files');
    const names = await files.getByTestId('attachment-name').allTextContents();
    assert.deepEqual(names.map((n) => n.trim()), [names[0].trim(), 'passwd', 'invoice.pdf.exe']);
    assert.match(names[0], /^screenshot-.*\.png$/);
    await waitForText(
      files.getByTestId('attachment').filter({ hasText: 'invoice.pdf.exe' }).getByTestId('attachment-warning'),
      /pretends to be a \.pdf/,
      'the warning on the disguised program',
    );
    // Saving one is a download under its safe name, never a page in the console.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      files.getByTestId('attachment-name').filter({ hasText: 'passwd' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'passwd');
    await comment.scrollIntoViewIfNeeded();
    await shot('65-attachments');

    // The server kept the screenshot on the reply, typed by its bytes.
    const detail = await apiCall('GET', `/tickets/${ticket.id}`, { token });
    const shotFile = detail.attachments.find((a) => a.preview);
    assert.ok(shotFile?.comment_id, 'the screenshot belongs to the reply');
    assert.equal(shotFile.content_type, 'image/png');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-attachments').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('a technician previews a client report, leaves a section out, schedules it monthly and saves the PDF and a CSV', { timeout: 120_000 }, async () => {
  const token = (await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } })).token;
  const client = await apiCall('POST', '/clients', { token, body: { name: 'Report Test Clinic' } });
  const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Report: label printer offline', client_id: client.id, priority: 'high' } });
  await apiCall('POST', `/tickets/${ticket.id}/time-entries`, { token, body: { minutes: 90, billable: true } });
  const contact = await apiCall('POST', `/clients/${client.id}/contacts`, { token, body: { name: 'Rhea Manager', email: 'rhea@clinic.example' } });
  const today = new Date().toISOString().slice(0, 10);
  const { context, page, pageErrors, shot } = await newPage({ width: 1400, height: 1000 });
  try {
    await logIn(page);
    await page.getByTestId('nav-reports').click();
    await page.getByText('Choose a client to preview their report.').waitFor();
    await page.getByTestId('report-client').selectOption(client.id);
    await page.getByTestId('report-from').fill(today);
    await page.getByTestId('report-to').fill(today);
    const summary = page.getByTestId('report-summary');
    await waitForText(summary, /Report Test Clinic.*1 tickets opened.*1\.5 billable hours/s, 'the figures of the period');
    const pages = page.getByTestId('report-page');
    await pages.first().waitFor();
    const before = await pages.count();
    assert.ok(before >= 3, `cover, sections and appendix: ${before} pages`);
    // Every page is drawn (an image that loaded, not a broken one).
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="report-page"]')].every((i) => i.complete && i.naturalWidth > 0));
    const api = await apiCall('GET', `/reports/clients/${client.id}/preview?from=${today}&to=${today}`, { token });
    assert.equal(api.pages.length, before, 'the preview shows the report\'s pages');
    assert.equal(api.page_count, before, 'all of them, for a small report');
    await shot('75-report-preview');

    // The appendix left out for this client: one page fewer, and it stays left out.
    await page.getByTestId('report-section-appendix').uncheck();
    await page.getByTestId('report-sections-save').click();
    await waitForText(page.getByRole('status').filter({ hasText: 'Saved for this client' }), /Saved/, 'the sections saved');
    await waitForCount(pages, before - 1, 'one page fewer without the appendix');
    const settings = await apiCall('GET', `/clients/${client.id}/report-settings`, { token });
    assert.ok(!settings.sections.includes('appendix'));

    // A monthly schedule to the practice manager: saved, and the next report named.
    const schedule = page.getByTestId('report-schedule');
    await schedule.getByTestId('schedule-recipient').check();
    await schedule.getByTestId('schedule-day').selectOption('2');
    await schedule.getByTestId('schedule-save').click();
    await waitForText(schedule.getByTestId('schedule-next'), /Next: .+, on 2 /, 'the next report and its day');
    const saved = await apiCall('GET', `/clients/${client.id}/report-schedule`, { token });
    assert.deepEqual([saved.enabled, saved.day_of_month, saved.recipients], [true, 2, [contact.id]]);
    await waitForText(schedule.getByTestId('report-history'), /None yet/, 'no report kept yet');

    // Saving is a download of the PDF the contract route gives, and of a table as CSV.
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-save-pdf').click()]);
    assert.equal(pdf.suggestedFilename(), `Report Test Clinic service report ${today} to ${today}.pdf`);
    const pdfBytes = fs.readFileSync(await pdf.path());
    assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-csv-time').click()]);
    assert.match(csv.suggestedFilename(), / time\.csv$/);
    const csvText = fs.readFileSync(await csv.path(), 'utf8');
    assert.ok(csvText.startsWith('\uFEFFStarted,Technician,Ticket'), csvText.slice(0, 60));
    assert.match(csvText, /,90,1\.50,yes,/);

    // The billing export of the same days, priced at this client's rate.
    const billing = await apiCall('GET', '/settings/billing', { token });
    await apiCall('PUT', '/settings/billing', { token, body: { ...billing, currency: 'EUR', round_to_minutes: 15, client_rates: [{ subject_id: client.id, name: '', rate_cents: 10000 }] } });
    const [bill] = await Promise.all([page.waitForEvent('download'), page.getByTestId('billing-export').click()]);
    assert.equal(bill.suggestedFilename(), `Report Test Clinic billable time ${today} to ${today}.csv`);
    const billText = fs.readFileSync(await bill.path(), 'utf8');
    assert.match(billText, /Minutes billed,Hourly rate,Amount,Currency/);
    assert.match(billText, /,90,90,100\.00,150\.00,EUR,/);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-report').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('the dashboard shows the period\'s figures; a day in its chart opens the tickets opened that day', { timeout: 90_000 }, async () => {
  const token = (await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } })).token;
  const client = await apiCall('POST', '/clients', { token, body: { name: 'Dashboard Test Dental' } });
  const ticket = await apiCall('POST', '/tickets', { token, body: { title: 'Dashboard: scanner offline', client_id: client.id, priority: 'high' } });
  const today = new Date().toISOString().slice(0, 10);
  const { context, page, pageErrors, shot } = await newPage({ width: 1400, height: 1000 }, { fullPage: true });
  try {
    await logIn(page);
    await page.goto(`${base}/#/dashboard`);
    const period = page.getByTestId('dashboard-period');
    await period.getByTestId('kpi-opened').waitFor();
    const opened = Number((await period.getByTestId('kpi-opened').locator('.value').textContent()).trim());
    const server = await apiCall('GET', `/dashboard?from=${await period.getByTestId('dash-from').inputValue()}&to=${today}`, { token });
    assert.equal(opened, server.opened, 'the card shows what the API counts');
    // The client filter narrows every figure.
    await period.getByTestId('dash-client').selectOption(client.id);
    await waitForText(period.getByTestId('kpi-opened').locator('.value'), '1', 'one ticket for this client');
    await waitForText(period.getByTestId('top-client').first(), 'Dashboard Test Dental', 'the client on top');
    const region = period.getByTestId('chart-tickets_per_day').locator(`[data-testid="chart-region"][data-key="${today}"]`);
    await region.waitFor();
    assert.match(await region.getAttribute('title'), /1 opened/);
    await shot('70-dashboard');
    await region.click();
    await page.getByTestId('queue').waitFor();
    await waitForText(page.getByTestId('filter-opened-on'), `Opened ${today}`, 'the day filter in the queue');
    await waitForCount(page.getByTestId('queue-row'), 1, 'the one ticket opened that day for this client');
    await waitForText(page.getByTestId('queue-row').first(), /Dashboard: scanner offline/, 'the ticket');
    assert.ok(ticket.id);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-dashboard').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('an admin reads the audit log, filters it to clients and verifies the chain', { timeout: 90_000 }, async () => {
  const admin = (await apiCall('POST', '/auth/login', { body: { username: USERNAME, password: PASSWORD } })).token;
  const made = await apiCall('POST', '/clients', { token: admin, body: { name: 'Audit Trail Dental' } });
  const { context, page, pageErrors, shot } = await newPage({ width: 1360, height: 900 });
  try {
    await logIn(page);
    await page.getByTestId('nav-settings').click();
    const log = page.getByTestId('audit-log');
    await log.getByTestId('audit-row').first().waitFor();
    await log.getByTestId('audit-what').fill('client.');
    await log.getByTestId('audit-show').click();
    const row = log.locator('[data-testid="audit-row"]', { hasText: 'Audit Trail Dental' });
    await row.waitFor();
    await waitForText(row, /client\.create/, 'the new client in the log');
    const actions = await log.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.dataset.action));
    assert.ok(actions.length > 0 && actions.every((a) => a.startsWith('client.')), `only client actions: ${actions}`);
    // The same entries the API lists for the same filter, newest first.
    const api = await apiCall('GET', '/audit?action=client.&limit=50', { token: admin });
    assert.equal(actions.length, api.items.length);
    assert.equal(api.items.find((e) => e.entity_id === made.id)?.action, 'client.create');
    await log.getByTestId('audit-verify').click();
    await waitForText(log.getByTestId('audit-verified'), /The chain is intact: \d+ entries verify/, 'the verification');
    await log.scrollIntoViewIfNeeded();
    await shot('70-audit-log');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-audit').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('an admin makes an API key, sees it once, an integration uses it, and revoking stops it', { timeout: 90_000 }, async () => {
  const { context, page, pageErrors, shot } = await newPage({ width: 1360, height: 900 });
  try {
    await logIn(page);
    await page.getByTestId('nav-settings').click();
    const keys = page.getByTestId('api-keys');
    await keys.getByTestId('api-key-name').fill('E2E accounting');
    await keys.getByTestId('api-key-role').selectOption('viewer');
    await keys.getByTestId('api-key-create').click();
    const value = await keys.getByTestId('api-key-value').inputValue();
    assert.match(value, /^opk_[0-9a-f]{64}$/);
    await shot('71-api-key-made');
    // The integration: a plain HTTP client with the key.
    const me = await apiCall('GET', '/me', { token: value });
    assert.equal(me.display_name, 'API key: E2E accounting');
    const row = keys.locator('[data-testid="api-key-row"]', { hasText: 'E2E accounting' });
    await waitForText(row.getByTestId('api-key-state'), /Until /, 'a year');
    // Shown once: after "Done" and a reload, only its prefix is on the page.
    await keys.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    await page.getByTestId('api-key-list').waitFor();
    assert.equal(await page.getByTestId('api-key-value').count(), 0);
    assert.ok(!(await page.content()).includes(value.slice(12)), 'the key is not on the page again');
    page.once('dialog', (d) => d.accept());
    await page.locator('[data-testid="api-key-row"]', { hasText: 'E2E accounting' }).getByTestId('api-key-revoke').click();
    await waitForText(page.locator('[data-testid="api-key-row"]', { hasText: 'E2E accounting' }).getByTestId('api-key-state'), /^Revoked /, 'revoked');
    const refused = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${value}` } });
    assert.equal(refused.status, 401);
    assert.match((await refused.json()).message, /was revoked/);
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await shot('failure-api-keys').catch(() => {});
    throw e;
  } finally {
    await context.close().catch(() => {});
  }
});

test('a person ends their session on another browser from Settings and that browser is logged out', { timeout: 90_000 }, async () => {
  const first = await newPage();
  const second = await newPage();
  try {
    await logIn(first.page);
    await logIn(second.page);
    await first.page.getByTestId('nav-settings').click();
    const mine = first.page.getByTestId('my-sessions');
    await mine.getByTestId('my-session').nth(1).waitFor();
    const rows = await mine.getByTestId('my-session').count();
    assert.ok(rows >= 2, `both browsers listed (${rows})`);
    await waitForText(mine.locator('[data-testid="my-session"]', { hasText: '(this one)' }), /Chrome|Mozilla/, 'the device named');
    // End every other session; the second browser's next request is refused and it shows the login.
    while ((await mine.getByTestId('my-session-end').count()) > 0) {
      await mine.getByTestId('my-session-end').first().click();
      await sleep(300);
    }
    await first.shot('72-my-sessions');
    await second.page.getByTestId('nav-clients').click();
    await second.page.getByTestId('login-username').waitFor({ timeout: 20_000 });
    assert.deepEqual(first.pageErrors, [], 'no uncaught errors in the page');
  } catch (e) {
    await first.shot('failure-sessions').catch(() => {});
    throw e;
  } finally {
    await first.context.close().catch(() => {});
    await second.context.close().catch(() => {});
  }
});
