// The two transports of the Outpost API, under the generated client (api.ts):
// - desktop app (Tauri): one command, `call`, with the operation's name, the session token,
//   the record's id and its input; it dispatches through the same table as the server;
// - browser (web console): `fetch` against `/api/v1` on the same origin, `Authorization: Bearer`.
// Both fail with `ApiRequestError {code, message}`; `message` is written for people.

import type { ApiError, TicketQuery } from './types';


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

/** One call of a declared operation (written by the generated client). */
export interface Call {
  /** The operation's name in the table (crates/core/src/api/operations.rs). */
  op: string;
  /** Needs a session: an `unauthorized` answer then means it expired. */
  auth: boolean;
  /** Changes data, so the sync state moves. */
  write: boolean;
  id?: string;
  body?: unknown;
  query?: object;
  /** The HTTP route (id already in the path); absent for desktop-only operations. */
  http?: { method: Method; path: string };
}

let tauriInvoke: ((cmd: string, args?: Record<string, unknown>) => Promise<unknown>) | null = null;

async function invokeTauri(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  if (!tauriInvoke) {
    const core = await import('@tauri-apps/api/core');
    tauriInvoke = core.invoke;
  }
  return tauriInvoke(cmd, args);
}

async function viaHttp(method: Method, path: string, body: unknown): Promise<unknown> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // The session goes with every call that has one (logging out needs it too).
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
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

export async function call<T>(c: Call): Promise<T> {
  try {
    let result: unknown;
    const query = c.query === undefined ? undefined : cleanParams(c.query);
    if (inTauri) {
      result = await invokeTauri('call', {
        op: c.op,
        token: token ?? null,
        id: c.id ?? null,
        input: c.body ?? query ?? null,
      });
    } else if (c.http) {
      const path = c.http.path + (query ? paramString(query) : '');
      result = await viaHttp(c.http.method, path, c.body);
    } else {
      throw new ApiRequestError('unsupported', DESKTOP_ONLY);
    }
    if (c.write && onWrite) onWrite();
    return result as T;
  } catch (e) {
    const err = toError(e);
    if (c.auth && err.code === 'unauthorized' && onUnauthorized) onUnauthorized();
    throw err;
  }
}

/** The message to show a person for any thrown value. */
export function errorMessage(e: unknown): string {
  const m = toError(e).message.trim();
  return m ? m[0].toUpperCase() + m.slice(1) : 'Something went wrong; try again.';
}
