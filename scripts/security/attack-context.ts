/**
 * What every attack module gets: an HTTP client speaking to the server under attack exactly as an
 * outside caller does (node:http, so any method, header or body can be sent, TRACE included), and
 * `expect`, which records an attack with its expected and observed outcome.
 *
 * Every answer is also held to what no answer may do, whatever the attack: a 5xx (unless the attack
 * expects one), a password hash, a stack trace or a database error in the body, an error that is
 * not problem+json, or a missing nosniff header.
 */
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attack, AttackLog, Category } from './attack-log.js';

export interface RequestOptions {
  /** Bearer token. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (with `type`, default application/json). */
  raw?: Buffer | string;
  type?: string;
  headers?: Record<string, string>;
  /** Who sends it, for the record (e.g. `staff of alpha-pooled`). */
  as?: string;
  /** Sent without a Content-Length (chunked), as a stream of unknown length is. */
  chunked?: boolean;
  /** The attack wants to see a 429: do not wait for the budget and retry. */
  throttleExpected?: boolean;
}

export interface Sent {
  /** How the request is recorded. */
  request: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the attacks
  body: any;
}

export interface RunOptions {
  /** Fewer rounds of the races and floods (the test's mode). */
  quick: boolean;
  admin: { email: string; password: string };
  /** JWT_SECRET of the server when the run started it: forged tokens (expired, wrong key) are then tested too. */
  jwtSecret?: string;
  /** STRATA_IMPORT_MAX_BYTES of the server when known: an archive just over it is sent. */
  importMaxBytes?: number;
  /** A slice of the run (the test suite's): each category stops after its first this many attacks. */
  perCategory?: number;
}

/** Thrown by `record` once the category has recorded its `perCategory` attacks: the run moves on. */
export class CategorySliceDone extends Error {
  constructor() {
    super('the category has its slice of attacks');
    this.name = 'CategorySliceDone';
  }
}

const leakPatterns: [RegExp, string][] = [
  [/\$argon2/, 'a password hash'],
  [/\n\s+at .+:\d+:\d+/, 'a stack trace'],
  [/node_modules\/|(?:\/[\w.-]+)+\/(?:src|dist)\/[\w/.-]+\.[jt]s|\.[jt]s:\d+:\d+/, 'a source path'],
  [/syntax error at or near|SQLSTATE|violates \w+ constraint|relation "|duplicate key value|PrismaClient|prisma:/i, 'a database error'],
];

/** Why an answer breaks the rules every answer follows; undefined when it does not. */
function brokenInvariant(sent: Sent, expected: number[]): string | undefined {
  if (sent.status === 0) return undefined; // the connection was closed: no answer to judge
  if (sent.status >= 500 && !expected.includes(sent.status)) return `a ${sent.status}`;
  const leak = leakPatterns.find(([pattern]) => pattern.test(sent.text));
  if (leak) return `${leak[1]} in the answer`;
  if (sent.headers['x-content-type-options'] !== 'nosniff') return 'no X-Content-Type-Options: nosniff';
  const type = String(sent.headers['content-type'] ?? '');
  if (sent.status >= 400 && sent.text && !type.startsWith('application/problem+json')) return `an error as ${type || 'no content type'}`;
  return undefined;
}

export class AttackContext {
  category: Category = 'API1';
  /** Whether `perCategory` applies now (while the categories run, not to the run's own checks). */
  slicing = false;
  /** How often an unexpected 429 was waited out (a server with production budgets, --url). */
  throttleWaits = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly origin: URL;

  constructor(
    base: string,
    readonly log: AttackLog,
    readonly options: RunOptions,
  ) {
    this.origin = new URL(base);
  }

  get quick() {
    return this.options.quick;
  }

  /** Sends one request; an unexpected 429 is waited out (Retry-After, at most a minute) and sent again. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Sent> {
    for (let attempt = 0; ; attempt++) {
      const sent = await this.sendOnce(method, path, options);
      if (sent.status !== 429 || options.throttleExpected || attempt >= 2) return sent;
      this.throttleWaits++;
      await sleep(Math.min(65, Number(sent.headers['retry-after'] ?? 5)) * 1000);
    }
  }

  private sendOnce(method: string, path: string, options: RequestOptions, fresh = false): Promise<Sent> {
    const { token, body, raw, type, headers = {}, as, chunked } = options;
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const data = payload === undefined ? undefined : Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const request = `${method} ${path.length > 120 ? `${path.slice(0, 117)}...` : path}${as ? ` as ${as}` : ''}`;
    return new Promise((resolve, reject) => {
      // A server that refuses an upload part way may close the connection after its answer: what
      // arrived before the reset is the answer.
      let answer: Omit<Sent, 'body'> | undefined;
      const chunks: Buffer[] = [];
      const finish = () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        resolve({ ...answer!, text, body: parsed });
      };
      const req = httpRequest(
        {
          agent: fresh ? false : this.agent,
          host: this.origin.hostname,
          port: this.origin.port,
          method,
          path,
          headers: {
            ...(data && { 'content-type': type ?? 'application/json' }),
            ...(data && !chunked && { 'content-length': String(data.length) }),
            ...(token && { authorization: `Bearer ${token}` }),
            ...headers,
          },
        },
        (res) => {
          answer = { request, status: res.statusCode ?? 0, headers: res.headers, text: '' };
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', finish);
          res.on('end', finish);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (answer) return finish();
        // Closed without an answer: 0 tells it apart from any status.
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return resolve({ request, status: 0, headers: {}, text: String(err.code), body: null });
        reject(err);
      });
      if (chunked && data) req.write(data);
      req.end(chunked ? undefined : data);
    });
  }

  /** Records an attack whose outcome is not one answer (a race, a count). */
  record(name: string, request: string, expected: string, observed: string, pass: boolean) {
    const attack: Attack = { category: this.category, name, request, expected, observed, pass };
    this.log.add(attack);
    const slice = this.options.perCategory;
    if (this.slicing && slice !== undefined && this.log.count(this.category).attacks >= slice) throw new CategorySliceDone();
    return pass;
  }

  /**
   * Records an attack answered `sent`: it passes when the status is one of `expected`, `check`
   * (if given) finds nothing wrong, and the answer breaks no rule every answer follows.
   */
  expect(name: string, sent: Sent, expected: number | number[], check?: (sent: Sent) => string | undefined, description?: string): boolean {
    const statuses = [expected].flat();
    const wrongStatus = statuses.includes(sent.status) ? undefined : `status ${sent.status}${sent.body?.code ? ` ${sent.body.code}` : ''}`;
    const problem = wrongStatus ?? check?.(sent) ?? brokenInvariant(sent, statuses);
    const expectedText = `${statuses.join(' or ')}${description ? `, ${description}` : ''}`;
    return this.record(name, sent.request, expectedText, problem ?? `${sent.status}${sent.body?.code ? ` ${sent.body.code}` : ''}`, !problem);
  }

  close() {
    this.agent.destroy();
  }
}
