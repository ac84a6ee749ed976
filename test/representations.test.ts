// The representation cache: one encoding per user version, form and view; bounded; off at 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepresentationCache } from '../src/contract/representations.js';
import type { User } from '../src/domain/user.js';

const user = (id: string, revision: number, email = `${id}@example.com`): User => ({
  id,
  name: id,
  email,
  role: 'USER_ROLE_USER',
  tags: [],
  createdAt: new Date(0),
  updatedAt: new Date(0),
  revision,
});

describe('the representation cache', () => {
  it('encodes a version once per form, and a new version, a hidden email or another form again', () => {
    const cache = new RepresentationCache<string>(100);
    let made = 0;
    const encode = (u: User, form: string) =>
      cache.get(u, form, () => `${u.id}/${u.revision}/${u.email}/${form}/${++made}`);
    const first = encode(user('a', 1), 'json');
    assert.equal(encode(user('a', 1), 'json'), first, 'the same version and form: kept');
    assert.notEqual(encode(user('a', 2), 'json'), first, 'a write made a new version');
    assert.notEqual(encode(user('a', 1, ''), 'json'), first, 'the form with the email hidden is another content');
    assert.notEqual(encode(user('a', 1), 'proto'), first, 'another form');
    assert.equal(made, 4);
  });

  it('keeps at most its capacity, the first made going first; keeps nothing at 0', () => {
    const cache = new RepresentationCache<number>(2);
    let made = 0;
    const encode = (id: string) => cache.get(user(id, 1), 'json', () => ++made);
    encode('a');
    encode('b');
    encode('c');
    assert.equal(cache.size, 2);
    assert.equal(encode('b'), 2, 'b is still kept');
    assert.equal(encode('a'), 4, 'a went first, and is made again');
    const none = new RepresentationCache<number>(0);
    let calls = 0;
    none.get(user('a', 1), 'json', () => ++calls);
    none.get(user('a', 1), 'json', () => ++calls);
    assert.equal(calls, 2);
    assert.equal(none.size, 0);
  });
});
