// Files on tickets. Over HTTP the bytes travel as multipart form data and raw downloads
// (`POST /tickets/{id}/attachments`, `GET /attachments/{id}`), which the generated JSON client
// does not carry; in the desktop app they go as base64 through the operation table, and a
// file this console has not opened yet is fetched from its server once, then kept.

import { api } from './api';
import { getToken, inTauri } from './transport';
import { fetchBytes, fromBase64, refused, saveAs, toBase64, unreachable } from './files';
import type { Attachment } from './types';

/** Attaches files to a ticket, or to one of its comments: all of them or none. */
export async function attachFiles(
  ticketId: string,
  files: File[],
  commentId?: string,
): Promise<Attachment[]> {
  if (inTauri) {
    const out: Attachment[] = [];
    for (const f of files) {
      const data = toBase64(new Uint8Array(await f.arrayBuffer()));
      out.push(
        await api.uploadAttachment({
          ticket_id: ticketId,
          comment_id: commentId ?? null,
          file_name: f.name,
          data_base64: data,
        }),
      );
    }
    return out;
  }
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  if (commentId) form.append('comment_id', commentId);
  const headers: Record<string, string> = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(`/api/v1/tickets/${encodeURIComponent(ticketId)}/attachments`, {
      method: 'POST',
      headers,
      body: form,
    });
  } catch {
    throw unreachable();
  }
  if (!res.ok) throw await refused(res);
  return (await res.json()) as Attachment[];
}

/** Bytes already fetched in this window, by attachment id (object URLs for previews). */
const urls = new Map<string, string>();

/** A file's bytes as a Blob of the type the store decided. */
export async function fileBlob(a: Attachment): Promise<Blob> {
  if (inTauri) {
    const c = await api.attachmentContent(a.id);
    return new Blob([fromBase64(c.data_base64)], { type: c.attachment.content_type });
  }
  const res = await fetchBytes(`/attachments/${encodeURIComponent(a.id)}`);
  return await res.blob();
}

/** An object URL for a file's bytes (kept for the window's life: files never change). */
export async function fileUrl(a: Attachment): Promise<string> {
  const known = urls.get(a.id);
  if (known) return known;
  const url = URL.createObjectURL(await fileBlob(a));
  urls.set(a.id, url);
  return url;
}

/** Saves a file as a download under its (safe) name; it is never opened in the console. */
export async function downloadFile(a: Attachment): Promise<void> {
  saveAs(await fileUrl(a), a.file_name);
}

/** Files carried by a paste (a screenshot from the clipboard), named for the desk. */
export function pastedFiles(e: ClipboardEvent): File[] {
  const items = Array.from(e.clipboardData?.files ?? []);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
  return items.map((f, i) => {
    // Browsers call every pasted screenshot "image.png".
    if (f.name && f.name !== 'image.png') return f;
    const ext = f.type === 'image/jpeg' ? 'jpg' : (f.type.split('/')[1] ?? 'png');
    const suffix = items.length > 1 ? `-${i + 1}` : '';
    return new File([f], `screenshot-${stamp}${suffix}.${ext}`, { type: f.type });
  });
}

/** `31.2 MiB`, `812 KiB`. */
export function humanSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.floor(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
