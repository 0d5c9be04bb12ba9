/**
 * `forwarded-headers`: what the homeserver learns about the client, as the stand-in backend saw it.
 *
 * - X-Forwarded-For present, carrying the client's address (not the proxy's);
 * - a client-supplied X-Forwarded-For not passed on in first place: homeservers (Synapse with
 *   `x_forwarded: true`, and others) record the leftmost address, so a client could choose the IP
 *   the homeserver logs and rate-limits by;
 * - X-Forwarded-Proto: https (the homeserver builds URLs and cookie flags from it);
 * - Host preserved (redirects, SSO, well-known built from the request; missing `ProxyPreserveHost`
 *   can cause a redirect loop) — a warning on the client base URL, information on a federation-only
 *   endpoint (federation requests name their destination in the signed X-Matrix header);
 * - HTTP/1.1 to the backend (homeserver responses may be chunked).
 *
 * These are only observable with the stand-in backend (exact mode); live mode says so.
 * All problems are warnings: they degrade logging, rate limits and redirects, not federation.
 */
import type { Finding, Status } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { EchoRecord } from '../core/echo-protocol.js';
import type { ProxyEndpointEvidence, ProxyEvidence } from '../probes/proxy.js';
import type { Check } from './types.js';
import { detectedProxyOf, endpointName, fixHint, proxyEvidenceOf, standInAdvice, type FixTopic } from './proxy-fixes.js';

const ID = 'forwarded-headers' as const;

export type ForwardedProblemCode =
  | 'xff-missing'
  | 'xff-proxy-address'
  | 'xff-spoofable'
  | 'xfp-missing'
  | 'xfp-wrong'
  | 'host-rewritten'
  | 'http-1.0';

export interface ForwardedProblem {
  code: ForwardedProblemCode;
  status: Status;
  summary: string;
  topic: FixTopic;
  why: string;
}

