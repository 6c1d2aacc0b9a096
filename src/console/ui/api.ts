/**
 * The admin API as the console calls it: the operator's token lives in this module's memory only
 * (never in storage, so no script can read it back after a reload and no cookie needs CSRF
 * protection); a 401 anywhere signs the console out.
 */
import { SseParser, type SseEvent } from './sse.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly errors?: { field: string; message: string }[],
  ) {
    super(message);
  }
}

let token: string | null = null;
let onSignOut: (reason?: string) => void = () => undefined;

export const signedIn = () => token !== null;
export function onSignedOut(listener: (reason?: string) => void) {
  onSignOut = listener;
}
export function signOut(reason?: string) {
  token = null;
  onSignOut(reason);
}

export async function signIn(email: string, password: string): Promise<void> {
  const answer = await request<{ accessToken: string }>('POST', '/admin/auth/login', { email, password });
  token = answer.accessToken;
}

async function failure(res: Response): Promise<ApiError> {
  const problem = await res.json().catch(() => ({}));
  return new ApiError(res.status, problem.code, problem.detail ?? problem.title ?? res.statusText, problem.errors);
}

function headers(body?: unknown): Record<string, string> {
  return { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) };
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, { method, headers: headers(body), body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && token) signOut('Your session has ended: sign in again.');
  if (!res.ok) throw await failure(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const get = <T>(path: string) => request<T>('GET', path);

/** Downloads a file the API streams (an export) with the token in a header, then saves it. */
export async function download(path: string): Promise<string> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw await failure(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** Reads an event stream until it ends or `signal` aborts; each event goes to `onEvent`. */
export async function stream(path: string, onEvent: (event: SseEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: { ...headers(), accept: 'text/event-stream' }, signal });
  if (!res.ok || !res.body) throw await failure(res);
  const parser = new SseParser();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    for (const event of parser.push(value)) onEvent(event);
  }
}
