// Desktop cold start to a rendered queue, and the memory of all the app's processes, under
// Xvfb. Prints figures; asserts nothing about time. Run by `cargo xtask bench`.
import { Session, desktopMemoryMb, sleep, startDriver } from './webdriver.mjs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const home = mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-'));
const dataDir = path.join(home, 'data');

// First start: the wizard with demo data, so later starts open straight on the queue.
{
  const d = await startDriver({ home, dataDir });
  const s = await Session.open(d.url, d.app);
  await s.type('[data-testid="setup-username"]', 'ada');
  await s.type('[data-testid="setup-display-name"]', 'Ada Admin');
  await s.type('[data-testid="setup-password"]', 'correct horse');
  await s.click('[data-testid="setup-submit"]');
  await s.waitFor('[data-testid="queue-row"]', 60000);
  await s.close();
  await d.stop();
  await sleep(1000);
}

const starts = [];
let memory;
for (let run = 0; run < 3; run++) {
  const d = await startDriver({ home, dataDir });
  const t0 = performance.now();
  const s = await Session.open(d.url, d.app);
  await s.waitFor('[data-testid="queue-row"]', 60000);
  starts.push(performance.now() - t0);
  await sleep(2000); // let the page settle before reading memory
  memory = desktopMemoryMb(d.app);
  await s.close();
  await d.stop();
  await sleep(1000);
}
starts.sort((a, b) => a - b);
console.log(`desktop cold start to rendered queue (3 runs, debug build): ${starts.map((t) => `${(t / 1000).toFixed(2)} s`).join(', ')}`);
console.log(`desktop memory (RSS, all processes): ${memory.total.toFixed(0)} MB  ` +
  Object.entries(memory.parts).map(([k, v]) => `${k} ${v.toFixed(0)} MB`).join(', '));
