// What the sync state means for a person: the top bar's words and colour, and the texts the
// Connection settings and the popover share.

import type { SyncStatus } from './types';
import type { ConnectPreview } from './types';

export type SyncState = 'standalone' | 'synced' | 'pending' | 'offline' | 'error';

export interface SyncView {
  state: SyncState;
  /** Short text for the top bar. */
  label: string;
  /** One sentence for the tooltip. */
  title: string;
}

const count = new Intl.NumberFormat('en-US');

/** "1 change waiting", "3 changes waiting". */
export function changesWaiting(n: number): string {
  return `${count.format(n)} ${n === 1 ? 'change' : 'changes'} waiting`;
}

/** "1 client", "2,950 changes"; `plural` defaults to word + "s". */
export function counted(n: number, word: string, plural = `${word}s`): string {
  return `${count.format(n)} ${n === 1 ? word : plural}`;
}

/** The sync error as a sentence: "Sync failed: the server cannot be reached (offline?)." */
export function errorSentence(error: string): string {
  const t = error.trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(s) ? s : `${s}.`;
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "4 d ago"; "never" without a time. */
export function sinceShort(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** The top bar's reading of a status (desktop app). */
export function syncView(s: SyncStatus, now: number): SyncView {
  if (!s.server_url) {
    return {
      state: 'standalone',
      label: 'Standalone',
      title: 'This desktop app works on its own store; connect it to a server in Settings',
    };
  }
  if (s.last_error) {
    if (s.offline) {
      return {
        state: 'offline',
        label: s.pending > 0 ? `Offline · ${changesWaiting(s.pending)}` : 'Offline',
        title: `${errorSentence(s.last_error)} Your work is saved on this machine and is sent when the server can be reached again.`,
      };
    }
    return { state: 'error', label: 'Sync error', title: errorSentence(s.last_error) };
  }
  if (s.pending > 0) {
    return {
      state: 'pending',
      label: changesWaiting(s.pending),
      title: `Saved on this machine; being sent to ${s.server_url}`,
    };
  }
  if (s.to_fetch > 0) {
    return {
      state: 'pending',
      label: `Fetching ${counted(s.to_fetch, 'item')}`,
      title: `Catching up with ${s.server_url}: ${counted(s.to_fetch, 'item')} left to fetch`,
    };
  }
  if (!s.last_sync_at) {
    return { state: 'pending', label: 'Not synced yet', title: `Waiting for the first sync with ${s.server_url}` };
  }
  return {
    state: 'synced',
    label: `Synced · ${sinceShort(s.last_sync_at, now)}`,
    title: `Everything on this machine is on ${s.server_url}`,
  };
}

/** "Will upload 5 clients, 300 tickets, 812 comments and 410 time entries (2,950 changes)." */
export function previewSentence(p: ConnectPreview): string {
  if (p.changes === 0) {
    return 'Nothing to upload: this machine has no data of its own yet. Connecting downloads your team’s data from the server.';
  }
  return (
    `Will upload ${counted(p.clients, 'client')}, ${counted(p.tickets, 'ticket')}, ` +
    `${counted(p.comments, 'comment')} and ${counted(p.time_entries, 'time entry', 'time entries')} ` +
    `(${counted(p.changes, 'change')}).`
  );
}
