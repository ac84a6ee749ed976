import { once } from 'node:events';
import { after } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { UserService } from '../../src/domain/user-service.js';

type Method = 'createUser' | 'updateUser';
type Reply = { id: number; ok: boolean; value?: unknown; code?: string };

/** The service again, in a thread of its own with its own connection to `path`; closed after the test file. */
export async function secondInstance(path: string) {
  const worker = new Worker(new URL('./fixtures/ts-worker.mjs', import.meta.url), {
    workerData: { path, entry: new URL('./fixtures/service-worker.ts', import.meta.url).href },
  });
  const pending = new Map<number, (reply: Reply) => void>();
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve) => (ready = resolve));
  worker.on('message', (message: Reply & { ready?: boolean }) => {
    if (message.ready) ready();
    else pending.get(message.id)?.(message);
  });
  after(async () => {
    worker.postMessage(null);
    await once(worker, 'exit');
  });
  await started;
  let next = 0;
  return {
    /** Calls the service there; a DomainError comes back as `{ ok: false, code }`. */
    call<M extends Method>(method: M, ...args: Parameters<UserService[M]>): Promise<Reply> {
      const id = next++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ id, method, args });
      });
    },
  };
}
