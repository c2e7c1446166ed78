// Offline-first, end to end: the real desktop window connects to a real outpost-server over
// HTTPS (its self-signed certificate, whose fingerprint the console shows and pins), works
// while the server is down ("1 change waiting"), and once the server is back the change is
// synced and visible in a second console (the server's web console in Chromium).
// Needs a Secret Service for the keyring: `cargo xtask test` runs it under dbus-run-session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Session, freePort, sleep, startDriver } from './webdriver.mjs';

const require = createRequire(path.resolve('ui/package.json'));
const { chromium } = require('playwright-core');

function serverBin() {
  const bin = process.env.OUTPOST_SERVER_BIN;
  if (!bin) throw new Error('set OUTPOST_SERVER_BIN (cargo xtask test does)');
  return bin;
}

// The server's own certificate is the only one this test trusts (it is self-signed).
let serverCa = null;

/** A request to the server over HTTPS, trusting only its certificate. */
function request(port, method, route, token, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/v1${route}`,
        method,
        ca: serverCa,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

/** Starts the server with its self-signed certificate; returns it and the fingerprint it printed. */
async function startServer(dataDir, port) {
  const proc = spawn(serverBin(), ['serve', '--self-signed', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let out = '';
  proc.stderr.on('data', (d) => { log += d; });
  proc.stdout.on('data', (d) => { out += d; });
  const deadline = Date.now() + 20000;
  for (;;) {
    const printed = /certificate SHA-256 fingerprint: ([0-9A-F:]+)/.exec(out);
    if (printed) {
      serverCa = readFileSync(path.join(dataDir, 'tls', 'server-cert.pem'));
      try {
        if ((await request(port, 'GET', '/health')).status === 200) return { proc, fingerprint: printed[1] };
      } catch { /* not up yet */ }
    }
    if (Date.now() > deadline) throw new Error(`server did not start: ${out}${log}`);
    await sleep(100);
  }
}

/** Any request with a raw body; the answer's bytes. */
function rawRequest(port, method, route, token, contentType, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/v1${route}`,
        method,
        ca: serverCa,
        headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
        timeout: 10000,
      },
      (res) => {
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body) req.write(body);
    req.end();
  });
}

/** A file's bytes from the server, once they are there (a console sends them after its push). */
async function pollBytes(port, route, token, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await rawRequest(port, 'GET', route, token);
    if (r.status === 200) return r.body;
    if (Date.now() > deadline) throw new Error(`GET ${route}: ${r.status} ${r.body}`);
    await sleep(500);
  }
}

async function stopServer(proc) {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

async function api(port, method, route, token, body) {
  const r = await request(port, method, route, token, body);
  let json = null;
  try {
    json = JSON.parse(r.text);
  } catch { /* not JSON */ }
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${route}: ${r.status} ${r.text}`);
  return json;
}

async function shot(session, name) {
  const dir = process.env.OUTPOST_SHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.png`), await session.screenshot());
}

async function waitForState(session, wanted, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await session.exec(
      'const e = document.querySelector(\'[data-testid="sync-state"]\'); return e ? [e.dataset.state, e.innerText] : null;');
    if (state && wanted.includes(state[0])) return state;
    if (Date.now() > deadline) throw new Error(`sync state stayed ${JSON.stringify(state)}, wanted ${wanted}`);
    await sleep(250);
  }
}

