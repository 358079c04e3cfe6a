import './app.css';
import { type User, logoutResponseSchema, meResponseSchema } from '@village/protocol/api';
import { ApiFailure, api, setBadResponseHandler, setUnauthenticatedHandler } from './api-client.js';
import { type AppData, loadAppData } from './app-data.js';
import { el } from './dom-element.js';
import { type MessageKey, currentLang, setLang, t } from './i18n.js';
import { applyLiveReading } from './live-reading.js';
import { onLive, startLive, stopLive } from './live-stream.js';
import { createViewTokens } from './view-token.js';
import { at } from './views/admin-texts.js';
import { renderAdmin } from './views/admin-view.js';
import { renderAlerts } from './views/alerts-view.js';
import { renderElder } from './views/elder-view.js';
import { renderHealth } from './views/health-view.js';
import { renderIncidents } from './views/incidents-view.js';
import { renderLogin } from './views/login-view.js';
import { renderOverview } from './views/overview-view.js';
import { renderSla } from './views/sla-view.js';
import { renderStation } from './views/station-view.js';

/** Hash routes: #/overview, #/station/<id>, #/alerts, #/incidents, #/sla, #/elder, #/health. */
const NAV: [string, MessageKey][] = [
  ['overview', 'overview'],
  ['incidents', 'incidents'],
  ['alerts', 'alerts'],
  ['sla', 'sla'],
  ['elder', 'elder'],
  ['health', 'health'],
];

const app = document.getElementById('app')!;
let user: User | undefined;
let data: AppData | undefined;
let cleanup: () => void = () => {};
const views = createViewTokens();
/** An answer outside the API contract, shown above the view until the next route. */
const problem = el('p', { class: 'error', role: 'alert', 'data-testid': 'api-problem', hidden: true });
setBadResponseHandler((err) => {
  problem.textContent = err.message;
  problem.hidden = false;
});

async function boot(): Promise<void> {
  setLang(currentLang());
  try {
    user = (await api('/me', meResponseSchema)).user;
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.status !== 401) throw err;
    user = await renderLogin(app);
  }
  data = await loadAppData();
  startLive();
  // Edges' online state and new devices are not on the stream: refresh them once a minute.
  setInterval(() => {
    if (user)
      void loadAppData().then((fresh) =>
        Object.assign(data!, { edges: fresh.edges, devices: fresh.devices }),
      );
  }, 60_000);
  window.addEventListener('hashchange', route);
  route();
}

setUnauthenticatedHandler(() => {
  stopLive();
  cleanup();
  user = undefined;
  location.hash = '';
  void renderLogin(app).then(async (u) => {
    user = u;
    data = await loadAppData();
    startLive();
    route();
  });
});

/** Keeps `data.latest` current and patches what is on screen (live-reading.ts). */
onLive({
  reading(r) {
    if (data) applyLiveReading(app, data, r);
  },
});

function header(active: string): HTMLElement {
  return el(
    'header',
    { class: 'top' },
    el('strong', { class: 'brand' }, t('title')),
    el(
      'nav',
      {},
      ...NAV.map(([path, key]) => el('a', { href: `#/${path}`, class: path === active ? 'on' : '' }, t(key))),
      user?.role === 'admin' || user?.role === 'anonymous'
        ? el('a', { href: '#/admin', class: active === 'admin' ? 'on' : '' }, at('admin'))
        : null,
    ),
    el(
      'div',
      { class: 'who' },
      el('span', { class: 'live-dot', title: t('live') }),
      user && user.role !== 'anonymous' ? el('span', { 'data-testid': 'user' }, user.name) : null,
      el(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            setLang(currentLang() === 'zh' ? 'en' : 'zh');
            route();
          },
        },
        t('language'),
      ),
      user && user.role !== 'anonymous'
        ? el(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: async () => {
                await api('/logout', logoutResponseSchema, { method: 'POST', body: {} });
                location.reload();
              },
            },
            t('logout'),
          )
        : null,
    ),
  );
}

function route(): void {
  if (!data) return;
  cleanup();
  cleanup = () => {};
  const token = views.next();
  const [view = 'overview', arg] = location.hash.replace(/^#\/?/, '').split('/');
  const main = el('main', {});
  problem.hidden = true;
  app.replaceChildren(header(view === 'station' ? 'overview' : view), problem, main);
  document.title = t('title');
  if (view === 'station' && arg) cleanup = renderStation(main, data, decodeURIComponent(arg), user?.role);
  else if (view === 'alerts') cleanup = renderAlerts(main, data);
  else if (view === 'incidents') cleanup = renderIncidents(main, data);
  else if (view === 'sla') cleanup = renderSla(main, data);
  else if (view === 'elder') cleanup = renderElder(main, data);
  else if (view === 'admin') cleanup = renderAdmin(main);
  else if (view === 'health') {
    void loadAppData().then((fresh) => {
      // The user may have moved on while this loaded: then the answer is dropped, so it neither
      // replaces the data the current view holds nor takes the place of that view's cleanup.
      if (!views.current(token)) return;
      data = fresh;
      cleanup = renderHealth(main, fresh);
    });
  } else renderOverview(main, data);
}

boot().catch((err: Error) => {
  app.replaceChildren(el('p', { class: 'error' }, err.message));
});
