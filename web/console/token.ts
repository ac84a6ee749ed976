// The bearer token: pasted by the user, kept in sessionStorage (this tab only, gone when it closes),
// sent by every call. The page never verifies it — the server does — it only shows what it claims.
import { byId } from './dom.js';

const KEY = 'twinapi.token';

interface Claims {
  sub?: string;
  role?: string;
  exp?: number;
}

/** The payload of a JWT, undecoded if it is not one (the server will say so). */
function claimsOf(token: string): Claims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Claims;
  } catch {
    return undefined;
  }
}

export class TokenStore {
  private readonly listeners: (() => void)[] = [];

  get value(): string {
    return sessionStorage.getItem(KEY) ?? '';
  }

  set(token: string): void {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
    for (const listener of this.listeners) listener();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}

/** The token form: paste and use, or forget; says what the token in use claims. */
export function tokenForm(tokens: TokenStore): void {
  const form = byId('token-form', HTMLFormElement);
  const input = byId('token', HTMLInputElement);
  const state = byId('token-state', HTMLElement);
  const render = () => {
    const token = tokens.value;
    const claims = claimsOf(token);
    if (!token) state.textContent = 'No token: every call will be refused (401).';
    else if (!claims) state.textContent = 'A token is set, but it is not a JWT: the server will refuse it.';
    else {
      const expires = claims.exp ? `, expires ${new Date(claims.exp * 1000).toLocaleString()}` : '';
      state.textContent = `Token set: role ${claims.role ?? '?'}, subject ${claims.sub ?? '?'}${expires}.`;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    tokens.set(input.value.trim().replace(/^Bearer\s+/i, ''));
  });
  byId('token-forget', HTMLButtonElement).addEventListener('click', () => {
    input.value = '';
    tokens.set('');
  });
  input.value = tokens.value;
  tokens.onChange(render);
  render();
}
