/**
 * Shared pieces of the per-address checks (`tls`, `federation-version`, `server-keys`,
 * `health`, and the `federation` verdict): when they can run at all, how a failed connection
 * reads, and how an unexpected HTTP response is described. Pure functions of the evidence.
 */
import * as net from 'node:net';
import type { CheckId, Finding, HttpExchange, HttpResponseEvidence, NetError, Resolution } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { AddressEvidence } from '../probes/address.js';
import { isServerNameError } from '../core/server-name.js';
import { parseJsonSafely } from '../core/canonical-json.js';
import { quote, sanitize } from '../core/sanitize.js';
import { header } from '../net/http.js';
import { skip } from './types.js';

/**
 * The resolution to check addresses against, or the skip findings that say why there is none.
 * Per-address checks report nothing per address when there is no address: `dns` (or `srv`,
 * `well-known`) already says why.
 */
export function addressContext(ev: ServerEvidence, id: CheckId): { resolution: Resolution; serverName: string } | { skipped: Finding[] } {
  if (isServerNameError(ev.parsed)) return { skipped: [skip(id, 'the server name is invalid')] };
  const d = ev.discovery;
  if (!d) return { skipped: [skip(id, ev.deadlineHit ? 'the deadline was reached before discovery finished' : 'discovery did not run')] };
  if (!d.resolution) return { skipped: [skip(id, `resolution did not complete: ${d.resolutionError ?? 'unknown reason'}`)] };
  if (ev.addresses.length === 0) {
    const why = d.resolutionError
      ? d.resolutionError
      : ev.deadlineHit
        ? 'the deadline was reached before any address was probed'
        : 'no address to connect to (see dns)';
    return { skipped: [skip(id, why)] };
  }
  return { resolution: d.resolution, serverName: ev.parsed.serverName };
}

/** The address's connection error when its TLS connection never came up, else null. */
export function connectionFailure(ae: AddressEvidence): NetError | null {
  if (ae.tls) return null;
  return (
    ae.connectError ??
    ae.version.error ??
    ae.keys.error ??
    ae.health.error ?? { phase: 'connect', code: 'UNKNOWN', message: 'no connection was made (no error recorded)' }
  );
}

/** The skip finding a dependent check gives when the address had no connection. */
export function skipNoConnection(id: CheckId, ae: AddressEvidence, e: NetError): Finding {
  return skip(id, `no connection: ${e.message}`, ae.target);
}

/** `port` of a target like `[::1]:443`. */
export function portOf(ae: AddressEvidence): number {
  return ae.port;
}

export function isV6(ae: AddressEvidence): boolean {
  return net.isIPv6(ae.address);
}

/** Summary and hint for a connection that never completed TLS (reported once, by `tls`). */
export function describeConnectError(ae: AddressEvidence, e: NetError, sni: string | null): { summary: string; hint: string } {
  const port = ae.port;
  const where = ae.connectedTo ? ` (mapped to ${ae.connectedTo})` : '';
  const v6 = isV6(ae);
  const dnsAdvice = `If this address should not serve Matrix, remove it from DNS: remote servers may pick any address.`;
  if (e.code === 'ECONNREFUSED') {
    return {
      summary: `connection refused: nothing is listening on ${ae.target}${where}`,
      hint: v6
        ? `Nothing accepts connections on port ${port} over IPv6. Make the reverse proxy or homeserver listen on IPv6 too (nginx: "listen [::]:${port} ssl;" next to "listen ${port} ssl;"; Caddy and Synapse: bind "::"), and check the firewall allows IPv6 on port ${port}. Or remove the AAAA record. ${dnsAdvice}`
        : `Start the reverse proxy or homeserver on port ${port} of this address (check it is not bound to 127.0.0.1 only), and check the firewall allows port ${port}. ${dnsAdvice}`,
    };
  }
  if (e.code === 'TLS_HANDSHAKE_TIMEOUT') {
    return {
      summary: `no TLS answer: ${ae.target}${where} accepted the connection but never completed the TLS handshake`,
      hint: `Something accepts TCP connections on port ${port} but never answers: a hung process, a listener expecting the PROXY protocol, or a firewall/load balancer holding connections open. Check what listens there (e.g. \`ss -ltnp 'sport = :${port}'\`). ${dnsAdvice}`,
    };
  }
  if (e.phase === 'timeout') {
    return {
      summary: `no answer from ${ae.target}${where}: ${e.message}`,
      hint: `Packets to port ${port} get no reply: usually a firewall or cloud security group that drops them, or an address that no longer belongs to this server${v6 ? ' (or IPv6 routing that does not work)' : ''}. ${dnsAdvice}`,
    };
  }
  if (e.code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return {
      summary: 'the server answered plain HTTP: TLS is not enabled on this port',
      hint: `Federation is HTTPS only. Enable TLS on port ${port} (nginx: "listen ${port} ssl;" with ssl_certificate; Caddy does it by default), or point DNS/SRV/.well-known at the port where your reverse proxy terminates TLS — not at the homeserver's plain-HTTP port (8008).`,
    };
  }
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === 'UND_ERR_SOCKET') {
    return {
      summary: `connection reset by ${ae.target}${where} during the TLS handshake`,
      hint: `The server (or something in front of it) dropped the connection${sni ? ` after seeing SNI "${sni}"` : ''}. Common causes: an SNI-routing proxy with no route for ${sni ?? 'connections without SNI'}, a TLS listener with no certificate configured, or a firewall/IPS. ${dnsAdvice}`,
    };
  }
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'EADDRNOTAVAIL') {
    return {
      summary: `${ae.target} is unreachable (${e.code})`,
      hint: v6
        ? 'IPv6 does not work on the path to this address: fix IPv6 on the server (or its network), or remove the AAAA record. Servers with IPv6 will otherwise fail to reach you.'
        : `No route to this address: check the DNS record points at the right machine. ${dnsAdvice}`,
    };
  }
  if (e.phase === 'tls') {
    return {
      summary: `TLS handshake failed: ${sanitize(e.message.replace(/^TLS handshake failed:\s*/, ''), 200)}`,
      hint: 'The server and fedcheck could not agree on TLS (protocol version or cipher), or the server broke off the handshake. Use a current TLS configuration (TLS 1.2 and 1.3, e.g. Mozilla\'s "intermediate" profile).',
    };
  }
  return {
    summary: `cannot connect to ${ae.target}${where}: ${sanitize(e.message, 200)}`,
    hint: `Check that the server is up and reachable on port ${port}. ${dnsAdvice}`,
  };
}

