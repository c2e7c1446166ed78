// Hash routing: `#/tickets/<id>?status=active&sort=sla_due`. Works the same in the desktop app
// (custom protocol) and in the web console (no server-side fallback needed).

export interface Route {
  /** Path segments: ["tickets", "<id>"]. */
  segments: string[];
  /** Query parameters of the hash. */
  params: Record<string, string>;
}

function parse(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [path, qs = ''] = raw.split('?', 2);
  const segments = path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) params[k] = v;
  return { segments, params };
}

export const route: Route = $state(parse(typeof location === 'undefined' ? '' : location.hash));

function sync() {
  const r = parse(location.hash);
  route.segments = r.segments;
  route.params = r.params;
}

if (typeof window !== 'undefined') window.addEventListener('hashchange', sync);

/** Builds a hash link: href('tickets', id) with optional params. */
export function href(path: string, params?: Record<string, string | undefined | null>): string {
  const p = new URLSearchParams();
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') p.set(k, v);
    }
  }
  const qs = p.toString();
  return `#/${path.replace(/^\/+/, '')}${qs ? `?${qs}` : ''}`;
}

/** Moves to a hash link. `replace` keeps the back button for real moves only. */
export function navigate(link: string, replace = false): void {
  const target = link.startsWith('#') ? link : `#${link}`;
  if (location.hash === target) return;
  if (replace) {
    history.replaceState(history.state, '', target);
    sync();
  } else {
    location.hash = target;
  }
}
