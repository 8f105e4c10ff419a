// The one ResponseSink over HTTP: a download streamed live to the client that asked for it.
import type { ClientDeadline } from '../mirror/client-deadline.js';
import type { ServerResponse } from 'node:http';
import type { ResponseHead, ResponseSink } from '../mirror/response-sink.js';
import { drained } from '../store/blob-store.js';
import type { Problem } from '../core/problem.js';
import { bodyHeaders, sendError } from './respond.js';

/** How far a slow client may fall behind before the transfer waits for it. */
const LIVE_HIGH_WATER = 1024 * 1024;

export class HttpSink implements ResponseSink {
  private closed = false;
  /** Ended or aborted: nothing more goes to this client. */
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    readonly deadline: ClientDeadline = undefined,
  ) {
    res.once('close', () => (this.closed = true));
  }

  get open(): boolean {
    return !this.closed && !this.done;
  }

  get started(): boolean {
    return this.res.headersSent;
  }

  begin(head: ResponseHead): void {
    this.res.writeHead(200, { ...bodyHeaders(head), ...(head.contentLength !== undefined ? { 'content-length': head.contentLength } : {}) });
  }

  async write(chunk: Buffer): Promise<void> {
    // Below the high-water mark a slow client costs only memory; past it, the transfer waits.
    if (!this.res.write(chunk) && this.res.writableLength > LIVE_HIGH_WATER) await drained(this.res);
  }

  end(last?: Buffer): void {
    this.done = true;
    this.res.end(last);
  }

  abort(reason: Problem): void {
    if (!this.open) return;
    this.done = true;
    if (this.res.headersSent) this.res.destroy();
    else sendError(this.res, reason);
  }
}
