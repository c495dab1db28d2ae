import { constants, type ServerHttp2Stream } from 'node:http2';
import { seedMessage } from '../core/errors.js';
import { grpcMessage, grpcStatusOf } from './h2-grpc.js';

/**
 * A failure of ringlb's own on an HTTP/2 stream: the seed's JSON body with the status, or for a gRPC
 * call a trailers-only response with grpc-status and grpc-message (`grpcStatus` when given, else the
 * gRPC spec's mapping of the HTTP status). Once the response has begun, the stream can only be reset.
 */
export function failStream(
  stream: ServerHttp2Stream,
  grpc: boolean,
  status: number,
  message: string,
  grpcStatus?: number,
): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (grpc) {
    // Headers, then the status in trailers: the form every gRPC client reads.
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () =>
      stream.sendTrailers({
        'grpc-status': String(grpcStatus ?? grpcStatusOf(status)),
        'grpc-message': grpcMessage(message),
      }),
    );
    stream.end();
    return;
  }
  const body = JSON.stringify({ message: seedMessage(message), status: 'failure' });
  stream.respond({
    ':status': status,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  stream.end(body);
}
