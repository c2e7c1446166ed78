// The ticket queue's filters live in the URL hash, so every filtered queue is a link
// (dashboard cards, "Tickets for this client", saved views, the back button).

import type { TicketQuery, TicketSort } from './types';

export const PAGE_SIZE = 50;

const SORTS: TicketSort[] = ['sla_due', 'updated', 'created', 'priority', 'number'];

/** Filter keys that can appear in the hash, in display order. */
export const FILTER_KEYS = [
  'q',
  'status',
  'priority',
  'client_id',
  'assignee',
  'tag',
  'sla',
  'due_today',
  'opened_on',
  'sort',
  'reverse',
] as const;

export type FilterKey = (typeof FILTER_KEYS)[number];

/** The query a set of hash params describes (without paging). */
export function queryFromParams(p: Record<string, string>): TicketQuery {
  const q: TicketQuery = {};
  if (p.q?.trim()) q.q = p.q.trim();
  if (p.status) q.status = p.status;
  if (p.priority) q.priority = p.priority;
  if (p.client_id) q.client_id = p.client_id;
  if (p.assignee) q.assignee = p.assignee;
  if (p.tag) q.tag = p.tag;
  if (p.sla) q.sla = p.sla;
  if (p.due_today === 'true') q.due_today = true;
  if (p.opened_on && /^\d{4}-\d{2}-\d{2}$/.test(p.opened_on)) q.opened_on = p.opened_on;
  if (p.sort && (SORTS as string[]).includes(p.sort)) q.sort = p.sort as TicketSort;
  if (p.reverse === 'true') q.reverse = true;
  return q;
}

/** Hash params for a query (paging dropped). */
export function paramsFromQuery(q: TicketQuery): Record<string, string> {
  const p: Record<string, string> = {};
  for (const k of FILTER_KEYS) {
    const v = q[k];
    if (v === undefined || v === null || v === '' || v === false) continue;
    p[k] = String(v);
  }
  return p;
}

/** Same filters, ignoring paging and the order of comma-separated values. */
export function sameQuery(a: TicketQuery, b: TicketQuery): boolean {
  const norm = (q: TicketQuery) => {
    const p = paramsFromQuery(q);
    for (const k of ['status', 'priority', 'sla'] as const) {
      if (p[k]) p[k] = p[k].split(',').map((s) => s.trim()).filter(Boolean).sort().join(',');
    }
    if (p.sort === 'sla_due') delete p.sort; // the server's default order
    return JSON.stringify(Object.keys(p).sort().map((k) => [k, p[k]]));
  };
  return norm(a) === norm(b);
}

/** True when any filter narrows the queue (a search counts). */
export function isFiltered(q: TicketQuery): boolean {
  const p = paramsFromQuery(q);
  delete p.sort;
  delete p.reverse;
  return Object.keys(p).length > 0;
}