/** Content-Type without parameters, lower-cased ('' when absent). */
export function mediaType(res: HttpResponseEvidence): string {
  return (header(res, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

function looksLikeHtml(res: HttpResponseEvidence): boolean {
  return mediaType(res) === 'text/html' || /^\s*(<!doctype html|<html|<head|<body)/i.test(res.body);
}

/** A short description of what came back: status, content type, HTML title or a body excerpt. */
export function describeResponse(res: HttpResponseEvidence): string {
  const ct = mediaType(res);
  const parts = [`${res.status}`];
  if (ct) parts.push(sanitize(ct, 80)); // a server's Content-Type can be 60 KB long
  if (looksLikeHtml(res)) {
    const t = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(res.body);
    parts.push(t ? `an HTML page titled ${quote(t[1]!.trim(), 80)}` : 'an HTML page');
  } else if (res.bodyBytes === 0) {
    parts.push('empty body');
  } else {
    parts.push(`body ${quote(res.body.trim(), 100)}`);
  }
  return parts.join(', ');
}

/**
 * Parse a JSON object out of a response, whatever its Content-Type (judged separately, see
 * {@link contentTypeProblem}); `error` says what was wrong instead.
 */
export function jsonObject(res: HttpResponseEvidence): { value: Record<string, unknown> } | { error: string } {
  if (res.truncated) return { error: `the body is larger than ${res.bodyBytes} bytes and was cut off` };
  const p = parseJsonSafely(res.body);
  if (!p.ok) {
    if (looksLikeHtml(res)) return { error: `not JSON but ${describeResponse(res)}` };
    return { error: `not valid JSON (${sanitize(p.error, 120)}): ${describeResponse(res)}` };
  }
  if (typeof p.value !== 'object' || p.value === null || Array.isArray(p.value)) {
    return { error: `the JSON is not an object: ${describeResponse(res)}` };
  }
  return { value: p.value as Record<string, unknown> };
}

/**
 * Synapse rejects a federation JSON response whose Content-Type is missing or not
 * application/json (matrixfederationclient's check_content_type_is_json); the spec requires it
 * too (spec §1.2). Returns the problem, or null.
 */
export function contentTypeProblem(res: HttpResponseEvidence): string | null {
  const raw = header(res, 'content-type');
  if (raw === undefined) return 'no Content-Type header';
  const mt = mediaType(res);
  return mt === 'application/json' ? null : `Content-Type ${quote(raw, 80)}, not application/json`;
}

export const CONTENT_TYPE_HINT =
  'Synapse refuses federation responses that are not labelled "Content-Type: application/json" (the spec requires it). The homeserver sets it itself: something in front of it (a proxy rule, add_header/default_type, a CDN) replaces or drops it.';

/**
 * Hint for a federation endpoint that answered something other than 200: who most likely
 * answered and what to change. `path` is the endpoint probed.
 */
export function hintForStatus(res: HttpResponseEvidence, path: string): string {
  const s = res.status;
  const errcode = (() => {
    const p = parseJsonSafely(res.body);
    return p.ok && typeof p.value === 'object' && p.value !== null ? (p.value as Record<string, unknown>).errcode : undefined;
  })();
  if (s === 404 && errcode === 'M_UNRECOGNIZED') {
    return `The homeserver answered but does not serve ${path} on this listener: enable federation on it (Synapse: add "federation" to the listener's "resources" names; Conduit/conduwuit: allow_federation = true).`;
  }
  if (s === 404) {
    return `The web server answered instead of the homeserver: forward every path under /_matrix/ (not just /_matrix/client) to the homeserver, e.g. nginx "location /_matrix { proxy_pass http://127.0.0.1:8008; }".`;
  }
  if (s === 502 || s === 503 || s === 504) {
    return 'The reverse proxy could not reach the homeserver: check the homeserver is running and that the proxy forwards to its listener (address and port, e.g. http://127.0.0.1:8008).';
  }
  if (s >= 300 && s < 400) {
    return `Homeservers do not follow redirects on federation requests: serve ${path} directly at this address (a redirect to https:// on port 443 belongs on port 80 only).`;
  }
  if (s === 401 || s === 403) {
    return `Something in front of the homeserver refuses ${path} (authentication, a WAF or an IP filter): federation endpoints must be reachable from any server on the Internet.`;
  }
  return `The request must reach the homeserver and get a 200 JSON answer: check the reverse proxy forwards /_matrix/ unchanged to the homeserver.`;
}

/** The failure line for an exchange that got no response at all (the connection itself worked). */
export function describeExchangeError(ex: HttpExchange): string {
  return ex.error ? sanitize(ex.error.message, 200) : 'no response';
}
