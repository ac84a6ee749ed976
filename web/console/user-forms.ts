// Create, edit and delete users over REST. The server validates (the page does not second-guess
// it: forms are novalidate); its field errors land next to the field they name, and its message
// under the form.
import { byId } from './dom.js';
import type { ApiError, Rest, UserJson } from './rest.js';

type Values = Pick<UserJson, 'name' | 'email' | 'role' | 'tags'>;

/** A write about the version `user` is at (its etag), as REST's If-Match. */
const ifMatch = (user: UserJson): RequestInit => ({ headers: { 'if-match': user.etag } });

const isConflict = (error: unknown) => (error as ApiError).code === 'PRECONDITION_FAILED';

const FIELDS = ['name', 'email', 'role', 'tags'] as const;

/** A field's value as the person reads it. */
const shown = (values: Values, field: keyof Values) =>
  field === 'tags' ? values.tags.join(', ') || '(none)' : values[field] || '(hidden)';

/** The fields whose values differ between two versions. */
const changedFields = (before: Values, after: Values) =>
  FIELDS.filter((field) => shown(before, field) !== shown(after, field));

/** A form whose controls are named as the API's fields (name, email, role, tags). */
class UserForm {
  readonly form: HTMLFormElement;
  private readonly message: HTMLElement;
  /** The error elements shown now, by control. */
  private readonly errors = new Map<HTMLElement, HTMLElement>();

  constructor(private readonly prefix: string) {
    this.form = byId(`${prefix}-form`, HTMLFormElement);
    this.message = byId(`${prefix}-message`, HTMLElement);
  }

  private control(name: string): HTMLInputElement | HTMLSelectElement {
    const control = this.form.elements.namedItem(name);
    if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement))
      throw new Error(`#${this.prefix}-form has no control ${name}`);
    return control;
  }

  get values(): Values {
    return {
      name: this.control('name').value,
      email: this.control('email').value,
      role: this.control('role').value,
      tags: this.control('tags')
        .value.split(',')
        .map((tag) => tag.trim())
        .filter(Boolean),
    };
  }

  set values(values: Values) {
    this.control('name').value = values.name;
    this.control('email').value = values.email;
    this.control('role').value = values.role;
    this.control('tags').value = values.tags.join(', ');
  }

  say(text: string, kind: 'ok' | 'error' | 'conflict' = 'ok'): void {
    this.message.textContent = text;
    this.message.dataset.kind = kind;
  }

  clearErrors(): void {
    for (const [control, error] of this.errors) {
      control.removeAttribute('aria-invalid');
      const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== error.id);
      if (ids.length > 0) control.setAttribute('aria-describedby', ids.join(' '));
      else control.removeAttribute('aria-describedby');
      error.textContent = '';
    }
    this.errors.clear();
    this.say('');
  }

  /** The server's refusal: each bad field next to its control (tags[2] is the tags control), the rest below. */
  showError(error: ApiError, action: string): void {
    this.clearErrors();
    const elsewhere: string[] = [];
    for (const { field, description } of error.details) {
      const name = field.replace(/\[\d+\]$/, '');
      const control = this.form.elements.namedItem(name);
      const target = document.getElementById(`${this.prefix}-${name}-error`);
      if (!(control instanceof HTMLInputElement || control instanceof HTMLSelectElement) || !target) {
        elsewhere.push(`${field}: ${description}`);
        continue;
      }
      target.textContent = [target.textContent, field === name ? description : `${field}: ${description}`]
        .filter(Boolean)
        .join('; ');
      control.setAttribute('aria-invalid', 'true');
      const ids = (control.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
      if (!ids.includes(target.id)) control.setAttribute('aria-describedby', [...ids, target.id].join(' '));
      this.errors.set(control, target);
    }
    const status = error.status ? `${error.status} ${error.code}` : error.code;
    this.say(`${action} failed (${status}): ${[error.message, ...elsewhere].join('; ')}`, 'error');
    // The first bad field takes the focus, so a keyboard user lands where the fix is.
    this.errors.keys().next().value?.focus();
  }
}

export class UserForms {
  private readonly create = new UserForm('create');
  private readonly edit = new UserForm('edit');
  private editing?: UserJson;
  private readonly editFields = byId('edit-fields', HTMLFieldSetElement);
  private readonly editWhich = byId('edit-which', HTMLElement);

