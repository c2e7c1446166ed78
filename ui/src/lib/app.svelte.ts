// Application-wide state: who is logged in, shared look-up lists, theme, clock and dialogs.

import {
  api,
  errorMessage,
  getToken,
  inTauri,
  setToken,
  setUnauthorizedHandler,
  setWriteHandler,
} from './api';
import type { Client, Session, SyncStatus, User } from './types';

export type ThemeChoice = 'system' | 'light' | 'dark';

const THEME_KEY = 'outpost.theme';

function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(THEME_KEY);
    if (v === 'light' || v === 'dark' || v === 'system') return v;
  } catch {
    // ignore
  }
  return 'system';
}

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

export interface NewTicketDefaults {
  client_id?: string;
}

class AppState {
  /** 'loading' until the first setup/me round trip is done. */
  phase: 'loading' | 'setup' | 'login' | 'ready' | 'unreachable' = $state('loading');
  startupError = $state('');
  storeEmpty = $state(false);
  user: User | null = $state(null);

  users: User[] = $state([]);
  clients: Client[] = $state([]);
  tags: string[] = $state([]);

  theme: ThemeChoice = $state(storedTheme());
  systemDark = $state(false);
  now = $state(Date.now());
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);

  paletteOpen = $state(false);
  helpOpen = $state(false);
  newTicketOpen = $state(false);
  newTicketDefaults: NewTicketDefaults = $state({});

  toasts: Toast[] = $state([]);
  /** Bumped whenever tickets change elsewhere, so lists refresh. */
  ticketsVersion = $state(0);

  /** Desktop app: the last sync state read (null until the first read). */
  sync: SyncStatus | null = $state(null);
  /** Desktop app: why the sync state could not be read, if it could not. */
  syncReadError = $state('');
  /** Wall clock in whole seconds for "Synced · 12 s ago" (desktop app only; `now` ticks every 30 s). */
  nowSeconds = $state(Date.now());
  /** A "Sync now" round is running. */
  syncing = $state(false);
  private syncSoonTimer: ReturnType<typeof setTimeout> | undefined;

  readonly inTauri = inTauri;

  get effectiveTheme(): 'light' | 'dark' {
    if (this.theme === 'system') return this.systemDark ? 'dark' : 'light';
    return this.theme;
  }

  get canWrite(): boolean {
    return !!this.user && this.user.role !== 'viewer';
  }

  get isAdmin(): boolean {
    return this.user?.role === 'admin';
  }

  /** Adding clients: people limited to some clients cannot (the new one would be outside). */
  get canAddClients(): boolean {
    return this.canWrite && !this.user?.clients;
  }

  /** People tickets can be assigned to (viewers cannot work tickets). */
  get assignees(): User[] {
    return this.users.filter((u) => u.role !== 'viewer');
  }

  userName(id: string | null | undefined): string {
    if (!id) return '';
    return this.users.find((u) => u.id === id)?.display_name ?? '';
  }

  setTheme(t: ThemeChoice) {
    this.theme = t;
    try {
      localStorage.setItem(THEME_KEY, t);
    } catch {
      // ignore
    }
  }

  toggleTheme() {
    this.setTheme(this.effectiveTheme === 'dark' ? 'light' : 'dark');
  }

  toast(text: string, kind: Toast['kind'] = 'info') {
    const id = Date.now() + Math.random();
    this.toasts.push({ id, text, kind });
    setTimeout(() => {
      this.toasts = this.toasts.filter((t) => t.id !== id);
    }, kind === 'error' ? 7000 : 3500);
  }

  /** Decides between wizard, login and the console. */
  async start() {
    this.phase = 'loading';
    this.startupError = '';
    try {
      const setup = await api.setupState();
      this.storeEmpty = setup.store_empty;
      if (setup.needs_admin) {
        setToken(null);
        this.phase = 'setup';
        return;
      }
    } catch (e) {
      this.startupError = errorMessage(e);
      this.phase = 'unreachable';
      return;
    }
    if (!getToken()) {
      this.phase = 'login';
      return;
    }
    try {
      this.user = await api.me();
      this.phase = 'ready';
      void this.loadLookups();
    } catch {
      setToken(null);
      this.user = null;
      this.phase = 'login';
    }
  }

  signedIn(s: Session) {
    setToken(s.token);
    this.user = s.user;
    this.phase = 'ready';
    void this.loadLookups();
  }

  async logout() {
    try {
      await api.logout();
    } catch {
      // The session is dropped locally either way.
    }
    this.dropSession();
  }

  dropSession() {
    setToken(null);
    this.user = null;
    this.sync = null;
    this.users = [];
    this.clients = [];
    this.tags = [];
    this.paletteOpen = false;
    this.helpOpen = false;
    this.newTicketOpen = false;
    this.phase = 'login';
  }

  async loadLookups() {
    await Promise.all([this.refreshUsers(), this.refreshClients(), this.refreshTags()]);
  }

  async refreshUsers() {
    try {
      this.users = await api.listUsers();
    } catch (e) {
      this.toast(errorMessage(e), 'error');
    }
  }

  async refreshClients() {
    try {
      this.clients = await api.listClients();
    } catch (e) {
      this.toast(errorMessage(e), 'error');
    }
  }

  async refreshTags() {
    try {
      this.tags = await api.listTags();
    } catch {
      // Tags only feed suggestions.
    }
  }

  openNewTicket(defaults: NewTicketDefaults = {}) {
    if (!this.canWrite) {
      this.toast('Viewers cannot create tickets; ask an admin for the technician role.', 'error');
      return;
    }
    this.newTicketDefaults = defaults;
    this.paletteOpen = false;
    this.helpOpen = false;
    this.newTicketOpen = true;
  }

  ticketsChanged() {
    this.ticketsVersion++;
  }

  /** Desktop app: reads the sync state (the top bar polls this every 3 s). */
  async refreshSync() {
    if (!this.inTauri || this.phase !== 'ready' || !getToken()) return;
    try {
      this.sync = await api.syncStatus();
      this.syncReadError = '';
    } catch (e) {
      this.syncReadError = errorMessage(e);
    }
  }

  /** Re-reads the sync state shortly after a write (several writes in a row read it once). */
  syncSoon() {
    if (!this.inTauri) return;
    clearTimeout(this.syncSoonTimer);
    this.syncSoonTimer = setTimeout(() => void this.refreshSync(), 150);
  }

  /** Desktop app: one sync round now. A failed round shows in the status, not as a throw. */
  async syncNow() {
    if (this.syncing) return;
    this.syncing = true;
    try {
      this.sync = await api.syncNow();
      this.syncReadError = '';
      // The round may have brought other people's changes.
      this.ticketsChanged();
      void this.loadLookups();
    } catch (e) {
      this.toast(errorMessage(e), 'error');
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Desktop app, after connecting to a server: the answer is a new local session for the
   * server account, which replaces the current one.
   */
  connected(s: Session) {
    this.signedIn(s);
    this.ticketsChanged();
    void this.refreshSync();
  }
}

export const app = new AppState();

setWriteHandler(() => app.syncSoon());

setUnauthorizedHandler(() => {
  if (app.phase === 'ready') {
    app.dropSession();
    app.toast('Your session has ended; log in again.', 'error');
  }
});

if (typeof window !== 'undefined') {
  const mq = window.matchMedia('(prefers-color-scheme: dark)');
  app.systemDark = mq.matches;
  mq.addEventListener('change', (e) => (app.systemDark = e.matches));
  window.addEventListener('online', () => (app.online = true));
  window.addEventListener('offline', () => (app.online = false));
  setInterval(() => (app.now = Date.now()), 30_000);
  if (inTauri) setInterval(() => (app.nowSeconds = Date.now()), 1000);
}
