// The real desktop app in a real window (Xvfb), driven through tauri-driver + WebKitWebDriver:
// first-run wizard with demo data, the queue renders, a ticket created in the window lands
// in the SQLite file of the app's data folder, and a backup of it from Settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Session, startDriver } from './webdriver.mjs';

function sqlite(db, sql, ...params) {
  const py = 'import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(json.dumps(c.execute(sys.argv[2], sys.argv[3:]).fetchall()))';
  return JSON.parse(execFileSync('python3', ['-c', py, db, sql, ...params], { encoding: 'utf8' }));
}

test('desktop window: wizard, queue, and a new ticket stored in SQLite', { timeout: 180000 }, async () => {
  const driver = await startDriver();
  let session;
  try {
    session = await Session.open(driver.url, driver.app);
    // First run: the wizard creates the admin and loads the demo MSP.
    await session.type('[data-testid="setup-username"]', 'ada');
    await session.type('[data-testid="setup-display-name"]', 'Ada Admin');
    await session.type('[data-testid="setup-password"]', 'correct horse');
    const demoChecked = await session.exec(
      'return document.querySelector(\'[data-testid="setup-demo"]\').checked;');
    if (!demoChecked) await session.click('[data-testid="setup-demo"]');
    await session.click('[data-testid="setup-submit"]');

    // The queue renders with demo tickets.
    await session.waitFor('[data-testid="queue-row"]', 60000);
    const rows = await session.findAll('[data-testid="queue-row"]');
    assert.ok(rows.length > 5, `expected demo tickets in the queue, saw ${rows.length}`);
    const syncState = await session.text('[data-testid="sync-state"]');
    assert.match(syncState, /standalone/i);

    // Create a ticket through the window.
    const title = `Desk test ${Date.now()}: label printer offline`;
    await session.click('[data-testid="new-ticket-button"]');
    await session.type('[data-testid="ticket-title-input"]', title);
    await session.waitFor('[data-testid="ticket-client-select"] option:nth-child(2)');
    await session.exec(`
      const s = document.querySelector('[data-testid="ticket-client-select"]');
      s.value = s.options[1].value;
      s.dispatchEvent(new Event('change', { bubbles: true }));
      s.dispatchEvent(new Event('input', { bubbles: true }));`);
    await session.click('[data-testid="ticket-create-submit"]');
    await session.waitFor('[data-testid="detail-title"], [data-testid="detail-title-input"]', 20000);

    // It is in the SQLite file of the app's data folder.
    const db = path.join(driver.dataDir, 'outpost.db');
    assert.ok(existsSync(db), `no store at ${db}`);
    let stored = [];
    for (let i = 0; i < 50 && stored.length === 0; i++) {
      stored = sqlite(db, 'SELECT number, status FROM tickets WHERE title = ?', title);
      if (!stored.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(stored.length, 1, 'the new ticket is stored exactly once');
    assert.equal(stored[0][1], 'new');
    const demo = sqlite(db, 'SELECT count(*) FROM tickets')[0][0];
    assert.equal(demo, 301, 'demo tickets plus the new one');

    // Settings → Backup: a backup of this console's store lands in its backups folder, and
    // its manifest counts what the store holds.
    await session.click('[data-testid="nav-settings"]');
    await session.waitFor('[data-testid="console-backup-now"]', 20000);
    await session.click('[data-testid="console-backup-now"]');
    await session.waitFor('[data-testid="console-backup-file"]', 60000);
    const file = await session.text('[data-testid="console-backup-file"]');
    assert.ok(file.startsWith(path.join(driver.dataDir, 'backups')), file);
    assert.ok(existsSync(file), `no backup at ${file}`);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, 'manifest.json'], { encoding: 'utf8' }));
    assert.equal(manifest.tables.tickets, 301);
    assert.match(await session.text('[data-testid="console-backup-done"]'), /Backed up 301 tickets/);

    const shots = process.env.OUTPOST_SHOTS;
    if (shots) {
      mkdirSync(shots, { recursive: true });
      writeFileSync(path.join(shots, 'desktop-queue.png'), await session.screenshot());
    }
  } catch (e) {
    // What the app and the drivers printed (a panic, a crashed web process) says why.
    console.error(`--- tauri-driver and app output (last 4000 characters) ---\n${driver.log().slice(-4000)}`);
    throw e;
  } finally {
    if (session) await session.close();
    await driver.stop();
  }
});
