import type { UserService } from '../domain/user-service.js';
import type { NewUserInput } from '../domain/user.js';

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Radia',
  'Edsger',
  'Frances',
  'Donald',
  'Hedy',
  'John',
  'Katherine',
  'Tim',
  'Sophie',
  'Guido',
  'Anita',
  'Bjarne',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Perlman',
  'Dijkstra',
  'Allen',
  'Knuth',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Berners-Lee',
  'Wilson',
  'van Rossum',
  'Borg',
  'Stroustrup',
];
const TAGS = ['engineering', 'design', 'sales', 'support', 'beta', 'oncall', 'remote', 'emea', 'apac', 'americas'];

/** A deterministic, realistic-looking user: the same `n` always gives the same person. */
export function demoUser(n: number, runId: string): NewUserInput {
  const first = FIRST[n % FIRST.length]!;
  const last = LAST[Math.floor(n / FIRST.length) % LAST.length]!;
  const tags = TAGS.filter((_, i) => (n >> i) % 3 === 0).slice(0, 3);
  return {
    name: `${first} ${last}`,
    email: `${first}.${last}.${runId}.${n}@example.com`.toLowerCase().replace(/\s+/g, ''),
    role: n % 10 === 0 ? 'USER_ROLE_ADMIN' : 'USER_ROLE_USER',
    tags,
  };
}

/** Creates `count` users in atomic batches; `runId` keeps emails unique across runs. */
export async function seed(service: UserService, count: number, batchSize = 500): Promise<number> {
  const runId = Date.now().toString(36);
  let created = 0;
  while (created < count) {
    const size = Math.min(batchSize, count - created);
    const batch = Array.from({ length: size }, (_, i) => demoUser(created + i, runId));
    created += (await service.createUsers(batch)).length;
  }
  return created;
}
