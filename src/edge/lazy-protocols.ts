import { createRequire } from 'node:module';

type Http2 = typeof import('node:http2');
type Tls = typeof import('node:tls');
type Https = typeof import('node:https');

const require = createRequire(import.meta.url);
let http2Module: Http2 | undefined;
let tlsModule: Tls | undefined;
let httpsModule: Https | undefined;

/*
 * node:http2, node:tls and node:https, required the first time they are used rather than at start-up: with
 * what they pull in (nghttp2's and OpenSSL's bindings, their JS) they cost each process ~4 MB of RSS,
 * and a balancer without --tls, --h2c or h2c replicas never uses them (issues 14 and 15).
 */

export function http2(): Http2 {
  http2Module ??= require('node:http2') as Http2;
  return http2Module;
}

export function tls(): Tls {
  tlsModule ??= require('node:tls') as Tls;
  return tlsModule;
}

export function https(): Https {
  httpsModule ??= require('node:https') as Https;
  return httpsModule;
}
