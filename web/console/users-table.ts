// The users, a page at a time: REST `GET /users?limit&page_token&filter` (cursor pages, newest
// first). The server's tokens only go forward, so "Previous" pops the tokens of the pages seen.
import { byId, element } from './dom.js';
import type { ApiError, PageJson, Rest, UserJson } from './rest.js';

const shortRole = (role: string) => role.replace(/^USER_ROLE_/, '').toLowerCase();

export class UsersTable {
  /** The tokens of the pages before this one; the first page's token is ''. */
  private previous: string[] = [];
  private current = '';
  private next = '';
  private filter = '';
  private shown: UserJson[] = [];
  /** Answers to an older load are dropped: the newest request wins. */
  private requests = 0;
  private readonly body = byId('users-body', HTMLTableSectionElement);
  private readonly status = byId('users-status', HTMLElement);
  private readonly limit = byId('users-limit', HTMLSelectElement);
  private readonly buttons = {
    first: byId('users-first', HTMLButtonElement),
    previous: byId('users-previous', HTMLButtonElement),
    next: byId('users-next', HTMLButtonElement),
  };

  constructor(
    private readonly rest: Rest,
    /** The user whose Edit button was pressed. */
    private readonly onEdit: (user: UserJson) => void,
  ) {
    byId('users-filter-form', HTMLFormElement).addEventListener('submit', (event) => {
      event.preventDefault();
      this.filter = byId('users-filter', HTMLInputElement).value.trim();
      void this.first();
    });
    this.limit.addEventListener('change', () => void this.first());
    byId('users-refresh', HTMLButtonElement).addEventListener('click', () => void this.load(this.current));
    this.buttons.first.addEventListener('click', () => void this.first());
    this.buttons.previous.addEventListener('click', () => {
      const token = this.previous.pop();
      if (token !== undefined) void this.load(token);
    });
    this.buttons.next.addEventListener('click', () => {
      if (!this.next) return;
      this.previous.push(this.current);
      void this.load(this.next);
    });
  }

  /** The users on the page now. */
  get users(): readonly UserJson[] {
    return this.shown;
  }

  /** Back to the first page (a new filter or page size starts there). */
  first(): Promise<void> {
    this.previous = [];
    return this.load('');
  }

  /** Reloads the page on show (after a change). */
  refresh(): Promise<void> {
    return this.load(this.current);
  }

  private async load(token: string): Promise<void> {
    const request = ++this.requests;
    const query = new URLSearchParams({ limit: this.limit.value, page_token: token });
    if (this.filter) query.set('filter', this.filter);
    this.status.textContent = 'Loading users…';
    try {
      const page = await this.rest<PageJson>('GET', `/users?${query}`);
      if (request !== this.requests) return;
      this.current = token;
      this.next = page.nextPageToken;
      this.shown = page.users;
      this.render();
      const number = this.previous.length + 1;
      const filtered = this.filter ? ` matching “${this.filter}”` : '';
      this.status.textContent = `Page ${number}: ${page.users.length} user${page.users.length === 1 ? '' : 's'}${filtered}.`;
    } catch (error) {
      if (request !== this.requests) return;
      const { status, code, message } = error as ApiError;
      this.status.textContent = `Could not list users (${status || 'no answer'} ${code}): ${message}.`;
    } finally {
      if (request === this.requests) {
        this.buttons.first.disabled = this.previous.length === 0;
        this.buttons.previous.disabled = this.previous.length === 0;
        this.buttons.next.disabled = !this.next;
      }
    }
  }

  private render(): void {
    const rows = this.shown.map((user) => {
      const row = element('tr', '', { 'data-user-id': user.id });
      row.append(
        element('td', user.name),
        // A `user` token sees only its own email: the others arrive empty.
        element('td', user.email || '(hidden)'),
        element('td', shortRole(user.role)),
        element('td', user.tags.join(', ')),
        element('td', new Date(user.createdAt).toLocaleString()),
      );
      const edit = element('button', 'Edit', { type: 'button', 'aria-label': `Edit ${user.name}` });
      edit.addEventListener('click', () => this.onEdit(user));
      const actions = element('td');
      actions.append(edit);
      row.append(actions);
      return row;
    });
    if (rows.length === 0) {
      const empty = element('td', 'No users.', { colspan: '6' });
      const row = element('tr');
      row.append(empty);
      rows.push(row);
    }
    this.body.replaceChildren(...rows);
  }
}
