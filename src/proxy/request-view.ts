/**
 * What the rest of the balancer may read of a client request: the data path's own representation of
 * a parsed request head stays private to it. Hash-key extraction, logging and metrics use only this.
 */
export interface RequestView {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/home?x=1`. */
  readonly target: string;
  /** The value of a header by lower-case name; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  /** The client's address as the balancer's socket sees it. */
  readonly remoteAddress: string | undefined;
}

/** A RequestView over Node's parsed headers (used by the node:http listener and by tests). */
export function viewOf(
  method: string,
  target: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  remoteAddress: string | undefined,
): RequestView {
  return {
    method,
    target,
    remoteAddress,
    header(name) {
      const value = headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
