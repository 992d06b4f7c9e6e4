// How long an HTTP client may take: its own module, so that the configuration (./config.ts)
// reads the defaults without loading the server.

/**
 * What a client may take, in ms, before Node closes its connection: Fastify's and Node's own
 * timeouts, set so that a slow or stalled client cannot hold a connection open. README: Slow
 * clients.
 */
export interface HttpTimeouts {
  /** From the connection (or the previous response) to the end of the request's headers; 408 past it. */
  headersMs: number;
  /** From the start of a request to the end of its body; 408 past it. At least headersMs. */
  requestMs: number;
  /**
   * No byte either way for this long, request in progress or response unread: the connection
   * is destroyed. Longer than a request may wait for the database (callTimeoutMs: DB_TIMEOUT_MS
   * + 2 s), or a request still being answered would lose its connection.
   */
  idleMs: number;
  /** Between two requests on a kept-alive connection. */
  keepAliveMs: number;
}

export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = {
  headersMs: 10_000,
  requestMs: 30_000,
  // As long as a database export may wait for its reader (EXPORT_READER_IDLE_MS).
  idleMs: 60_000,
  // Fastify's default: above the 60 s idle timeout of common load balancers, so that they,
  // not the app, close an idle connection (one closing under a request in flight is a 502).
  keepAliveMs: 72_000,
};
