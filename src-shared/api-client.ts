// The control API over HTTP: a Control (control.ts) for the dashboard (browser fetch) and for
// the CLI when it hands work to a running server (Node's fetch). Each call goes on the route
// CONTROL_ROUTES names; routes and types come from contract.ts, so a change to the API is a
// type error on both sides.
import { API_PREFIX, SESSION_HEADER, TOKEN_HEADER, type ApiRoute, type ApiRoutes, type ErrorBody, type ServerEvent } from './contract.js';
import { CONTROL_CALLS, CONTROL_ROUTES, type Control, type ControlCall, type RequestParts } from './control.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
    this.name = 'ApiError';
  }

  /** What went wrong, as the engine's Problem in process says it (src-shared/problems.ts). */
  get kind(): ErrorBody['error'] {
    return this.body.error;
  }

  /** Field-level messages, where an in-process Control's ValidationError has them too. */
  get fields(): ErrorBody['fields'] {
    return this.body.fields;
  }

  /** Setup's problems, where an in-process SetupError has them too. */
  get problems(): ErrorBody['problems'] {
    return this.body.problems;
  }
}

export interface ApiClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:4000 ('' for the page's own origin). */
  baseUrl: string;
  /** '' in a browser, which is signed in by its session cookie instead. */
  token: string;
  /** In a browser: the session's page secret, sent along with the session cookie. */
  sessionSecret?: string;
  fetch?: typeof fetch;
}

type CallArgs<R extends ApiRoute> = RequestParts<R> & { signal?: AbortSignal };

export function createApiClient(options: ApiClientOptions) {
  const doFetch = options.fetch ?? fetch;
  const auth: Record<string, string> = options.token
    ? { [TOKEN_HEADER]: options.token }
    : options.sessionSecret
      ? { [SESSION_HEADER]: options.sessionSecret }
      : {};

  async function call<R extends ApiRoute>(route: R, args: CallArgs<R> = {}): Promise<ApiRoutes[R]['response']> {
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(args.params?.[name] ?? ''));
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries((args.query as Record<string, unknown> | undefined) ?? {})) {
      if (value !== undefined && value !== '') search.set(key, String(value));
    }
    const url = `${options.baseUrl}${API_PREFIX}${path}${search.size ? `?${search}` : ''}`;
    const response = await doFetch(url, {
      method,
      headers: { ...auth, ...(args.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(args.body !== undefined ? { body: JSON.stringify(args.body) } : {}),
      ...(args.signal ? { signal: args.signal } : {}),
    });
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const body = (data as ErrorBody | undefined) ?? { error: 'http_error', message: text.trim() || `HTTP ${response.status}` };
      throw new ApiError(response.status, body);
    }
    return data as ApiRoutes[R]['response'];
  }

  /**
   * Follows the event stream until `signal` aborts; reconnects after a dropped connection.
   * `onState` reports whether the stream is connected.
   */
  async function events(onEvent: (event: ServerEvent) => void, signal: AbortSignal, onState?: (connected: boolean) => void): Promise<void> {
    while (!signal.aborted) {
      try {
        const response = await doFetch(`${options.baseUrl}${API_PREFIX}/events`, { headers: auth, signal });
        if (!response.ok || !response.body) throw new ApiError(response.status, { error: 'events', message: `event stream answered ${response.status}` });
        onState?.(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data) onEvent(JSON.parse(data) as ServerEvent);
          }
        }
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) throw error;
      }
      onState?.(false);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  const bound = <C extends ControlCall>(name: C): Control[C] => {
    const binding = CONTROL_ROUTES[name];
    return ((...args: Parameters<Control[C]>) => call(binding.route, binding.send(...args))) as Control[C];
  };
  const calls = Object.fromEntries(CONTROL_CALLS.map((name) => [name, bound(name)])) as Pick<Control, ControlCall>;

  // Also the raw `call`, for a query with an abort signal (the dashboard's paged lists).
  const client = { call, events, ...calls };
  return client satisfies Control;
}

export type ApiClient = ReturnType<typeof createApiClient>;
