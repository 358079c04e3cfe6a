import {
  type IssuedEdgeCredential,
  type RegistryEntity,
  adminAuditResponseSchema,
  createdEntityResponseSchema,
  issuedEdgeCredentialSchema,
  passwordSetResponseSchema,
  registryEntitiesResponseSchema,
  removedEntityResponseSchema,
  revokedEdgeCredentialsResponseSchema,
} from '@village/protocol/api';
import { ApiFailure, api } from '../api-client.js';
import { el } from '../dom-element.js';
import { formatTime } from '../i18n.js';
import { type AdminTextKey, at } from './admin-texts.js';

/** One registry entity as /api/v1/admin returns it (registry.yaml's fields, parent by id). */
type Entity = RegistryEntity;

/** A table of one entity kind, with an add form and per-row actions. */
interface Section {
  plural: 'villages' | 'stations' | 'edges' | 'devices' | 'users';
  fields: { key: string; label: AdminTextKey; type?: 'password' | 'select'; options?: string[] }[];
  rowActions?: (row: Entity) => HTMLElement[];
}

/**
 * The admin screens (#/admin): villages, stations, edges, devices and officers of the registry
 * in the store, each added and removed live through /api/v1/admin; an edge's secret is shown
 * once, when it is created or rotated, and can be revoked; an officer's password reset. The
 * API refuses anyone but an admin, and says why: the message is shown as it came.
 */
