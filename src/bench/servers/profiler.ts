// A lab server's CPU profile over a window the lab chooses (the ledger scenario): started and
// stopped by IPC messages, written where the lab asks, through node:inspector on the server's own
// thread. Outside that window the server runs unprofiled.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

export interface ProfileMessage {
  type: 'profile-start' | 'profile-stop';
  /** Where `profile-stop` writes the profile (a .cpuprofile, Chrome's format). */
  file?: string;
  /** Sampling interval, µs. */
  intervalUs?: number;
}

/** Answers the lab's profile messages on this process's IPC channel. */
export function answerProfileMessages(): void {
  let session: Session | undefined;
  process.on('message', (message: ProfileMessage) => {
    if (message.type === 'profile-start' && !session) {
      session = new Session();
      session.connect();
      session.post('Profiler.enable');
      session.post('Profiler.setSamplingInterval', { interval: message.intervalUs ?? 250 });
      session.post('Profiler.start');
      process.send?.({ type: 'profile-started' });
    } else if (message.type === 'profile-stop' && session) {
      const done = session;
      session = undefined;
      done.post('Profiler.stop', (error, result) => {
        if (!error && message.file) writeFileSync(message.file, JSON.stringify(result.profile));
        done.disconnect();
        process.send?.({ type: 'profile-stopped', ...(error ? { error: error.message } : {}) });
      });
    }
  });
}
