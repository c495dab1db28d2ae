/** A request or response the balancer refuses to read; `status` is what the client is told. */
export class HttpParseError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpParseError';
    this.status = status;
  }
}
