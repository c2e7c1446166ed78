// The one typed client of the Outpost API, with two transports:
// - desktop app (Tauri): `invoke(command, args)`; authenticated commands take `token`;
// - browser (web console): `fetch` against `/api/v1` on the same origin, `Authorization: Bearer`.
// Both fail with `ApiRequestError {code, message}`; `message` is written for people.

import type {
  ApiError,
  Client,
  ClientDetail,
  Comment,
  Contact,
  DemoSummary,
  FirstAdminRequest,
  Health,
  LoginRequest,
  NewClient,
  NewComment,
  NewContact,
  NewSavedView,
  NewSite,
  NewTicket,
  NewTimeEntry,
  NewUser,
  QueueCounts,
  SavedView,
  Session,
  SetupState,
  Site,
  SlaPolicy,
  SyncStatus,
  Ticket,
  TicketPage,
  TicketQuery,
  TimeEntry,
  UpdateClient,
  UpdateContact,
  UpdateSite,
  UpdateTicket,
  User,
  UserClients,
  Asset,
  AssetPage,
  AssetQuery,
  NewAsset,
  UpdateAsset,
} from './types';
import type { ConnectPreview, ConnectRequest, TicketDetail as TicketDetailWithConflicts } from './types';

/** The single error type every API call throws. */
export class ApiRequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiRequestError';
    this.code = code;
  }
}

/** True inside the desktop app. */
export const inTauri: boolean = typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;

const TOKEN_KEY = 'outpost.token';

let token: string | null = readToken();
let onUnauthorized: (() => void) | null = null;
let onWrite: (() => void) | null = null;

/** What a browser says when asked for something only the desktop app does. */
export const DESKTOP_ONLY =
  "Only the desktop app connects to a server; this is the server's own web console.";

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

export function setToken(t: string | null): void {
  token = t;
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage can be unavailable (private mode); the session then lasts for this page only.
  }
}

/** Called after every successful write the UI makes (the top bar then re-reads the sync state). */
export function setWriteHandler(fn: () => void): void {
  onWrite = fn;
}

/** Called when an authenticated call is refused with `unauthorized` (expired session). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

function isApiError(v: unknown): v is ApiError {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ApiError).code === 'string' &&
    typeof (v as ApiError).message === 'string'
  );
}

function toError(e: unknown): ApiRequestError {
  if (e instanceof ApiRequestError) return e;
  if (isApiError(e)) return new ApiRequestError(e.code, e.message);
  if (typeof e === 'string') return new ApiRequestError('internal', e);
  if (e instanceof Error) return new ApiRequestError('internal', e.message);
  return new ApiRequestError('internal', 'Something went wrong; try again.');
}

/** Drops empty values from any query object, so absent means absent on both transports. */
export function cleanParams<T extends object>(q: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    out[k] = v;
  }
  return out as T;
}

/** `?a=1&b=2` for a cleaned query object ('' when empty). */
export function paramString(q: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(cleanParams(q))) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export function cleanQuery(q: TicketQuery): TicketQuery {
  return cleanParams(q);
}

export function queryString(q: TicketQuery): string {
  return paramString(q);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Route {
  method: Method;
  path: string;
  body?: unknown;
}

interface Call {
  /** Tauri command name. */
  cmd: string;
  /** Tauri arguments, without the token. */
  args?: Record<string, unknown>;
  /** The HTTP route; absent for desktop-only commands (a browser refuses them as `unsupported`). */
  http?: Route;
  /** Sends the session token (Bearer / `token` argument). */
  auth: boolean;
  /**
   * Changes data, so the sync state moves. Default: authenticated calls with a non-GET route.
   */
  write?: boolean;
}

let tauriInvoke: ((cmd: string, args?: Record<string, unknown>) => Promise<unknown>) | null = null;

async function invokeTauri(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  if (!tauriInvoke) {
    const core = await import('@tauri-apps/api/core');
    tauriInvoke = core.invoke;
  }
  return tauriInvoke(cmd, args);
}

async function viaHttp(route: Route, auth: boolean): Promise<unknown> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (route.body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`/api/v1${route.path}`, {
      method: route.method,
      headers,
      body: route.body === undefined ? undefined : JSON.stringify(route.body),
    });
  } catch {
    throw new ApiRequestError(
      'network',
      'Cannot reach the Outpost server. Check your network connection and try again.',
    );
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    if (isApiError(data)) throw new ApiRequestError(data.code, data.message);
    const code = res.status === 401 ? 'unauthorized' : res.status === 404 ? 'not_found' : 'internal';
    throw new ApiRequestError(
      code,
      `The server answered ${res.status} ${res.statusText || ''}`.trim() +
        (typeof data === 'string' && data.length < 200 ? `: ${data}` : '.'),
    );
  }
  return data;
}

