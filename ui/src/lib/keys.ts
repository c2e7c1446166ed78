// Keyboard shortcut helpers shared by the shell and the pages.

import { app } from './app.svelte';

/** True when the key press belongs to a text field, so single-key shortcuts must not fire. */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (t as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return false;
}

/** True while a modal layer (palette, dialog, help) owns the keyboard. */
export function modalOpen(): boolean {
  return app.paletteOpen || app.helpOpen || app.newTicketOpen || document.querySelector('dialog[open]') !== null;
}

/** A plain key press: no Ctrl, Alt or Meta (Shift allowed for `?`). */
export function plain(e: KeyboardEvent): boolean {
  return !e.ctrlKey && !e.metaKey && !e.altKey;
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export const modKey = isMac ? '⌘' : 'Ctrl';

/** A list page's rows as the keyboard sees them (see `listPageKey`). */
export interface ListKeys {
  /** Rows shown. */
  count: number;
  /** The row under the keyboard cursor. */
  cursor: number;
  moveCursor: (index: number) => void;
  /** Opens the row under the cursor. */
  openCursor: () => void;
  /** Closes the record open beside the list; null while none is. */
  close: (() => void) | null;
  /** The list: Enter opens only with the focus in it or on the page itself. */
  listEl: HTMLElement | undefined;
}

/**
 * The keys a list page with the open record beside it shares (Tickets, Fleet): Escape closes the
 * record, j/k or ↓/↑ move the cursor, Enter opens the row under it (also when another row has the
 * focus: focusing a row moves the cursor). True when the key is left to the page: a plain key
 * press outside text fields that none of these took.
 */
export function listPageKey(e: KeyboardEvent, list: ListKeys): boolean {
  if (e.defaultPrevented || modalOpen()) return false;
  if (e.key === 'Escape' && list.close && !isTyping(e)) {
    e.preventDefault();
    list.close();
    return false;
  }
  if (isTyping(e) || !plain(e)) return false;
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      if (list.count === 0) return false;
      e.preventDefault();
      list.moveCursor(Math.min(list.count - 1, list.cursor + 1));
      return false;
    case 'k':
    case 'ArrowUp':
      if (list.count === 0) return false;
      e.preventDefault();
      list.moveCursor(Math.max(0, list.cursor - 1));
      return false;
    case 'Enter':
      if (list.cursor < list.count && (e.target === document.body || list.listEl?.contains(e.target as Node))) {
        e.preventDefault();
        list.openCursor();
      }
      return false;
  }
  return true;
}
