/** Progress of long operator work: a live bar with ETA on a terminal, JSON lines otherwise. */
import type { Writable } from 'node:stream';

export interface ProgressEvent {
  /** e.g. `target.applied`, `target.failed`, `move.copied` */
  event: string;
  [key: string]: unknown;
}

export interface ProgressReporter {
  start(total: number, label: string): void;
  /** `advance` counts the event (or that many units, e.g. rows) towards the total. */
  report(event: ProgressEvent, advance?: boolean | number): void;
  finish(summary: ProgressEvent): void;
}

export function createProgressReporter(options: { tty: boolean; out: Writable; err: Writable }): ProgressReporter {
  return options.tty ? new TerminalBar(options.err) : new JsonLines(options.out);
}

class JsonLines implements ProgressReporter {
  constructor(private readonly out: Writable) {}

  start(total: number, label: string) {
    this.#write({ event: 'start', label, total });
  }

  report(event: ProgressEvent) {
    this.#write(event);
  }

  finish(summary: ProgressEvent) {
    this.#write(summary);
  }

  #write(event: ProgressEvent) {
    this.out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
}

class TerminalBar implements ProgressReporter {
  #total = 0;
  #done = 0;
  #failed = 0;
  #label = '';
  #started = 0;
  #lastDraw = 0;

  constructor(private readonly err: Writable) {}

  start(total: number, label: string) {
    this.#total = total;
    this.#label = label;
    this.#started = performance.now();
    this.#draw(true);
  }

  report(event: ProgressEvent, advance: boolean | number = true) {
    this.#done += advance === true ? 1 : Number(advance);
    if (event.event.endsWith('failed')) {
      this.#failed++;
      this.err.write(`\r\x1b[2K✗ ${String(event.target ?? '')} ${String(event.error ?? '')}\n`);
    } else if (typeof event.message === 'string') this.err.write(`\r\x1b[2K${event.message}\n`);
    this.#draw(false);
  }

  finish(summary: ProgressEvent) {
    this.#draw(true);
    this.err.write(
      `\n${Object.entries(summary)
        .filter(([k]) => k !== 'event')
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join('  ')}\n`,
    );
  }

  #draw(force: boolean) {
    const now = performance.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const ratio = this.#total === 0 ? 1 : this.#done / this.#total;
    const width = 30;
    const filled = Math.round(ratio * width);
    const elapsed = (now - this.#started) / 1000;
    const eta = this.#done === 0 ? '?' : `${Math.max(0, (elapsed / this.#done) * (this.#total - this.#done)).toFixed(1)}s`;
    this.err.write(
      `\r\x1b[2K${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.#total} ` +
        `${(ratio * 100).toFixed(0)}%  ${elapsed.toFixed(1)}s  ETA ${eta}${this.#failed ? `  failed ${this.#failed}` : ''}`,
    );
  }
}
