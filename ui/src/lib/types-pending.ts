// STOPGAP until `src/lib/types.ts` is regenerated (`cargo xtask gen`).
//
// crates/proto already declares ConnectPreview, ConnectRequest and TicketDetail.conflicts and
// lists them for TypeScript, but the checked-in types.ts predates that. These mirror the proto
// declarations exactly. Once types.ts has them: delete this file and import from './types'
// (TicketDetailWithConflicts becomes plain TicketDetail).

import type { Conflict, TicketDetail } from './types';

/** What switching from standalone to connected would upload, before it does. */
export type ConnectPreview = {
  clients: number;
  tickets: number;
  comments: number;
  time_entries: number;
  /** Every change record that will be sent (edits included). */
  changes: number;
};

export type ConnectRequest = {
  /** e.g. `https://outpost.example.com` or `http://127.0.0.1:8787`. */
  server_url: string;
  username: string;
  password: string;
};

/** Unresolved concurrent edits of this ticket (sync): each keeps the value that lost. */
export type TicketDetailWithConflicts = TicketDetail & { conflicts?: Conflict[] };
