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
        if (line.startsWith(':')) {
          this.onComment(line.slice(1).trim());
          continue;
        }
        // As the SSE standard reads a line: the field up to the first colon, one space after it dropped;
        // several data lines are one value, joined by newlines.
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
        if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
        else if (field === 'id' || field === 'event') message[field] = value;
      }
      // A block of comments alone (a heartbeat) is no message.
      if (message.event !== undefined || message.data !== undefined) messages.push(message);
    }
    return messages;
  }
}