  constructor(
    private readonly rest: Rest,
    /** After a change went through (the user as it is now; none once deleted): the table reloads. */
    private readonly changed: (change: 'created' | 'updated' | 'deleted', user?: UserJson) => void,
  ) {
    this.create.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submitCreate();
    });
    this.edit.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submitEdit();
    });
    byId('edit-delete', HTMLButtonElement).addEventListener('click', () => void this.submitDelete());
  }

  /** Loads `user` into the edit form and moves the focus there. */
  startEditing(user: UserJson): void {
    this.editing = user;
    this.edit.clearErrors();
    this.edit.values = user;
    this.editFields.disabled = false;
    this.sayEditing(user);
    byId('edit-name', HTMLInputElement).focus();
  }

  /** Which user (as it is stored now) the edit form is about. */
  private sayEditing(user: UserJson): void {
    this.editWhich.textContent = `Editing ${user.name} (${user.id}).`;
  }

  private async submitCreate(): Promise<void> {
    this.create.clearErrors();
    try {
      const user = await this.rest<UserJson>('POST', '/users', this.create.values);
      this.create.form.reset();
      this.create.say(`Created ${user.name} (${user.id}).`);
      this.changed('created', user);
    } catch (error) {
      this.create.showError(error as ApiError, 'Create');
    }
  }

  private async submitEdit(): Promise<void> {
    const before = this.editing;
    if (!before) return;
    this.edit.clearErrors();
    // Only what changed: PATCH changes the fields present, and a user may not even name its role.
    const after = this.edit.values;
    const fields = changedFields(before, after);
    if (fields.length === 0) return this.edit.say('Nothing changed.');
    const patch = Object.fromEntries(fields.map((field) => [field, after[field]])) as Partial<Values>;
    try {
      // Only the version the person saw: a change someone made since is not overwritten unseen.
      const user = await this.rest<UserJson>(
        'PATCH',
        `/users/${encodeURIComponent(before.id)}`,
        patch,
        ifMatch(before),
      );
      this.editing = user;
      this.edit.say(`Saved ${user.name}.`);
      this.changed('updated', user);
    } catch (error) {
      if (isConflict(error)) return this.showConflict(before, 'Not saved', 'Save again to write your values over it');
      this.edit.showError(error as ApiError, 'Save');
    }
  }

  /**
   * The user changed since the form loaded it (412). Nothing was written. The form merges: a field
   * the person edited keeps their value, any other shows the value stored now; the message says what
   * changed meanwhile and where both changed the same field. The version stored now is the one the
   * next save or delete is about.
   */
  private async showConflict(before: UserJson, what: string, next: string): Promise<void> {
    let now: UserJson;
    try {
      now = await this.rest<UserJson>('GET', `/users/${encodeURIComponent(before.id)}`);
    } catch (error) {
      const gone = (error as ApiError).code === 'USER_NOT_FOUND';
      if (gone) return this.edit.say(`${what}: someone deleted ${before.name} meanwhile.`, 'conflict');
      return this.edit.showError(error as ApiError, what);
    }
    const mine = this.edit.values;
    const edited = changedFields(before, mine);
    const theirs = changedFields(before, now);
    const merged: Values = { ...mine };
    for (const field of theirs) if (!edited.includes(field)) Object.assign(merged, { [field]: now[field] });
    this.editing = now;
    this.sayEditing(now);
    this.edit.values = merged;
    this.changed('updated', now);
    const both = theirs.filter((field) => edited.includes(field));
    this.edit.say(
      `${what}: someone else changed this user since you opened it (version ${before.revision} → ${now.revision}` +
        `${theirs.length > 0 ? `: ${theirs.map((field) => `${field} “${shown(now, field)}”`).join(', ')}` : ''}). ` +
        (both.length > 0 ? `You both changed ${both.join(' and ')}: the form keeps yours. ` : '') +
        `${next}, or pick the user again to start over.`,
      'conflict',
    );
  }

  private async submitDelete(): Promise<void> {
    const user = this.editing;
    if (!user || !confirm(`Delete ${user.name} (${user.email || user.id})?`)) return;
    this.edit.clearErrors();
    try {
      await this.rest('DELETE', `/users/${encodeURIComponent(user.id)}`, undefined, ifMatch(user));
      this.editing = undefined;
      this.edit.form.reset();
      this.editFields.disabled = true;
      this.editWhich.textContent = 'Choose a user in the table to edit it.';
      this.edit.say(`Deleted ${user.name}.`);
      this.changed('deleted');
    } catch (error) {
      if (isConflict(error)) return this.showConflict(user, 'Not deleted', 'Delete again if you still mean to');
      this.edit.showError(error as ApiError, 'Delete');
    }
  }
}
