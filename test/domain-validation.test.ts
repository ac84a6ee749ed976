import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DomainError, ErrorCode } from '../src/domain/errors.js';
import { rejectsWith } from './support/failures.js';
import { aUser, changing, openStack } from './support/helpers.js';

describe('validation', async () => {
  const { service } = await openStack();
  const invalid = (p: Promise<unknown>) => rejectsWith<DomainError>(p, ErrorCode.INVALID_ARGUMENT);
  const fields = (e: DomainError) => e.violations.map((v) => v.field).sort();

  it('trims the name and defaults the role to USER', async () => {
    const user = await service.createUser(aUser({ name: '  Ada Lovelace  ', role: undefined }));
    assert.equal(user.name, 'Ada Lovelace');
    assert.equal(user.role, 'USER_ROLE_USER');
    assert.match(user.id, /^[0-9a-f-]{36}$/);
    assert.ok(user.createdAt instanceof Date);
  });

  it('requires a name, and one of at most 200 characters', async () => {
    assert.deepEqual(fields(await invalid(service.createUser(aUser({ name: '   ' })))), ['name']);
    assert.deepEqual(fields(await invalid(service.createUser(aUser({ name: 'x'.repeat(201) })))), ['name']);
    await service.createUser(aUser({ name: 'x'.repeat(200) }));
  });

  it('requires a valid email', async () => {
    for (const email of ['', 'plain', 'a@b', 'a b@c.de', '@c.de', `${'x'.repeat(250)}@c.de`]) {
      const error = await invalid(service.createUser(aUser({ email })));
      assert.deepEqual(fields(error), ['email'], email);
    }
  });

  it('rejects unknown roles', async () => {
    const error = await invalid(service.createUser(aUser({ role: '7' })));
    assert.deepEqual(fields(error), ['role']);
  });

  it('bounds tags in number and length, naming each bad tag', async () => {
    const tooMany = Array.from({ length: 33 }, (_, i) => `t${i}`);
    assert.deepEqual(fields(await invalid(service.createUser(aUser({ tags: tooMany })))), ['tags']);
    const error = await invalid(service.createUser(aUser({ tags: ['ok', '', 'y'.repeat(65)] })));
    assert.deepEqual(fields(error), ['tags[1]', 'tags[2]']);
    await service.createUser(aUser({ tags: Array.from({ length: 32 }, () => 'z'.repeat(64)) }));
  });

  it('reports every bad field at once', async () => {
    const error = await invalid(service.createUser({ name: '', email: 'nope', role: 'BOSS', tags: [''] }));
    assert.deepEqual(fields(error), ['email', 'name', 'role', 'tags[0]']);
    assert.match(error.message, /name: is required/);
  });

  it('rejects a duplicate email case-insensitively', async () => {
    await service.createUser(aUser({ email: 'Grace@Example.com' }));
    const error = await rejectsWith<DomainError>(
      service.createUser(aUser({ email: 'grace@EXAMPLE.com' })),
      ErrorCode.EMAIL_ALREADY_EXISTS,
    );
    assert.deepEqual(fields(error), ['email']);
  });

  it('updates only the given fields, validating them', async () => {
    const user = await service.createUser(aUser({ tags: ['a'] }));
    const updated = await service.updateUser(user.id, changing({ name: ' New Name ' }));
    assert.equal(updated.name, 'New Name');
    assert.deepEqual(updated.tags, ['a']);
    assert.equal(updated.email, user.email);
    assert.ok(updated.updatedAt.getTime() >= user.updatedAt.getTime());
    assert.deepEqual(fields(await invalid(service.updateUser(user.id, changing({ email: 'bad' })))), ['email']);
    assert.deepEqual(fields(await invalid(service.updateUser(user.id, changing({})))), ['fields']);
    const unknown = await invalid(service.updateUser(user.id, changing({ id: 'x' } as never)));
    assert.deepEqual(fields(unknown), ['fields[0]']);
  });

  it('refuses to update an email to one taken by another user', async () => {
    const a = await service.createUser(aUser());
    const b = await service.createUser(aUser());
    await rejectsWith(
      service.updateUser(b.id, changing({ email: a.email.toUpperCase() })),
      ErrorCode.EMAIL_ALREADY_EXISTS,
    );
    assert.equal((await service.getUser(b.id)).email, b.email);
  });

  it('reports missing and absent users distinctly', async () => {
    await invalid(service.getUser(''));
    await rejectsWith(service.getUser('00000000-0000-0000-0000-000000000000'), ErrorCode.USER_NOT_FOUND);
    await rejectsWith(service.updateUser('nope', changing({ name: 'x' })), ErrorCode.USER_NOT_FOUND);
    await rejectsWith(service.deleteUser('nope'), ErrorCode.USER_NOT_FOUND);
  });

  it('deletes a user', async () => {
    const user = await service.createUser(aUser());
    await service.deleteUser(user.id);
    await rejectsWith(service.getUser(user.id), ErrorCode.USER_NOT_FOUND);
  });
});
