/**
 * A fake Matrix homeserver for the lab: a node request handler answering the federation
 * discovery endpoints fedcheck probes.
 *
 * - `GET /_matrix/federation/v1/version` → `{"server":{"name":"fedcheck-lab","version":…}}` (spec §2.2)
 * - `GET /_matrix/key/v2/server` → a self-signed key response (spec §2.1): `server_name`,
 *   `verify_keys`, `old_verify_keys`, `valid_until_ts` = now + 1 day, `signatures`
 * - `GET /health` → 200 `OK` text/plain (unless `health: false`)
 * - other methods on those endpoints → 405 `M_UNRECOGNIZED` (spec §1.2)
 * - unknown `/_matrix/…` → 404 `{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}`
 * - anything else → 404 text/plain
 *
 * `routes` add or override endpoints; `keyOverrides` break the key response on purpose.
 * Every request is recorded in `handler.requests` (method, raw target, headers).
 */
import type http from 'node:http';
import { encodeBase64, generateSigningKey, signJson, type SigningKey } from '../core/signing.js';

/** A canned response for an extra route. */
export interface StaticResponse {
  status: number;
  headers?: Record<string, string>;
  /** a string is sent as is; anything else as JSON (with a JSON content type unless set) */
  body?: unknown;
}

/** Ways to break the key response (`/_matrix/key/v2/server`). */
export interface KeyOverrides {
  /** value of `server_name` in the body (default: the real server name) */
  serverName?: string;
  /** the server name the signature is filed under (default: the body's `server_name`) */
  signAs?: string;
  /** absolute `valid_until_ts` (e.g. in the past) */
  validUntilTs?: number;
  /** `valid_until_ts` = now + this (default one day) */
  validForMs?: number;
  /** sign with this key instead (e.g. one not listed in `verify_keys`) */
  signWith?: SigningKey;
  /** do not sign at all */
  unsigned?: boolean;
  /** replace `verify_keys` entirely */
  verifyKeys?: Record<string, { key: string }>;
  /** `old_verify_keys` to include (default `{}`) */
  oldVerifyKeys?: Record<string, { key: string; expired_ts: number }>;
  /** fields merged into the body *after* signing (tampering), or a function transforming it */
  tamper?: Record<string, unknown> | ((signed: Record<string, unknown>) => unknown);
  /** serve this body verbatim instead (string as is, otherwise JSON) */
  rawBody?: unknown;
}

/** Options for {@link homeserverHandler}. */
export interface HomeserverOptions {
  serverName: string;
  /** default: a fresh key generated for this handler */
  signingKey?: SigningKey;
  /** default `{name: 'fedcheck-lab', version: '0.1.0-lab'}`; null → `{"server":{}}` */
  software?: { name?: string; version?: string } | null;
  keyOverrides?: KeyOverrides;
  /** answer `GET /health` (default true) */
  health?: boolean;
  /**
   * Extra routes, matched before the built-ins on the path without query string. Keys are
   * `"/path"` (any method) or `"GET /path"`. Values: a node handler or a canned response.
   */
  routes?: Record<string, http.RequestListener | StaticResponse>;
}

/** One request seen by the handler. */
export interface RecordedRequest {
  method: string;
  /** raw request target as received */
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** The handler plus what it knows. */
export type HomeserverHandler = http.RequestListener & {
  requests: RecordedRequest[];
  signingKey: SigningKey;
  /** the key response body as it would be served now */
  keyResponse(): unknown;
};

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const UNRECOGNIZED = { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' };

/** Build the (possibly broken) key response body. */
export function buildKeyResponse(serverName: string, key: SigningKey, o: KeyOverrides = {}, now = Date.now()): unknown {
  if (o.rawBody !== undefined) return o.rawBody;
  const bodyName = o.serverName ?? serverName;
  const doc: Record<string, unknown> = {
    server_name: bodyName,
    verify_keys: o.verifyKeys ?? { [key.keyId]: { key: key.publicKey } },
    old_verify_keys: o.oldVerifyKeys ?? {},
    valid_until_ts: o.validUntilTs ?? now + (o.validForMs ?? 24 * 3600_000),
  };
  const signer = o.signWith ?? key;
  const signed: Record<string, unknown> = o.unsigned ? doc : signJson(doc, o.signAs ?? bodyName, signer.keyId, signer.seed);
  if (o.tamper === undefined) return signed;
  if (typeof o.tamper === 'function') return o.tamper(signed);
  return { ...signed, ...o.tamper };
}

/** Create the homeserver request handler. */
export function homeserverHandler(opts: HomeserverOptions): HomeserverHandler {
  const signingKey = opts.signingKey ?? generateSigningKey();
  const software = opts.software === undefined ? { name: 'fedcheck-lab', version: '0.1.0-lab' } : opts.software;
  const requests: RecordedRequest[] = [];
  const routes = opts.routes ?? {};

  const handler = ((req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    requests.push({ method, url, headers: req.headers });
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);

    const route = routes[`${method} ${path}`] ?? routes[path];
    if (route) {
      if (typeof route === 'function') {
        route(req, res);
        return;
      }
      const headers = Object.fromEntries(Object.entries(route.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      if (typeof route.body === 'string' || route.body === undefined) {
        const text = (route.body as string | undefined) ?? '';
        res.writeHead(route.status, { 'content-length': String(Buffer.byteLength(text)), ...headers });
        res.end(text);
      } else {
        sendJson(res, route.status, route.body, headers); // route headers override the JSON content type
      }
      return;
    }

    const known: Record<string, () => void> = {
      '/_matrix/federation/v1/version': () => sendJson(res, 200, { server: software ?? {} }),
      '/_matrix/key/v2/server': () => sendJson(res, 200, buildKeyResponse(opts.serverName, signingKey, opts.keyOverrides)),
    };
    if (opts.health !== false) known['/health'] = () => sendText(res, 200, 'OK');

    const endpoint = known[path];
    if (endpoint) {
      if (method !== 'GET' && method !== 'HEAD') {
        if (path.startsWith('/_matrix/')) sendJson(res, 405, UNRECOGNIZED);
        else sendText(res, 405, 'Method Not Allowed');
        return;
      }
      endpoint();
      return;
    }
    if (path.startsWith('/_matrix/')) {
      sendJson(res, 404, UNRECOGNIZED);
      return;
    }
    sendText(res, 404, 'Not Found');
  }) as HomeserverHandler;

  handler.requests = requests;
  handler.signingKey = signingKey;
  handler.keyResponse = () => buildKeyResponse(opts.serverName, signingKey, opts.keyOverrides);
  return handler;
}

/** Convenience: an unpadded-base64 32-byte value that is not anyone's key (for broken verify_keys). */
export function bogusKey(byte = 7): string {
  return encodeBase64(Buffer.alloc(32, byte));
}
