import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { describeError } from '../src/grpc/client.js';
import { ERROR_DOMAIN } from '../src/grpc/errors.js';
import { UserRole } from '../src/gen/users/v1/users.js';
import { aUser } from './helpers.js';
import { startStack } from './stack.js';

/** Awaits a failing call and returns what the client can learn of the failure. */
async function failure(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    return { ...describeError(error), details: (error as { details?: string }).details };
  }
  throw new Error('the call succeeded');
}

describe('gRPC unary RPCs', async () => {
  const { client } = await startStack();

  it('creates, reads, updates with a field mask and deletes a user', async () => {
    const created = await client.createUser({
      name: ' Ada ',
      email: 'ada@example.com',
      role: UserRole.USER_ROLE_ADMIN,
      tags: ['math'],
    });
    assert.equal(created.name, 'Ada');
    assert.equal(created.role, UserRole.USER_ROLE_ADMIN);
    assert.deepEqual(await client.getUser({ id: created.id }), created);

    const updated = await client.updateUser({
      user: { id: created.id, name: 'Ada Lovelace', email: 'ignored@example.com' },
      updateMask: ['name'],
    });
    assert.equal(updated.name, 'Ada Lovelace');
    assert.equal(updated.email, 'ada@example.com', 'fields outside the mask are untouched');

    await client.deleteUser({ id: created.id });
    const gone = await failure(client.getUser({ id: created.id }));
    assert.equal(gone.code, status.NOT_FOUND);
    assert.equal(gone.errorType, 'USER_NOT_FOUND');
    assert.equal(gone.errorInfo?.reason, 'USER_NOT_FOUND');
    assert.equal(gone.errorInfo?.domain, ERROR_DOMAIN);
    assert.equal(gone.errorInfo?.metadata.id, created.id);
    assert.equal((await failure(client.deleteUser({ id: created.id }))).code, status.NOT_FOUND);
  });

  it('answers invalid input with INVALID_ARGUMENT and a BadRequest naming every field', async () => {
    const bad = await failure(client.createUser({ name: '', email: 'nope', tags: [''] }));
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.equal(bad.errorType, 'INVALID_ARGUMENT');
    assert.deepEqual(bad.badRequest?.fieldViolations.map((v) => v.field).sort(), ['email', 'name', 'tags[0]']);
    assert.match(bad.details ?? '', /name: is required/);
    assert.equal((await failure(client.getUser({ id: '' }))).code, status.INVALID_ARGUMENT);
  });

  it('answers a duplicate email with ALREADY_EXISTS', async () => {
    await client.createUser(aUser({ email: 'twice@example.com' }));
    const dup = await failure(client.createUser(aUser({ email: 'TWICE@example.com' })));
    assert.equal(dup.code, status.ALREADY_EXISTS);
    assert.equal(dup.errorType, 'EMAIL_ALREADY_EXISTS');
    assert.equal(dup.badRequest?.fieldViolations[0]?.field, 'email');
  });

  it('rejects unknown and empty field-mask paths', async () => {
    const user = await client.createUser(aUser());
    const unknown = await failure(
      client.updateUser({ user: { id: user.id, name: 'x' }, updateMask: ['name', 'created_at'] }),
    );
    assert.equal(unknown.code, status.INVALID_ARGUMENT);
    assert.deepEqual(
      unknown.badRequest?.fieldViolations.map((v) => v.field),
      ['update_mask.paths[1]'],
    );
    const empty = await failure(client.updateUser({ user: { id: user.id, name: 'x' }, updateMask: [] }));
    assert.equal(empty.code, status.INVALID_ARGUMENT);
    assert.equal((await client.getUser({ id: user.id })).name, user.name);
    const missing = await failure(client.updateUser({ user: { id: 'nope', name: 'x' }, updateMask: ['name'] }));
    assert.equal(missing.code, status.NOT_FOUND);
  });

  it('refuses a message larger than the receive limit with RESOURCE_EXHAUSTED', async () => {
    const huge = await failure(client.createUser(aUser({ name: 'x'.repeat(5 * 1024 * 1024) })));
    assert.equal(huge.code, status.RESOURCE_EXHAUSTED);
  });
});

describe('gRPC internal errors', async () => {
  it('answers INTERNAL without leaking internals when the store fails', async () => {
    const { client, app } = await startStack();
    const user = await client.createUser(aUser());
    // Break the database underneath a running server.
    await app.store.close();
    const broken = await failure(client.getUser({ id: user.id }));
    assert.equal(broken.code, status.INTERNAL);
    assert.equal(broken.errorType, 'INTERNAL');
    assert.equal(broken.details, 'internal error');
  });
});