async function call<T>(c: Call): Promise<T> {
  try {
    let result: unknown;
    if (inTauri) {
      const args: Record<string, unknown> = { ...(c.args ?? {}) };
      if (c.auth) args.token = token ?? '';
      result = await invokeTauri(c.cmd, args);
    } else if (c.http) {
      result = await viaHttp(c.http, c.auth);
    } else {
      throw new ApiRequestError('unsupported', DESKTOP_ONLY);
    }
    if ((c.write ?? (c.auth && !!c.http && c.http.method !== 'GET')) && onWrite) onWrite();
    return result as T;
  } catch (e) {
    const err = toError(e);
    if (c.auth && err.code === 'unauthorized' && onUnauthorized) onUnauthorized();
    throw err;
  }
}

const enc = encodeURIComponent;

export const api = {
  health: () => call<Health>({ cmd: 'health', http: { method: 'GET', path: '/health' }, auth: false }),

  setupState: () =>
    call<SetupState>({ cmd: 'setup_state', http: { method: 'GET', path: '/setup' }, auth: false }),

  createFirstAdmin: (req: FirstAdminRequest) =>
    call<Session>({
      cmd: 'create_first_admin',
      args: { req },
      http: { method: 'POST', path: '/setup', body: req },
      auth: false,
    }),

  login: (req: LoginRequest) =>
    call<Session>({
      cmd: 'login',
      args: { req },
      http: { method: 'POST', path: '/auth/login', body: req },
      auth: false,
    }),

  logout: () =>
    call<null>({
      cmd: 'logout',
      http: { method: 'POST', path: '/auth/logout' },
      auth: true,
      write: false,
    }),

  me: () => call<User>({ cmd: 'me', http: { method: 'GET', path: '/me' }, auth: true }),

  listUsers: () =>
    call<User[]>({ cmd: 'list_users', http: { method: 'GET', path: '/users' }, auth: true }),

  createUser: (req: NewUser) =>
    call<User>({
      cmd: 'create_user',
      args: { req },
      http: { method: 'POST', path: '/users', body: req },
      auth: true,
    }),

  setUserClients: (id: string, req: UserClients) =>
    call<User>({
      cmd: 'set_user_clients',
      args: { id, req },
      http: { method: 'PUT', path: `/users/${id}/clients`, body: req },
      auth: true,
    }),

  listClients: () =>
    call<Client[]>({ cmd: 'list_clients', http: { method: 'GET', path: '/clients' }, auth: true }),

  createClient: (req: NewClient) =>
    call<Client>({
      cmd: 'create_client',
      args: { req },
      http: { method: 'POST', path: '/clients', body: req },
      auth: true,
    }),

  getClient: (id: string) =>
    call<ClientDetail>({
      cmd: 'get_client',
      args: { id },
      http: { method: 'GET', path: `/clients/${enc(id)}` },
      auth: true,
    }),

  updateClient: (id: string, req: UpdateClient) =>
    call<Client>({
      cmd: 'update_client',
      args: { id, req },
      http: { method: 'PATCH', path: `/clients/${enc(id)}`, body: req },
      auth: true,
    }),

  createSite: (id: string, req: NewSite) =>
    call<Site>({
      cmd: 'create_site',
      args: { id, req },
      http: { method: 'POST', path: `/clients/${enc(id)}/sites`, body: req },
      auth: true,
    }),

  createContact: (id: string, req: NewContact) =>
    call<Contact>({
      cmd: 'create_contact',
      args: { id, req },
      http: { method: 'POST', path: `/clients/${enc(id)}/contacts`, body: req },
      auth: true,
    }),

  updateSite: (id: string, req: UpdateSite) =>
    call<Site>({
      cmd: 'update_site',
      args: { id, req },
      http: { method: 'PATCH', path: `/sites/${enc(id)}`, body: req },
      auth: true,
    }),

  updateContact: (id: string, req: UpdateContact) =>
    call<Contact>({
      cmd: 'update_contact',
      args: { id, req },
      http: { method: 'PATCH', path: `/contacts/${enc(id)}`, body: req },
      auth: true,
    }),

  listAssets: (query: AssetQuery) => {
    const q = cleanParams(query);
    return call<AssetPage>({
      cmd: 'list_assets',
      args: { query: q },
      http: { method: 'GET', path: `/assets${paramString(q)}` },
      auth: true,
    });
  },

  getAsset: (id: string) =>
    call<Asset>({ cmd: 'get_asset', args: { id }, http: { method: 'GET', path: `/assets/${enc(id)}` }, auth: true }),

  createAsset: (req: NewAsset) =>
    call<Asset>({
      cmd: 'create_asset',
      args: { req },
      http: { method: 'POST', path: '/assets', body: req },
      auth: true,
    }),

  updateAsset: (id: string, req: UpdateAsset) =>
    call<Asset>({
      cmd: 'update_asset',
      args: { id, req },
      http: { method: 'PATCH', path: `/assets/${enc(id)}`, body: req },
      auth: true,
    }),

  listTickets: (query: TicketQuery) => {
    const q = cleanQuery(query);
    return call<TicketPage>({
      cmd: 'list_tickets',
      args: { query: q },
      http: { method: 'GET', path: `/tickets${queryString(q)}` },
      auth: true,
    });
  },

  createTicket: (req: NewTicket) =>
    call<Ticket>({
      cmd: 'create_ticket',
      args: { req },
      http: { method: 'POST', path: '/tickets', body: req },
      auth: true,
    }),

  getTicket: (id: string) =>
    call<TicketDetailWithConflicts>({
      cmd: 'get_ticket',
      args: { id },
      http: { method: 'GET', path: `/tickets/${enc(id)}` },
      auth: true,
    }),

  updateTicket: (id: string, req: UpdateTicket) =>
    call<Ticket>({
      cmd: 'update_ticket',
      args: { id, req },
      http: { method: 'PATCH', path: `/tickets/${enc(id)}`, body: req },
      auth: true,
    }),

  addComment: (id: string, req: NewComment) =>
    call<Comment>({
      cmd: 'add_comment',
      args: { id, req },
      http: { method: 'POST', path: `/tickets/${enc(id)}/comments`, body: req },
      auth: true,
    }),

  addTimeEntry: (id: string, req: NewTimeEntry) =>
    call<TimeEntry>({
      cmd: 'add_time_entry',
      args: { id, req },
      http: { method: 'POST', path: `/tickets/${enc(id)}/time-entries`, body: req },
      auth: true,
    }),

  listTags: () =>
    call<string[]>({ cmd: 'list_tags', http: { method: 'GET', path: '/tags' }, auth: true }),

  listViews: () =>
    call<SavedView[]>({ cmd: 'list_views', http: { method: 'GET', path: '/views' }, auth: true }),

  createView: (req: NewSavedView) =>
    call<SavedView>({
      cmd: 'create_view',
      args: { req: { ...req, query: cleanQuery(req.query) } },
      http: { method: 'POST', path: '/views', body: { ...req, query: cleanQuery(req.query) } },
      auth: true,
    }),

  deleteView: (id: string) =>
    call<null>({
      cmd: 'delete_view',
      args: { id },
      http: { method: 'DELETE', path: `/views/${enc(id)}` },
      auth: true,
    }),

  queueCounts: () =>
    call<QueueCounts>({
      cmd: 'queue_counts',
      http: { method: 'GET', path: '/queue-counts' },
      auth: true,
    }),

  getSlaPolicy: () =>
    call<SlaPolicy>({
      cmd: 'get_sla_policy',
      http: { method: 'GET', path: '/sla-policy' },
      auth: true,
    }),

  setSlaPolicy: (req: SlaPolicy) =>
    call<SlaPolicy>({
      cmd: 'set_sla_policy',
      args: { req },
      http: { method: 'PUT', path: '/sla-policy', body: req },
      auth: true,
    }),

  loadDemo: () =>
    call<DemoSummary>({ cmd: 'load_demo', http: { method: 'POST', path: '/demo' }, auth: true }),

  // ---- sync (desktop app <-> server)

  syncStatus: () =>
    call<SyncStatus>({
      cmd: 'sync_status',
      http: { method: 'GET', path: '/sync/status' },
      auth: true,
    }),

  /** Desktop only: what connecting would upload. */
  connectPreview: () => call<ConnectPreview>({ cmd: 'connect_preview', auth: true }),

  /** Desktop only: the SHA-256 fingerprint of the certificate an https server presents. */
  serverFingerprint: (url: string) =>
    call<string>({ cmd: 'server_fingerprint', args: { url }, auth: true, write: false }),

  /**
   * Desktop only: connects to a server and uploads this store. Returns a NEW local session for
   * the server user; the caller replaces the stored token and current user with it.
   */
  connectServer: (req: ConnectRequest) =>
    call<Session>({ cmd: 'connect_server', args: { req }, auth: true, write: false }),

  /** Desktop only: back to standalone; the data stays on this machine. */
  disconnectServer: () =>
    call<SyncStatus>({ cmd: 'disconnect_server', auth: true, write: false }),

  /** Desktop only: one sync round now; a failed round shows in `last_error`, not as an error. */
  syncNow: () => call<SyncStatus>({ cmd: 'sync_now', auth: true, write: false }),

  resolveConflict: (id: string) =>
    call<null>({
      cmd: 'resolve_conflict',
      args: { id },
      http: { method: 'POST', path: `/conflicts/${enc(id)}/resolve` },
      auth: true,
    }),
};

/** The message to show a person for any thrown value. */
export function errorMessage(e: unknown): string {
  const m = toError(e).message.trim();
  return m ? m[0].toUpperCase() + m.slice(1) : 'Something went wrong; try again.';
}
