/**
 * Server-Sent Events parsed from text chunks as they arrive (the WHATWG event-stream format):
 * the console reads streams with fetch, not EventSource, so its token stays in a header.
 */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  #buffer = '';
  /** A chunk's last \r, held until the next one says whether a \n follows (one line end, not two). */
  #carry = '';

  /** Events completed by `chunk` (a frame may span chunks). */
  push(chunk: string): SseEvent[] {
    let text = this.#carry + chunk;
    this.#carry = text.endsWith('\r') ? '\r' : '';
    if (this.#carry) text = text.slice(0, -1);
    this.#buffer += text.replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const frame = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') event.id = value;
      }
      // A frame of comments or `retry:` only dispatches nothing.
      if (data.length) events.push({ ...event, data: data.join('\n') });
    }
    return events;
  }
}
