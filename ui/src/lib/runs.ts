// Words and small helpers for remote scripts, shared by the Scripts page, the endpoint page
// and the run dialog.
import type { Run, RunState, ScriptOs } from './types';

export const RUN_STATE_LABEL: Record<RunState, string> = {
  awaiting_approval: 'Waiting for a second technician',
  scheduled: 'Signed ahead for its time',
  standby: 'Signed ahead for an alert',
  waiting: 'Waiting for the endpoint',
  running: 'Running',
  finished: 'Finished',
  refused: 'Refused by the agent',
  expired: 'Expired before it could run',
  cancelled: 'Cancelled',
};

export const OS_LABEL: Record<ScriptOs, string> = {
  linux: 'Linux',
  macos: 'macOS',
  windows: 'Windows',
  any: 'Any OS',
};

/** Whether a run is still moving (its page keeps asking for news). */
export function live(r: Run): boolean {
  return r.state === 'waiting' || r.state === 'running' || r.state === 'awaiting_approval';
}

/** A run's outcome in a few words: exit code, timeout, refusal. */
export function outcome(r: Run): string {
  if (r.state === 'refused') return `refused: ${r.refusal_code ?? ''}`;
  if (r.outcome === 'timed_out') return 'timed out';
  if (r.outcome === 'cancelled') return 'cancelled';
  if (r.outcome === 'failed') return 'could not start';
  if (r.exit_code !== null) return `exit ${r.exit_code}`;
  return RUN_STATE_LABEL[r.state].toLowerCase();
}

/** Did it go wrong (a candidate for "run again")? */
export function failed(r: Run): boolean {
  return (
    r.state === 'refused' ||
    r.state === 'expired' ||
    r.outcome === 'timed_out' ||
    r.outcome === 'failed' ||
    (r.exit_code !== null && r.exit_code !== 0)
  );
}

/** Whether a script fits an endpoint by the OS it reports. */
export function fits(os: ScriptOs, endpointOs: string): boolean {
  const e = endpointOs.toLowerCase();
  const win = e.includes('windows');
  const mac = e.includes('mac') || e.includes('darwin');
  if (os === 'any') return true;
  if (os === 'windows') return win;
  if (os === 'macos') return mac;
  return !win && !mac;
}

export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** A line diff (longest common subsequence) between two versions of a script. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // Scripts are small (at most 256 KiB); past a few thousand lines show them whole.
  if (a.length * b.length > 4_000_000) {
    return [...a.map((text) => ({ kind: 'removed' as const, text })), ...b.map((text) => ({ kind: 'added' as const, text }))];
  }
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ kind: 'removed', text: a[i++] });
    } else {
      out.push({ kind: 'added', text: b[j++] });
    }
  }
  while (i < a.length) out.push({ kind: 'removed', text: a[i++] });
  while (j < b.length) out.push({ kind: 'added', text: b[j++] });
  return out;
}
