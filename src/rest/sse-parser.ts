/** One Server-Sent Events message: the fields the event stream uses. */
export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/**
 * Splits a text/event-stream into messages as chunks arrive (a message may
 * span chunks); comment lines (heartbeats) are handed to `onComment`.
 */
export class SseParser {
  private buffer = '';

  constructor(private readonly onComment: (text: string) => void = () => {}) {}

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    let end;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message: SseMessage = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.onComment(line.slice(1).trim());
        else {
          const colon = line.indexOf(': ');
          if (colon > 0) message[line.slice(0, colon) as keyof SseMessage] = line.slice(colon + 2);
        }
      }
      if (message.event) messages.push(message);
    }
    return messages;
  }
}