/** Values of a header (all lines, comma lists split), case-insensitive name. */
export function headerValues(headers: Array<[string, string]>, name: string): string[] {
  const n = name.toLowerCase();
  return headers
    .filter(([k]) => k.toLowerCase() === n)
    .flatMap(([, v]) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function hostPart(h: string): string {
  const v = h.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1);
  const i = v.lastIndexOf(':');
  return i > 0 && v.indexOf(':') === i ? v.slice(0, i) : v;
}

function normIp(a: string): string {
  return a.replace(/^::ffff:/i, '').replace(/^\[|\]$/g, '').toLowerCase();
}

/** Analyse the two header echoes of an endpoint. */
export function analyseForwarded(e: ProxyEndpointEvidence): { problems: ForwardedProblem[]; facts: Record<string, unknown> } | null {
  const fw = e.forwarded;
  const plain = fw?.plain.echo;
  if (!fw || !plain) return null;
  const problems: ForwardedProblem[] = [];
  const xff = headerValues(plain.headers, 'x-forwarded-for');
  const xfp = headerValues(plain.headers, 'x-forwarded-proto');
  const host = headerValues(plain.headers, 'host')[0] ?? null;
  const client = e.clientAddress ? normIp(e.clientAddress) : null;
  const proxyAddr = normIp(plain.remoteAddress);
  const spoofedEcho: EchoRecord | null = fw.spoofed.echo;
  const spoofedXff = spoofedEcho ? headerValues(spoofedEcho.headers, 'x-forwarded-for') : null;

  if (xff.length === 0) {
    problems.push({
      code: 'xff-missing',
      status: 'warn',
      summary: 'no X-Forwarded-For reaches the homeserver',
      topic: 'xff-missing',
      why: "the homeserver sees every client as the proxy's address: IP-based rate limits hit all users at once and logs and session lists show the proxy",
    });
  } else {
    const last = normIp(xff[xff.length - 1]!);
    if (client && last !== client && last === proxyAddr) {
      problems.push({
        code: 'xff-proxy-address',
        status: 'warn',
        summary: `X-Forwarded-For carries the proxy's address (${xff.join(', ')}), not the client's (${client})`,
        topic: 'xff-proxy-address',
        why: 'the homeserver records the proxy as every client',
      });
    }
  }
  if (spoofedXff && spoofedXff.length > 0 && spoofedXff[0] === fw.spoofedAddress) {
    problems.push({
      code: 'xff-spoofable',
      status: 'warn',
      summary: `a client-supplied X-Forwarded-For is passed on in first place (sent ${fw.spoofedAddress}, the homeserver received "${spoofedXff.join(', ')}")`,
      topic: 'xff-spoofable',
      why: 'the homeserver records the leftmost address, so any client can choose the IP it is logged and rate-limited under',
    });
  }
  if (xfp.length === 0) {
    problems.push({
      code: 'xfp-missing',
      status: 'warn',
      summary: 'no X-Forwarded-Proto reaches the homeserver',
      topic: 'xfp',
      why: 'the homeserver cannot tell that clients connected over HTTPS: redirect URLs and cookie flags may come out as plain http',
    });
  } else if (e.scheme === 'https' && xfp[xfp.length - 1]!.toLowerCase() !== 'https') {
    problems.push({
      code: 'xfp-wrong',
      status: 'warn',
      summary: `X-Forwarded-Proto is "${xfp.join(', ')}" although the client connected over HTTPS`,
      topic: 'xfp',
      why: 'the homeserver builds http:// URLs and insecure cookies',
    });
  }
  if (host === null || hostPart(host) !== hostPart(e.hostHeader)) {
    problems.push({
      code: 'host-rewritten',
      status: e.role === 'federation' ? 'info' : 'warn',
      summary: host === null ? `no Host header reaches the homeserver (sent ${e.hostHeader})` : `Host is rewritten: sent ${e.hostHeader}, the homeserver received ${host}`,
      topic: 'host',
      why:
        e.role === 'federation'
          ? 'federation requests name their destination in the signed X-Matrix header, so federation itself does not depend on it; redirects and anything built from the request would'
          : 'redirects, SSO and URLs built from the request point at the backend address; Apache without ProxyPreserveHost can cause a redirect loop',
    });
  }
  if (plain.httpVersion === '1.0') {
    problems.push({
      code: 'http-1.0',
      status: 'warn',
      summary: 'the proxy talks HTTP/1.0 to the homeserver',
      topic: 'http-version',
      why: 'homeserver responses may be chunked, an HTTP/1.1 feature; HTTP/1.0 also closes the connection after every request',
    });
  }
  const facts = {
    xForwardedFor: xff,
    xForwardedForWithClientValue: spoofedXff,
    xForwardedProto: xfp,
    hostSent: e.hostHeader,
    hostReceived: host,
    httpVersion: plain.httpVersion,
    clientAddress: e.clientAddress,
    proxyAddressSeenByBackend: plain.remoteAddress,
    headersReceived: plain.headers,
  };
  return { problems, facts };
}

function endpointFindings(e: ProxyEndpointEvidence, serverName: string): Finding[] {
  const name = endpointName(e);
  if (e.mode === 'unreachable') return [{ id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${e.modeReason}` }];
  if (e.mode === 'live') {
    return [
      {
        id: ID,
        status: 'skip',
        target: e.target,
        summary: `not run: ${name}: the headers a homeserver receives cannot be seen from outside — ${standInAdvice(e, serverName)}`,
      },
    ];
  }
  const a = analyseForwarded(e);
  if (!a) {
    const cause = e.forwarded?.plain.error?.message ?? (e.forwarded?.plain.response ? `HTTP ${e.forwarded.plain.response.status} instead of the echo` : 'the header probe did not run');
    return [{ id: ID, status: 'skip', target: e.target, summary: `not run: ${name}: ${cause}` }];
  }
  const detected = detectedProxyOf(e);
  if (a.problems.length === 0) {
    const f = a.facts as { xForwardedFor: string[]; xForwardedForWithClientValue: string[] | null; xForwardedProto: string[]; hostReceived: string; httpVersion: string };
    const spoof = f.xForwardedForWithClientValue ? 'a client-supplied X-Forwarded-For is not trusted' : 'a client-supplied X-Forwarded-For was not tested';
    return [
      {
        id: ID,
        status: 'pass',
        target: e.target,
        summary: `${name}: X-Forwarded-For ${f.xForwardedFor.join(', ')} (the client), ${spoof}, X-Forwarded-Proto ${f.xForwardedProto.join(', ')}, Host ${f.hostReceived} preserved, HTTP/${f.httpVersion} to the backend`,
        details: a.facts,
      },
    ];
  }
  return a.problems.map((p) => ({
    id: ID,
    status: p.status,
    target: e.target,
    summary: `${name}: ${p.summary}`,
    hint: fixHint(p.topic, detected, `${p.why}.`),
    details: { code: p.code, ...a.facts },
  }));
}

export function judge(pe: ProxyEvidence, serverName = '<your server name>'): Finding[] {
  const out = pe.endpoints.flatMap((e) => endpointFindings(e, serverName));
  if (out.length === 0) out.push({ id: ID, status: 'skip', summary: `not run: no endpoint to probe${pe.notes.length ? ` (${pe.notes.join('; ')})` : ''}` });
  return out;
}

const check: Check = {
  id: ID,
  title: 'X-Forwarded-For, X-Forwarded-Proto, Host and HTTP version as the homeserver receives them',
  run(ev: ServerEvidence): Finding[] {
    const { pe, cause } = proxyEvidenceOf(ev);
    if (!pe) return [{ id: ID, status: 'skip', summary: `not run: ${cause}` }];
    return judge(pe, 'serverName' in ev.parsed ? ev.parsed.serverName : ev.input);
  },
};
export default check;
