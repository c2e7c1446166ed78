// Display helpers: labels, durations and times (stored UTC, shown in local time).

import type { AssetKind, Priority, Role, SlaState, Ticket, TicketSla, TicketStatus } from './types';

export const STATUSES: TicketStatus[] = [
  'new',
  'open',
  'in_progress',
  'waiting_on_client',
  'resolved',
  'closed',
];

export const PRIORITIES: Priority[] = ['critical', 'high', 'normal', 'low'];

export const SLA_STATES: SlaState[] = ['breached', 'at_risk', 'on_track', 'paused', 'met', 'none'];

export const STATUS_LABEL: Record<TicketStatus, string> = {
  new: 'New',
  open: 'Open',
  in_progress: 'In progress',
  waiting_on_client: 'Waiting on client',
  resolved: 'Resolved',
  closed: 'Closed',
};

export const PRIORITY_LABEL: Record<Priority, string> = {
  low: 'Low',
  normal: 'Normal',
  high: 'High',
  critical: 'Critical',
};

export const SLA_LABEL: Record<SlaState, string> = {
  none: 'No SLA',
  on_track: 'On track',
  at_risk: 'At risk',
  breached: 'Breached',
  paused: 'Paused',
  met: 'Met',
};

export const ROLE_LABEL: Record<Role, string> = {
  admin: 'Admin',
  technician: 'Technician',
  viewer: 'Viewer',
};

/** Asset kinds in the order the console offers them. */
export const ASSET_KINDS: AssetKind[] = ['workstation', 'laptop', 'server', 'network', 'printer', 'mobile', 'other'];

export const ASSET_KIND_LABEL: Record<AssetKind, string> = {
  workstation: 'Workstation',
  laptop: 'Laptop',
  server: 'Server',
  network: 'Network device',
  printer: 'Printer',
  mobile: 'Mobile',
  other: 'Other',
};

export const SORT_LABEL: Record<string, string> = {
  sla_due: 'SLA due',
  updated: 'Recently updated',
  created: 'Newest',
  priority: 'Priority',
  number: 'Number',
};

/** "1 h 30 min", "45 min", "2 h", "0 min". */
export function duration(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  const h = Math.floor(m / 60);
  const r = m % 60;
  if (h === 0) return `${r} min`;
  if (r === 0) return `${h} h`;
  return `${h} h ${r} min`;
}

/** "Time: 1 h 30 min (1 h billable)". */
export function timeTotals(t: Pick<Ticket, 'total_minutes' | 'billable_minutes'>): string {
  return `Time: ${duration(t.total_minutes)} (${duration(t.billable_minutes)} billable)`;
}

/** A span of time in its largest sensible unit: "5 min", "3 h", "2 d". */
export function span(ms: number): string {
  const min = Math.round(Math.abs(ms) / 60000);
  if (min < 1) return 'less than a minute';
  if (min < 60) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayMonth = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** Full local date and time, for tooltips and detail fields. */
export function localTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/** "just now", "5 min ago", "3 h ago", then a date. */
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const diff = now - t;
  // The shared clock ticks every 30 s, so something made a moment ago can look "in the future".
  if (diff < 60000 && diff > -120000) return 'just now';
  if (diff < 0) return `in ${span(diff)}`;
  if (diff < 48 * 3600000) return `${span(diff)} ago`;
  const d = new Date(t);
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return sameYear ? dayMonth.format(d) : dateTime.format(d);
}

/** "due in 2 h" or "overdue 3 h". */
export function dueText(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const diff = t - now;
  if (diff >= 0) return `due in ${span(diff)}`;
  return `overdue ${span(diff)}`;
}

/** Short local time for today, a date otherwise. */
export function shortTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const n = new Date(now);
  return d.toDateString() === n.toDateString() ? timeOnly.format(d) : dayMonth.format(d);
}

/** The SLA target that matters next: first response until answered, then resolution. */
export function nextDue(sla: TicketSla): string | null {
  if (!sla.first_response_at && sla.first_response_due) return sla.first_response_due;
  return sla.resolution_due;
}

/** "HH:MM" from minutes after midnight. */
export function hhmm(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

/** Minutes after midnight from "HH:MM", or null. */
export function parseHhmm(s: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min !== 0)) return null;
  return h * 60 + min;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
  return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
}

/** Tags typed as "a, b c" → ["a", "b c"]. */
export function splitTags(s: string): string[] {
  return s
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}
