// Sync conflicts on a ticket: a field edited in two places at once. The value that won is kept;
// choosing the other one is a normal edit (UpdateTicket) followed by resolving the conflict.

import type { JsonValue, Priority, TicketStatus, UpdateTicket } from './types';
import { PRIORITIES, PRIORITY_LABEL, STATUSES, STATUS_LABEL, duration, localTime } from './format';

const FIELD_LABEL: Record<string, string> = {
  title: 'Title',
  description: 'Description',
  status: 'Status',
  priority: 'Priority',
  assignee_id: 'Assignee',
  site_id: 'Site',
  contact_id: 'Contact',
  client_id: 'Client',
  tags: 'Tags',
  number: 'Number',
  created_at: 'Opened',
  first_response_at: 'First response',
  resolved_at: 'Resolved',
  paused_since: 'Paused since',
  paused_minutes: 'Time paused',
};

/** "Assignee" for `assignee_id`; fields not listed in words ("last_seen_at" → "Last seen at"). */
export function fieldLabel(field: string): string {
  if (FIELD_LABEL[field]) return FIELD_LABEL[field];
  const words = field.replace(/_id$/, '').replace(/[_.]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : field;
}

/** Tags arrive as a JSON string of an array (or as the array itself). */
export function tagList(v: JsonValue): string[] | null {
  if (v === null) return [];
  if (Array.isArray(v)) return v.every((t) => typeof t === 'string') ? (v as string[]) : null;
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed) && parsed.every((t) => typeof t === 'string')) return parsed as string[];
    } catch {
      // not JSON: fall through
    }
  }
  return null;
}

function uuidOrNull(v: JsonValue): string | null | undefined {
  if (v === null) return null;
  return typeof v === 'string' && v !== '' ? v : v === '' ? null : undefined;
}

/**
 * The edit that sets `field` to `value`, or null when UpdateTicket cannot set that field (or
 * the value does not fit it); then only "Keep this" is offered.
 */
export function patchFor(field: string, value: JsonValue): UpdateTicket | null {
  switch (field) {
    case 'title':
      return typeof value === 'string' && value.trim() ? { title: value } : null;
    case 'description':
      return typeof value === 'string' ? { description: value } : value === null ? { description: '' } : null;
    case 'status':
      return typeof value === 'string' && (STATUSES as string[]).includes(value)
        ? { status: value as TicketStatus }
        : null;
    case 'priority':
      return typeof value === 'string' && (PRIORITIES as string[]).includes(value)
        ? { priority: value as Priority }
        : null;
    case 'assignee_id':
    case 'site_id':
    case 'contact_id': {
      const id = uuidOrNull(value);
      return id === undefined ? null : { [field]: id };
    }
    case 'tags': {
      const tags = tagList(value);
      return tags ? { tags } : null;
    }
    default:
      return null;
  }
}

/** Something a conflict's value can point at by id: a person, client, site or contact. */
export type Named = { id: string; name: string };

/**
 * What the pane knows to put names to the ids in a conflict. Sites and contacts are null while
 * the ticket's client is still loading (shown as "…" rather than "not listed").
 */
export type ConflictNames = {
  users: readonly Named[];
  clients: readonly Named[];
  sites: readonly Named[] | null;
  contacts: readonly Named[] | null;
};

const EMPTY = '(empty)';

/** Which list names the ids of a field, and what to say when the id is not in it. */
const REFERENCES: Record<string, { list: keyof ConflictNames; unknown: string; none: string }> = {
  assignee_id: { list: 'users', unknown: 'a user not listed here', none: 'Unassigned' },
  client_id: { list: 'clients', unknown: 'a client not listed here', none: 'No client' },
  site_id: { list: 'sites', unknown: 'a site not listed here', none: 'No site' },
  contact_id: { list: 'contacts', unknown: 'a contact not listed here', none: 'No contact' },
};

/** Ticket times travel through sync as epoch milliseconds; `paused_since` is one without the `_at`. */
function isTimeField(field: string): boolean {
  return field.endsWith('_at') || field === 'paused_since';
}

/** Epoch milliseconds (a number, or digits in a string) or an ISO time, as the UI's local time. */
function timeText(v: JsonValue): string | null {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') ms = /^-?\d+$/.test(v.trim()) ? Number(v) : Date.parse(v);
  else return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : localTime(d.toISOString());
}

/**
 * A conflict's value as the rest of the console shows it: status and priority by their labels,
 * people, clients, sites and contacts by name, times in local time, tags as a list. Never raw
 * JSON or epoch numbers: a value of an unexpected shape is still spelled out in words.
 */
export function conflictValue(field: string, v: JsonValue, names: ConflictNames): string {
  // An empty link reads as the field's own "none" (Unassigned, No site), as in its picker.
  if (v === null || v === '') return REFERENCES[field]?.none ?? EMPTY;
  if (field === 'tags') {
    const list = tagList(v);
    if (list) return list.length ? list.join(', ') : EMPTY;
  }
  if (isTimeField(field)) {
    const t = timeText(v);
    if (t) return t;
  }
  if (field.endsWith('_minutes') && typeof v === 'number') return duration(v);
  if (field === 'number' && typeof v === 'number') return `#${v}`;
  if (typeof v === 'string') {
    if (field === 'status') return STATUS_LABEL[v as TicketStatus] ?? v;
    if (field === 'priority') return PRIORITY_LABEL[v as Priority] ?? v;
    const ref = REFERENCES[field];
    if (ref) {
      const list = names[ref.list];
      return list ? (list.find((x) => x.id === v)?.name ?? ref.unknown) : '…';
    }
    return v;
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.length ? v.map((x) => conflictValue('', x, names)).join(', ') : EMPTY;
  const parts = Object.entries(v).map(([k, x]) => `${fieldLabel(k)}: ${conflictValue(k, x ?? null, names)}`);
  return parts.length ? parts.join('; ') : EMPTY;
}
