import { type AlertText, peopleResponseSchema } from '@village/protocol/api';
import { renderAlertText } from '@village/rules';
import { api } from './api-client.js';
import { currentLang, t } from './i18n.js';

/**
 * Alert and incident texts in the officer's language, from the structured fields the API sends,
 * with rules/alert-text.ts (the same rendering the cloud uses for notifications). People appear
 * by the display name /people gives this officer: masked for town and county officers.
 */
let names: Promise<Map<string, string>> | undefined;

export function loadNames(): Promise<Map<string, string>> {
  names ??= api('/people', peopleResponseSchema)
    .then((r) => new Map(r.people.map((p) => [p.id, p.name])))
    .catch(() => {
      names = undefined;
      return new Map<string, string>();
    });
  return names;
}

export function textOf(
  text: AlertText | null | undefined,
  fallback: string,
  people: Map<string, string>,
): string {
  if (!text) return fallback;
  return renderAlertText(text, currentLang(), (id) => people.get(id) ?? t('someone'));
}
