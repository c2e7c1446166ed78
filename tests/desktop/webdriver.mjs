// A minimal W3C WebDriver client over fetch, for driving the real Outpost desktop window
// through tauri-driver (which forwards to WebKitWebDriver). No dependencies.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts tauri-driver with the app's data in a fresh folder; returns {url, dataDir, stop}. */
export async function startDriver({ dataDir, home } = {}) {
  const app = process.env.OUTPOST_DESKTOP_BIN;
  if (!app) throw new Error('set OUTPOST_DESKTOP_BIN to the built desktop binary (cargo xtask test does)');
  const driverBin = process.env.TAURI_DRIVER || 'tauri-driver';
  const tmp = home ?? mkdtempSync(path.join(os.tmpdir(), 'outpost-desktop-'));
  dataDir ??= path.join(tmp, 'data');
  const port = await freePort();
  const nativePort = await freePort();
  // Its own process group, and its output in a file: the app it starts must neither outlive
  // the test nor keep this process waiting on an inherited pipe.
  const logPath = path.join(tmp, 'tauri-driver.log');
  const logFd = openSync(logPath, 'a');
  const driver = spawn(
    driverBin,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
    {
      env: { ...process.env, HOME: tmp, XDG_DATA_HOME: path.join(tmp, 'xdg'), OUTPOST_DATA_DIR: dataDir },
      stdio: ['ignore', logFd, logFd],
      detached: true,
    },
  );
  closeSync(logFd);
  const log = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const r = await fetch(`${url}/status`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`tauri-driver did not start: ${log()}`);
    await sleep(100);
  }
  // tauri-driver first, so the app can close cleanly (and write its web storage); then
  // whatever of the group is left: WebKitWebDriver, the app.
  const stop = async () => {
    try { driver.kill('SIGTERM'); } catch { /* already gone */ }
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      try { process.kill(-driver.pid, 0); } catch { return; }
      await sleep(100);
    }
    try { process.kill(-driver.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  return { url, app, dataDir, home: tmp, stop, log };
}

export class Session {
  static async open(driverUrl, app) {
    const r = await fetch(`${driverUrl}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application: app } } } }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(`new session failed: ${JSON.stringify(body)}`);
    const s = new Session();
    s.base = `${driverUrl}/session/${body.value.sessionId}`;
    return s;
  }

  async cmd(method, route, payload) {
    const r = await fetch(`${this.base}${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`${method} ${route}: ${JSON.stringify(body.value ?? body)}`);
    return body.value;
  }

  async find(css) {
    const v = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return v[ELEMENT];
  }

  async findAll(css) {
    const v = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return v.map((e) => e[ELEMENT]);
  }

  /** Waits until `css` matches at least one element; returns the first. */
  async waitFor(css, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.findAll(css).catch(() => []);
      if (found.length) return found[0];
      if (Date.now() > deadline) {
        const text = await this.exec('return document.body ? document.body.innerText.slice(0, 2000) : "";').catch(() => '');
        throw new Error(`timed out waiting for ${css}; the page shows:\n${text}`);
      }
      await sleep(100);
    }
  }

  async click(css) { await this.cmd('POST', `/element/${await this.waitFor(css)}/click`, {}); }
  async type(css, text) { await this.cmd('POST', `/element/${await this.waitFor(css)}/value`, { text }); }
  async text(css) { return this.cmd('GET', `/element/${await this.waitFor(css)}/text`); }
  async exec(script, args = []) { return this.cmd('POST', '/execute/sync', { script, args }); }
  async screenshot() { return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64'); }
  async close() { await this.cmd('DELETE', '').catch(() => {}); }
}

/** Resident memory (MB) of the desktop app and its WebKit helper processes. */
export function desktopMemoryMb(appPath) {
  const names = new Set([path.basename(appPath).slice(0, 15), 'WebKitWebProces', 'WebKitNetworkPr', 'WebKitWebProcess', 'WebKitNetworkProcess']);
  const parts = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const name = /^Name:\s+(.*)$/m.exec(status)?.[1];
      const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
      if (name && rss && names.has(name)) parts[name] = (parts[name] ?? 0) + Number(rss) / 1024;
    } catch { /* process ended */ }
  }
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { total, parts };
}
