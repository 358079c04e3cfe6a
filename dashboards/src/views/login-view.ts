import { type User, loginResponseSchema } from '@village/protocol/api';
import { ApiFailure, api } from '../api-client.js';
import { el } from '../dom-element.js';
import { t } from '../i18n.js';

/** The login form; resolves once the cloud accepted the credentials and set the session cookie. */
export function renderLogin(root: HTMLElement): Promise<User> {
  return new Promise((resolve) => {
    const username = el('input', { name: 'username', autocomplete: 'username', required: true });
    const password = el('input', {
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
    });
    const error = el('p', { class: 'error', role: 'alert' });
    const form = el(
      'form',
      {
        class: 'login',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          error.textContent = '';
          try {
            const { user } = await api('/login', loginResponseSchema, {
              method: 'POST',
              body: { username: username.value, password: password.value },
            });
            resolve(user);
          } catch (err) {
            error.textContent =
              err instanceof ApiFailure && err.status === 401 ? t('loginFailed') : (err as Error).message;
          }
        },
      },
      el('h1', {}, t('title')),
      el('label', {}, t('username'), username),
      el('label', {}, t('password'), password),
      el('button', { type: 'submit', class: 'primary' }, t('login')),
      error,
    );
    root.replaceChildren(form);
    document.body.dataset.rendered = 'login';
    username.focus();
  });
}