test('offline edit reaches the server and a second console', { timeout: 240000 }, async () => {
  const serverDir = mkdtempSync(path.join(os.tmpdir(), 'outpost-sync-server-'));
  const created = spawnSync(serverBin(), ['admin', 'create-user', '--data-dir', serverDir, '--username', 'tech',
    '--role', 'admin', '--password-stdin'], { input: 'server-pass-1\n' });
  assert.equal(created.status, 0, String(created.stderr));
  const port = await freePort();
  let { proc: server, fingerprint } = await startServer(serverDir, port);
  const { token } = await api(port, 'POST', '/auth/login', null, { username: 'tech', password: 'server-pass-1' });
  const harbour = await api(port, 'POST', '/clients', token, { name: 'Harbour Dental' });

  // An endpoint of the client: the real agent, enrolled over HTTPS with the certificate pinned.
  const agentBin = path.join(path.dirname(serverBin()), 'outpost-agent');
  const agentDir = mkdtempSync(path.join(os.tmpdir(), 'outpost-sync-agent-'));
  const enrollment = await api(port, 'POST', '/enrollment-tokens', token,
    { client_id: harbour.id, expires_in_hours: 1, max_uses: 1 });
  const agentEnv = { ...process.env, OUTPOST_AGENT_MACHINE_ID: 'desktop-e2e-pc', OUTPOST_AGENT_HOSTNAME: 'HD-FRONTDESK',
    OUTPOST_AGENT_SAMPLE_SECS: '1', OUTPOST_AGENT_JITTER_SECS: '1', OUTPOST_AGENT_BACKOFF_CAP_SECS: '2' };
  const enrolled = spawnSync(agentBin, ['enroll', '--server', `https://127.0.0.1:${port}`, '--token', enrollment.token,
    '--fingerprint', fingerprint, '--state-dir', agentDir], { env: agentEnv, encoding: 'utf8' });
  assert.equal(enrolled.status, 0, `${enrolled.stdout}${enrolled.stderr}`);
  const agent = spawn(agentBin, ['run', '--state-dir', agentDir, '--heartbeat-secs', '2'], { env: agentEnv, stdio: 'ignore' });

  const driver = await startDriver();
  let session;
  let browser;
  try {
    session = await Session.open(driver.url, driver.app);
    // A fresh standalone console: its admin, no demo data.
    await session.type('[data-testid="setup-username"]', 'field');
    await session.type('[data-testid="setup-display-name"]', 'Field Tech');
    await session.type('[data-testid="setup-password"]', 'local-pass-1');
    if (await session.exec('return document.querySelector(\'[data-testid="setup-demo"]\')?.checked === true;')) {
      await session.click('[data-testid="setup-demo"]');
    }
    await session.click('[data-testid="setup-submit"]');
    await session.waitFor('[data-testid="queue-empty"], [data-testid="queue"]', 30000);
    assert.deepEqual((await waitForState(session, ['standalone']))[0], 'standalone');

    // Settings: preview, then connect and upload.
    await session.click('[data-testid="nav-settings"]');
    await session.type('[data-testid="connect-url"]', `https://127.0.0.1:${port}`);
    await session.type('[data-testid="connect-username"]', 'tech');
    await session.type('[data-testid="connect-password"]', 'server-pass-1');
    await session.click('[data-testid="connect-preview"]');
    const preview = await session.text('[data-testid="connect-preview-text"]');
    assert.match(preview, /Will upload/);
    // The certificate shown before trusting it is the one the server printed.
    assert.equal((await session.text('[data-testid="connect-fingerprint"]')).trim(), fingerprint);
    await shot(session, 'sync-certificate');
    await session.click('[data-testid="connect-submit"]');
    await waitForState(session, ['synced'], 60000);
    await session.waitFor('[data-testid="connection-certificate"]');
    assert.match(await session.text('[data-testid="connection-certificate"]'), new RegExp(fingerprint));
    await shot(session, 'sync-connected');

    // The endpoint after a sync, with its history fetched from the server.
    const rowSelector = '[data-testid="asset-row"]';
    await session.click('[data-testid="nav-fleet"]');
    const seenRow = async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await session.exec(
          `return [...document.querySelectorAll('${rowSelector}')].some((r) => r.textContent.includes('HD-FRONTDESK'));`);
        if (found) return;
        if (Date.now() > deadline) throw new Error('the endpoint did not reach the desktop console');
        await sleep(500);
      }
    };
    await seenRow(90000);
    await session.exec(`[...document.querySelectorAll('${rowSelector}')].find((r) => r.textContent.includes('HD-FRONTDESK')).click();`);
    const cpuPoints = async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const n = await session.exec(
          'const i = document.querySelector(\'[data-testid="endpoint-charts"] img[data-series="cpu"]\'); return i ? Number(i.dataset.points) : -1;');
        if (n > 0) return n;
        if (Date.now() > deadline) throw new Error(`no CPU history in the desktop chart (${n})`);
        await session.exec('document.querySelector(\'[data-testid="chart-range-hour"]\')?.click();');
        await sleep(1000);
      }
    };
    await cpuPoints(60000);
    await shot(session, 'sync-endpoint');

    // Script signing: the admin makes the organisation's root here (its private key goes to
    // the OS keyring, a recovery file is written), certifies their own key, then signs a
    // library script for the endpoint and watches its output arrive.
    await session.click('[data-testid="nav-settings"]');
    await session.waitFor('[data-testid="signing-setup"]', 20000);
    await session.type('[data-testid="signing-passphrase"]', 'a long recovery passphrase');
    await session.type('[data-testid="signing-passphrase-again"]', 'a long recovery passphrase');
    await session.click('[data-testid="signing-setup"]');
    await session.waitFor('[data-testid="signing-recovery"]', 30000);
    assert.match(await session.text('[data-testid="signing-certificate"]'), /valid until/);
    const recovery = await session.text('[data-testid="signing-recovery"] code');
    assert.ok(existsSync(recovery.trim()), `the recovery file ${recovery} exists`);
    const trust = await api(port, 'GET', '/trust', token);
    assert.equal((await session.text('[data-testid="signing-root"]')).trim(), trust.root.fingerprint);
    await shot(session, 'signing-settings');

    // The admin rotates the root at once (say the recovery file went astray): a new root
    // here, the hand-over signed by the old one, their own key certified again. The agent
    // follows, so the run below is signed and run under the new root.
    await session.click('[data-testid="signing-rotate-open"]');
    await session.type('[data-testid="signing-rotate-passphrase"]', 'another long passphrase');
    await session.type('[data-testid="signing-rotate-again"]', 'another long passphrase');
    await session.click('[data-testid="signing-rotate"]');
    const rotatedDeadline = Date.now() + 30000;
    for (;;) {
      const now = await api(port, 'GET', '/trust', token);
      const shown = (await session.text('[data-testid="signing-root"]')).trim();
      // The server has the new root, and the settings show it once the rotation is done.
      if (now.root.fingerprint !== trust.root.fingerprint && shown === now.root.fingerprint) {
        assert.equal(now.revocation_seq, 1, "the new root's first revocation list");
        break;
      }
      if (Date.now() > rotatedDeadline) throw new Error('the root was not rotated');
      await sleep(500);
    }
    assert.match(await session.text('[data-testid="signing-certificate"]'), /valid until/);

    await session.click('[data-testid="nav-fleet"]');
    await seenRow(30000);
    await session.exec(`[...document.querySelectorAll('${rowSelector}')].find((r) => r.textContent.includes('HD-FRONTDESK')).click();`);
    await session.click('[data-testid="asset-tab-scripts"]');
    await session.click('[data-testid="endpoint-run-script"]');
    await session.waitFor('[data-testid="run-script"] option', 20000);
    const chose = await session.exec(`
      const s = document.querySelector('[data-testid="run-script"]');
      const o = [...s.options].find((x) => x.textContent.startsWith('Flush DNS cache (Linux)'));
      if (!o) return false;
      s.value = o.value;
      s.dispatchEvent(new Event('change', { bubbles: true }));
      return true;`);
    assert.ok(chose, 'the Linux DNS script is offered for a Linux endpoint');
    const deadline = Date.now() + 20000;
    while (await session.exec('return document.querySelector(\'[data-testid="run-sign"]\')?.disabled !== false;')) {
      if (Date.now() > deadline) throw new Error('the sign button never became usable');
      await sleep(300);
    }
    await session.click('[data-testid="run-sign"]');
    await session.waitFor('[data-testid="run-view"]', 30000);
    const runDeadline = Date.now() + 60000;
    for (;;) {
      const state = await session.exec('return document.querySelector(\'[data-testid="run-view"]\')?.dataset.state;');
      if (state === 'finished') break;
      if (state === 'refused' || Date.now() > runDeadline) {
        throw new Error(`the signed run did not finish (${state}): ${await session.text('[data-testid="run-view"]')}`);
      }
      await sleep(500);
    }
    assert.match(await session.text('[data-testid="run-stdout"]'), /DNS|dnsmasq|nscd/);
    assert.match(await session.text('[data-testid="run-outcome"]'), /exit 0/);
    await shot(session, 'run-output');
    // Runs sync back to the console: one more round brings the run's end here.
    await session.click('[data-testid="sync-state"]');
    await session.click('[data-testid="sync-now"]');
    await waitForState(session, ['synced'], 30000);
    await session.click('[data-testid="sync-state"]');

    // An automation signed here: every minute on the client's endpoints. The current
    // minute's time is due at once, so its first run starts within seconds.
    await session.click('[data-testid="nav-scripts"]');
    await session.click('[data-testid="scripts-automations-tab"]');
    await session.click('[data-testid="automation-new"]');
    await session.waitFor('[data-testid="run-script"] option', 20000);
    await session.exec(`
      const set = (sel, value, event) => {
        const e = document.querySelector(sel);
        e.value = value;
        e.dispatchEvent(new Event(event, { bubbles: true }));
      };
      const s = document.querySelector('[data-testid="run-script"]');
      set('[data-testid="run-script"]', [...s.options].find((x) => x.textContent.startsWith('Flush DNS cache (Linux)')).value, 'change');
      set('[data-testid="automation-name"]', 'DNS every minute', 'input');
      set('[data-testid="automation-cron"]', '* * * * *', 'input');
      set('[data-testid="automation-zone"]', 'UTC', 'input');
      const c = document.querySelector('[data-testid="run-client"]');
      set('[data-testid="run-client"]', [...c.options].find((o) => o.textContent.includes('Harbour Dental')).value, 'change');`);
    await session.waitFor('[data-testid="automation-preview"]', 20000);
    const autoDeadline = Date.now() + 20000;
    while (await session.exec('return document.querySelector(\'[data-testid="run-sign"]\')?.disabled !== false;')) {
      if (Date.now() > autoDeadline) throw new Error('the automation could not be signed');
      await sleep(300);
    }
    await session.click('[data-testid="run-sign"]');
    await session.waitFor('[data-testid="automation-detail"]', 60000);
    const automations = await api(port, 'GET', '/automations', token);
    assert.equal(automations.length, 1);
    assert.equal(automations[0].trigger, 'schedule');
    const firstDeadline = Date.now() + 60000;
    while ((await api(port, 'GET', `/runs?automation_id=${automations[0].id}&state=finished`, token)).total < 1) {
      if (Date.now() > firstDeadline) throw new Error('the automation\'s first run did not finish');
      await sleep(1000);
    }
    // Its page, opened again from the list, counts it.
    await session.click('[data-testid="scripts-automations-tab"]');
    await session.waitFor('[data-testid="automation-row"] a', 20000);
    await session.click('[data-testid="automation-row"] a');
    await session.waitFor('[data-testid="automation-counts"]', 20000);
    assert.match(await session.text('[data-testid="automation-counts"]'), /[12] started, 0 failed/);
    await shot(session, 'automation-desktop');
    // Cancelled here through the API: the rest of this test counts one-off runs.
    await api(port, 'POST', `/automations/${automations[0].id}/cancel`, token);

    // The server goes away; a ticket is created offline.
    await stopServer(server);
    server = null;
    const title = `Offline fix ${Date.now()}: replace UPS battery`;
    await session.click('[data-testid="nav-tickets"]');
    await session.click('[data-testid="new-ticket-button"]');
    await session.type('[data-testid="ticket-title-input"]', title);
    await session.waitFor('[data-testid="ticket-client-select"] option:nth-child(2)');
    await session.exec(`
      const s = document.querySelector('[data-testid="ticket-client-select"]');
      s.value = [...s.options].find((o) => o.textContent.includes('Harbour Dental')).value;
      s.dispatchEvent(new Event('change', { bubbles: true }));`);
    await session.click('[data-testid="ticket-create-submit"]');
    const [, waiting] = await waitForState(session, ['pending', 'offline'], 30000);
    assert.match(waiting, /1 change waiting/);
    await shot(session, 'sync-offline');

    // Offline, a photo of the site attached to the new ticket (the file picker's files): it
    // previews from this console's own store at once.
    const offlineTicketId = /tickets\/([0-9a-f-]{36})/.exec(await session.exec('return location.hash;'))[1];
    await session.waitFor('[data-testid="attach-input"]');
    await session.exec(`
      const c = document.createElement('canvas');
      c.width = 200;
      c.height = 80;
      const g = c.getContext('2d');
      g.fillStyle = '#8a1c1c';
      g.fillRect(0, 0, 200, 80);
      g.fillStyle = '#fff';
      g.font = 'bold 18px sans-serif';
      g.fillText('UPS FAULT 04', 30, 45);
      const bin = atob(c.toDataURL('image/png').split(',')[1]);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'ups-panel.png', { type: 'image/png' }));
      const input = document.querySelector('[data-testid="attach-input"]');
      input.files = dt.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));`);
    const previewWidth = async (name, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const w = await session.exec(`
          const a = [...document.querySelectorAll('[data-testid="ticket-files"] [data-testid="attachment"]')]
            .find((x) => x.dataset.name === ${JSON.stringify(name)});
          const i = a?.querySelector('[data-testid="attachment-preview"]');
          return i && i.complete ? i.naturalWidth : 0;`);
        if (w > 0) return w;
        if (Date.now() > deadline) {
          throw new Error(`${name} did not preview: ${await session.exec('return document.querySelector(\'[data-testid="ticket-files"]\')?.innerText;')}`);
        }
        await sleep(300);
      }
    };
    assert.equal(await previewWidth('ups-panel.png', 20000), 200);
    await shot(session, 'attachment-offline');

    // Offline, the fleet is still there, as of the last sync, charts from what was fetched.
    await waitForState(session, ['offline'], 30000);
    await session.click('[data-testid="nav-fleet"]');
    await seenRow(15000);
    assert.match(await session.text('[data-testid="fleet-as-of"]'), /Offline: the fleet as of the last sync/);
    await session.exec(`[...document.querySelectorAll('${rowSelector}')].find((r) => r.textContent.includes('HD-FRONTDESK')).click();`);
    await session.waitFor('[data-testid="endpoint-as-of"]');
    assert.match(await session.text('[data-testid="endpoint-as-of"]'), /Offline: as of the last sync/);
    await cpuPoints(15000);
    await shot(session, 'sync-endpoint-offline');

    // Offline, a run is signed here: it waits on this console and goes at the next sync.
    await session.click('[data-testid="asset-tab-scripts"]');
    await session.click('[data-testid="endpoint-run-script"]');
    await session.waitFor('[data-testid="run-script"] option', 20000);
    await session.exec(`
      const s = document.querySelector('[data-testid="run-script"]');
      s.value = [...s.options].find((x) => x.textContent.startsWith('Flush DNS cache (Linux)')).value;
      s.dispatchEvent(new Event('change', { bubbles: true }));`);
    const offlineDeadline = Date.now() + 20000;
    while (await session.exec('return document.querySelector(\'[data-testid="run-sign"]\')?.disabled !== false;')) {
      if (Date.now() > offlineDeadline) throw new Error('offline, the sign button never became usable');
      await sleep(300);
    }
    await session.click('[data-testid="run-sign"]');
    const toastDeadline = Date.now() + 20000;
    while (!(await session.exec('return document.body.innerText.includes("Offline: the runs go to the server at the next sync");'))) {
      if (Date.now() > toastDeadline) throw new Error(`no offline signing: ${await session.exec('return document.body.innerText.slice(0, 2000);')}`);
      await sleep(300);
    }
    // The Runs grid, offline, shows the first run as the last sync brought it.
    await session.exec('document.querySelector(\'[data-testid="run-dialog"] button.btn\')?.click();');
    await session.click('[data-testid="nav-scripts"]');
    await session.click('[data-testid="scripts-runs-tab"]');
    await session.waitFor('[data-testid="run-row"][data-state="finished"]', 20000);
    await shot(session, 'runs-offline');

    // The server is back: the change goes out by itself.
    ({ proc: server } = await startServer(serverDir, port));
    await waitForState(session, ['synced'], 60000);
    // The run signed offline went with the sync, and the agent ran it.
    const bothDeadline = Date.now() + 90000;
    for (;;) {
      const runs = (await api(port, 'GET', '/runs', token)).items.filter((r) => !r.automation_id);
      if (runs.length === 2 && runs.every((r) => r.state === 'finished')) break;
      if (Date.now() > bothDeadline) throw new Error(`the offline run did not run: ${JSON.stringify(runs.map((r) => r.state))}`);
      await sleep(1000);
    }

    // The photo attached offline reached the server, bytes and all, after its row.
    const served = await pollBytes(port, `/attachments/${(await api(port, 'GET', `/tickets/${offlineTicketId}`, token)).attachments[0].id}`, token);
    assert.deepEqual([...served.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
    // A file attached on the server: its row comes with the next sync, its bytes when opened here.
    const sitePhoto = readFileSync('docs/notifications.png');
    const boundary = 'outpost-desktop-test-boundary';
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="site-photo.png"\r\nContent-Type: image/png\r\n\r\n`),
      sitePhoto,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await rawRequest(port, 'POST', `/tickets/${offlineTicketId}/attachments`, token, `multipart/form-data; boundary=${boundary}`, form);
    assert.equal(up.status, 201, up.body.toString());
    // Its row arrives with a sync round; the ticket is opened again until it shows.
    const rowDeadline = Date.now() + 45000;
    for (;;) {
      await session.exec(`location.hash = '#/tickets/${offlineTicketId}';`);
      await session.waitFor('[data-testid="ticket-files"]', 20000);
      await sleep(500);
      const listed = await session.exec(
        'return [...document.querySelectorAll(\'[data-testid="ticket-files"] [data-testid="attachment"]\')].some((a) => a.dataset.name === "site-photo.png");');
      if (listed) break;
      if (Date.now() > rowDeadline) throw new Error('the file attached on the server never reached the console');
      await session.exec('document.querySelector(\'[data-testid="nav-tickets"]\')?.click();');
      await sleep(2000);
    }
    assert.ok((await previewWidth('site-photo.png', 30000)) > 100, 'fetched from the server and shown');
    await shot(session, 'attachment-fetched');

    // A second console: the server's web console in a browser finds the ticket.
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    // The browser has no way to know the self-signed certificate; this test already checked it.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`https://127.0.0.1:${port}/`);
    await page.getByTestId('login-username').fill('tech');
    await page.getByTestId('login-password').fill('server-pass-1');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('search-input').fill('UPS battery');
    await page.getByTestId('search-input').press('Enter');
    await page.locator('[data-testid="queue-row"]', { hasText: 'Offline fix' }).first().waitFor({ timeout: 15000 });
  } catch (e) {
    // What the app and the drivers printed (a panic, a crashed web process) says why.
    console.error(`--- tauri-driver and app output (last 4000 characters) ---\n${driver.log().slice(-4000)}`);
    throw e;
  } finally {
    if (browser) await browser.close();
    if (session) await session.close();
    await driver.stop();
    if (server) await stopServer(server);
    agent.kill('SIGKILL');
  }
});
