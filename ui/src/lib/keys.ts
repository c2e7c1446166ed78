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