export function renderAdmin(root: HTMLElement): () => void {
  const status = el('p', { class: 'status', role: 'status', 'data-admin-status': '' });
  const secretBox = el('div', { class: 'secret', 'data-secret-box': '', hidden: true });
  const tables = el('div', {});
  const audit = el('div', { class: 'table-wrap' });
  root.replaceChildren(
    el('h2', {}, at('admin')),
    status,
    secretBox,
    tables,
    el('h2', {}, at('audit')),
    audit,
  );

  const fail = (err: unknown) => {
    status.className = 'status error';
    status.textContent = err instanceof ApiFailure ? `${err.code}: ${err.message}` : String(err);
  };
  // "Saved" shows only once the change is saved and the lists show it, and is cleared when the next
  // action starts: a "saved" on screen is never the last action's while this one is still running.
  const busy = () => {
    status.className = 'status';
    status.textContent = '';
  };
  const ok = () => {
    status.className = 'status';
    status.textContent = at('done');
  };
  const showSecret = (edge: string, issued: IssuedEdgeCredential) => {
    secretBox.hidden = false;
    secretBox.replaceChildren(
      el('p', {}, `${edge} — ${at('secretOnce')}`),
      el('code', { 'data-secret': edge }, issued.secret),
    );
  };

  const sections: Section[] = [
    {
      plural: 'villages',
      fields: [
        { key: 'id', label: 'id' },
        { key: 'name', label: 'name' },
        { key: 'town', label: 'town' },
      ],
    },
    {
      plural: 'stations',
      fields: [
        { key: 'id', label: 'id' },
        { key: 'name', label: 'name' },
        { key: 'village', label: 'village' },
      ],
    },
    {
      plural: 'edges',
      fields: [
        { key: 'id', label: 'id' },
        { key: 'station', label: 'station' },
      ],
      rowActions: (row) => {
        const overlap = el('input', {
          type: 'number',
          min: 0,
          value: 86400,
          'aria-label': at('overlap'),
          class: 'narrow',
        });
        return [
          overlap,
          el(
            'button',
            {
              type: 'button',
              'data-action': 'rotate',
              onclick: async () => {
                try {
                  busy();
                  const issued = await api(
                    `/admin/edges/${encodeURIComponent(row.id)}/credentials`,
                    issuedEdgeCredentialSchema,
                    { method: 'POST', body: { overlapS: Number(overlap.value) } },
                  );
                  showSecret(row.id, issued);
                  if (await refresh()) ok();
                } catch (err) {
                  fail(err);
                }
              },
            },
            at('rotate'),
          ),
          el(
            'button',
            {
              type: 'button',
              'data-action': 'revoke',
              onclick: async () => {
                try {
                  busy();
                  await api(
                    `/admin/edges/${encodeURIComponent(row.id)}/credentials`,
                    revokedEdgeCredentialsResponseSchema,
                    { method: 'DELETE' },
                  );
                  if (await refresh()) ok();
                } catch (err) {
                  fail(err);
                }
              },
            },
            at('revoke'),
          ),
        ];
      },
    },
    {
      plural: 'devices',
      fields: [
        { key: 'id', label: 'id' },
        { key: 'edge', label: 'edge' },
        { key: 'kind', label: 'kind' },
        { key: 'driver', label: 'driver' },
      ],
    },
    {
      plural: 'users',
      fields: [
        { key: 'id', label: 'id' },
        { key: 'name', label: 'name' },
        { key: 'role', label: 'role', type: 'select', options: ['village', 'town', 'county', 'admin'] },
        { key: 'place', label: 'place' },
        { key: 'password', label: 'password', type: 'password' },
      ],
      rowActions: (row) => {
        const pw = el('input', {
          type: 'password',
          'aria-label': at('password'),
          name: 'new-password',
          autocomplete: 'new-password',
        });
        return [
          pw,
          el(
            'button',
            {
              type: 'button',
              'data-action': 'reset-password',
              onclick: async () => {
                try {
                  busy();
                  await api(
                    `/admin/users/${encodeURIComponent(row.id)}/password`,
                    passwordSetResponseSchema,
                    {
                      method: 'PUT',
                      body: { password: pw.value },
                    },
                  );
                  pw.value = '';
                  if (await refresh()) ok();
                } catch (err) {
                  fail(err);
                }
              },
            },
            at('resetPassword'),
          ),
        ];
      },
    },
  ];

  function sectionTable(s: Section, rows: Entity[]): HTMLElement {
    const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
    const form = el(
      'form',
      {
        class: 'admin-add',
        'data-add': s.plural,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const body: Record<string, unknown> = {};
          for (const [k, input] of inputs) if (input.value !== '') body[k] = input.value;
          if (s.plural === 'users' && body.role === 'admin') body.place = null;
          try {
            busy();
            const made = await api(`/admin/${s.plural}`, createdEntityResponseSchema, {
              method: 'POST',
              body,
            });
            if (made.credential) showSecret(String(body.id), made.credential);
            if (await refresh()) ok();
          } catch (err) {
            fail(err);
          }
        },
      },
      ...s.fields.map((f) => {
        const input =
          f.type === 'select'
            ? el(
                'select',
                { name: f.key, 'aria-label': at(f.label) },
                ...(f.options ?? []).map((o) => el('option', { value: o }, o)),
              )
            : el('input', {
                name: f.key,
                placeholder: at(f.label),
                'aria-label': at(f.label),
                type: f.type ?? 'text',
              });
        inputs.set(f.key, input);
        return input;
      }),
      el('button', { type: 'submit', class: 'primary' }, at('add')),
    );
    const shown = s.fields.filter((f) => f.type !== 'password');
    return el(
      'section',
      { 'data-section': s.plural },
      el('h3', {}, at(s.plural)),
      el(
        'div',
        { class: 'table-wrap' },
        el(
          'table',
          { class: 'admin' },
          el('thead', {}, el('tr', {}, ...shown.map((f) => el('th', {}, at(f.label))), el('th', {}, ''))),
          el(
            'tbody',
            {},
            ...rows.map((row) =>
              el(
                'tr',
                { 'data-row': row.id },
                ...shown.map((f) => el('td', {}, String(row[f.key] ?? '—'))),
                el(
                  'td',
                  { class: 'actions' },
                  ...(s.rowActions?.(row) ?? []),
                  el(
                    'button',
                    {
                      type: 'button',
                      'data-action': 'remove',
                      onclick: async () => {
                        if (!window.confirm(at('confirmRemove'))) return;
                        try {
                          busy();
                          await api(
                            `/admin/${s.plural}/${encodeURIComponent(row.id)}`,
                            removedEntityResponseSchema,
                            { method: 'DELETE' },
                          );
                          if (await refresh()) ok();
                        } catch (err) {
                          fail(err);
                        }
                      },
                    },
                    at('remove'),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
      form,
    );
  }

  let gone = false;
  /** Shows the lists again; false when that failed (the status then says why). */
  async function refresh(): Promise<boolean> {
    try {
      const lists = await Promise.all(
        sections.map((s) =>
          api(`/admin/${s.plural}`, registryEntitiesResponseSchema).then((r) => r[s.plural] ?? []),
        ),
      );
      const log = await api('/admin/audit?limit=50', adminAuditResponseSchema);
      if (gone) return false;
      tables.replaceChildren(...sections.map((s, i) => sectionTable(s, lists[i]!)));
      audit.replaceChildren(
        el(
          'table',
          { class: 'admin-audit' },
          el(
            'thead',
            {},
            el('tr', {}, ...(['time', 'actor', 'action', 'id'] as const).map((k) => el('th', {}, at(k)))),
          ),
          el(
            'tbody',
            {},
            ...log.audit.map((a) =>
              el(
                'tr',
                {},
                el('td', {}, formatTime(a.ts)),
                el('td', {}, a.actor),
                el('td', {}, a.action),
                el('td', {}, `${a.entity} ${a.entityId}`),
              ),
            ),
          ),
        ),
      );
      document.body.dataset.rendered = 'admin';
      return true;
    } catch (err) {
      fail(err);
      return false;
    }
  }
  void refresh();
  return () => {
    gone = true;
  };
}
