// Create, edit and delete users over REST. The server validates (the page does not second-guess
// it: forms are novalidate); its field errors land next to the field they name, and its message
// under the form.
import { byId } from './dom.js';
import type { ApiError, Rest, UserJson } from './rest.js';

type Values = Pick<UserJson, 'name' | 'email' | 'role' | 'tags'>;

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

  say(text: string, kind: 'ok' | 'error' = 'ok'): void {
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
    this.editWhich.textContent = `Editing ${user.name} (${user.id}).`;
    byId('edit-name', HTMLInputElement).focus();
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
    const patch: Partial<Values> = {};
    if (after.name !== before.name) patch.name = after.name;
    if (after.email !== before.email) patch.email = after.email;
    if (after.role !== before.role) patch.role = after.role;
    if (after.tags.join('\n') !== before.tags.join('\n')) patch.tags = after.tags;
    if (Object.keys(patch).length === 0) return this.edit.say('Nothing changed.');
    try {
      const user = await this.rest<UserJson>('PATCH', `/users/${encodeURIComponent(before.id)}`, patch);
      this.editing = user;
      this.edit.say(`Saved ${user.name}.`);
      this.changed('updated', user);
    } catch (error) {
      this.edit.showError(error as ApiError, 'Save');
    }
  }

  private async submitDelete(): Promise<void> {
    const user = this.editing;
    if (!user || !confirm(`Delete ${user.name} (${user.email || user.id})?`)) return;
    this.edit.clearErrors();
    try {
      await this.rest('DELETE', `/users/${encodeURIComponent(user.id)}`);
      this.editing = undefined;
      this.edit.form.reset();
      this.editFields.disabled = true;
      this.editWhich.textContent = 'Choose a user in the table to edit it.';
      this.edit.say(`Deleted ${user.name}.`);
      this.changed('deleted');
    } catch (error) {
      this.edit.showError(error as ApiError, 'Delete');
    }
  }
}
