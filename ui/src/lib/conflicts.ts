// Sync conflicts on a ticket: a field edited in two places at once. The value that won is kept;
// choosing the other one is a normal edit (UpdateTicket) followed by resolving the conflict.

import type { JsonValue, Priority, TicketStatus, UpdateTicket } from './types';
import { PRIORITIES, STATUSES } from './format';

const FIELD_LABEL: Record<string, string> = {
  title: 'Title',
  description: 'Description',
  status: 'Status',
  priority: 'Priority',
  assignee_id: 'Assignee',
  site_id: 'Site',
  contact_id: 'Contact',
  tags: 'Tags',
};

/** "Assignee" for `assignee_id`; other fields in words ("resolved_at" → "Resolved at"). */
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
