// gRPC-only matters of the unary RPCs: how errors travel (status, error-type, google.rpc details),
// field-mask paths, message limits. What every protocol shares is in behaviour.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { UserRole } from '../src/gen/users/v1/users.js';
import { ERROR_DOMAIN } from '../src/contract/errors.js';
import { grpcFailure } from './support/failures.js';
import { aUser } from './support/helpers.js';
import { startStack } from './support/stack.js';

describe('gRPC unary RPCs', async () => {
  const { client } = await startStack();

  it('carries error-type and a google.rpc.Status with ErrorInfo on every error', async () => {
    const created = await client.createUser(aUser({ role: UserRole.USER_ROLE_ADMIN }));
    assert.equal(created.role, UserRole.USER_ROLE_ADMIN);
    await client.deleteUser({ id: created.id });
    const gone = await grpcFailure(client.getUser({ id: created.id }));
    assert.equal(gone.code, status.NOT_FOUND);
    assert.equal(gone.errorType, 'USER_NOT_FOUND');
    assert.equal(gone.errorInfo?.reason, 'USER_NOT_FOUND');
    assert.equal(gone.errorInfo?.domain, ERROR_DOMAIN);
    assert.equal(gone.errorInfo?.metadata.id, created.id);
  });

  it('names every bad field in a BadRequest, and in the status message', async () => {
    const bad = await grpcFailure(client.createUser({ name: '', email: 'nope', tags: [''] }));
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.deepEqual(bad.badRequest?.fieldViolations.map((v) => [v.field, v.reason]).sort(), [
      ['email', 'INVALID_ARGUMENT'],
      ['name', 'INVALID_ARGUMENT'],
      ['tags[0]', 'INVALID_ARGUMENT'],
    ]);
    assert.match(bad.details ?? '', /name: is required/);
    assert.equal((await grpcFailure(client.getUser({ id: '' }))).code, status.INVALID_ARGUMENT);
  });

  it('names unknown and missing field-mask paths as update_mask.paths', async () => {
    const user = await client.createUser(aUser());
    const unknown = await grpcFailure(
      client.updateUser({ user: { id: user.id, name: 'x' }, updateMask: ['name', 'created_at'] }),
    );
    assert.equal(unknown.code, status.INVALID_ARGUMENT);
    assert.deepEqual(
      unknown.badRequest?.fieldViolations.map((v) => v.field),
      ['update_mask.paths[1]'],
    );
    const empty = await grpcFailure(client.updateUser({ user: { id: user.id, name: 'x' }, updateMask: [] }));
    assert.deepEqual(
      empty.badRequest?.fieldViolations.map((v) => v.field),
      ['update_mask.paths'],
    );
    assert.equal((await client.getUser({ id: user.id })).name, user.name);
  });

  it('refuses a message larger than the receive limit with RESOURCE_EXHAUSTED', async () => {
    const huge = await grpcFailure(client.createUser(aUser({ name: 'x'.repeat(5 * 1024 * 1024) })));
    assert.equal(huge.code, status.RESOURCE_EXHAUSTED);
  });
});
