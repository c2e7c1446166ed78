// The client a form has chosen, with its sites and contacts, read again whenever the choice
// changes (new-ticket and new-asset dialogs). An answer about an earlier choice is dropped.
//
//   const chosen = new ChosenClient(() => clientId, (message) => error.set(message, 'client'));
//   {#each chosen.detail?.sites ?? [] as s (s.id)} …  {chosen.loading ? 'Loading…' : …}
//
// Create it while the component is set up: it runs an effect that lives as long as the component.

import { api, errorMessage } from './api';
import { app } from './app.svelte';
import type { ClientDetail } from './types';

export class ChosenClient {
  detail = $state<ClientDetail | null>(null);
  loading = $state(false);

  constructor(id: () => string, onerror: (message: string) => void) {
    $effect(() => {
      const clientId = id();
      this.detail = null;
      if (!clientId) return;
      this.loading = true;
      let stale = false;
      api
        .getClient(clientId)
        .then((d) => {
          if (!stale) this.detail = d;
        })
        .catch((e) => {
          if (!stale) onerror(errorMessage(e));
        })
        .finally(() => {
          if (!stale) this.loading = false;
        });
      return () => {
        stale = true;
      };
    });
  }
}

/** The client a new form starts with: the list's filter if it names a known client, else the
 * only client there is, else none. */
export function firstClient(preferred: string | undefined): string {
  if (preferred && app.clients.some((c) => c.id === preferred)) return preferred;
  return app.clients.length === 1 ? app.clients[0].id : '';
}
