// Bytes that do not travel as JSON: raw downloads over HTTP, base64 through the desktop app's
// operation table. Shared by attachments and reports.

import { ApiRequestError, getToken } from './transport';

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    s += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(s);
}

/** The error a refused request carries, in the server's words when it gave some. */
export async function refused(res: Response): Promise<ApiRequestError> {
  try {
    const e = await res.json();
    if (typeof e?.message === 'string') return new ApiRequestError(e.code ?? 'internal', e.message);
  } catch {
    // not JSON: say the status
  }
  return new ApiRequestError('internal', `The server answered ${res.status}.`);
}

export function unreachable(): ApiRequestError {
  return new ApiRequestError(
    'network',
    'Cannot reach the Outpost server. Check your network connection and try again.',
  );
}

/** GET an API path (`/attachments/…`) as bytes, with the session's token. */
export async function fetchBytes(path: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { headers });
  } catch {
    throw unreachable();
  }
  if (!res.ok) throw await refused(res);
  return res;
}

/** Saves bytes as a download under `name` (never opened in the console). */
export function saveAs(url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/** The file name a response's Content-Disposition gives (its UTF-8 form first). */
export function dispositionName(res: Response, fallback: string): string {
  const h = res.headers.get('content-disposition') ?? '';
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(h);
  if (utf8) {
    try {
      return decodeURIComponent(utf8[1]);
    } catch {
      // fall through to the ASCII form
    }
  }
  const ascii = /filename="([^"]*)"/i.exec(h);
  return ascii ? ascii[1] : fallback;
}
