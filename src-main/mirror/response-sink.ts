// Where a download goes while it arrives: the client that asked for it. A cache streams to a
// sink and never sees the HTTP response behind it (server/http-sink.ts writes that; tests use
// an array). The sink decides nothing: the transfer says when the head may go out, which
// chunks follow, and whether it ends whole or is refused.
import type { Problem } from '../core/problem.js';
import type { ClientDeadline } from './client-deadline.js';

/** The head of a response streamed live: what the client can know before the body is in. */
export interface ResponseHead {
  contentType: string;
  /** The upstream's Content-Length, when it sent one. */
  contentLength?: number;
  etag: string;
  cacheControl: string;
  /** What X-HexHub-Cache says. */
  cacheState: string;
  lastModified?: string;
}

export interface ResponseSink {
  /** When the client stops waiting for the upstream (see client-deadline.ts). */
  readonly deadline: ClientDeadline;
  /** The client is still there to take a body: not gone, not answered some other way. */
  readonly open: boolean;
  /** The head went out: from now on a refusal can only cut the client off. */
  readonly started: boolean;
  begin(head: ResponseHead): void;
  /** Resolves once the client can take more (a slow client holds the transfer back, bounding memory). */
  write(chunk: Buffer): Promise<void>;
  end(last?: Buffer): void;
  /**
   * Gives up on this client: before the head went out it is answered with `reason`, after it
   * its connection is cut, so it never takes a truncated body for a whole one. Once the sink
   * is no longer open this does nothing.
   */
  abort(reason: Problem): void;
}
