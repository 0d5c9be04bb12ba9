/**
 * `health`: `GET /health` through the public endpoint (per address, with the federation Host),
 * and — with `--backend <url>` — directly at the homeserver's own listener, then the two
 * contrasted. Many proxies forward only /_matrix: a public 404 is `info`, not a problem.
 */
import type { Finding, HttpExchange } from '../core/types.js';
import type { Check } from './types.js';
import { sanitize } from '../core/sanitize.js';
import { parseJsonSafely } from '../core/canonical-json.js';
import { addressContext, connectionFailure, describeExchangeError, describeResponse, hintForStatus, skipNoConnection } from './address-util.js';

const ID = 'health' as const;

type PublicState = 'ok' | 'not-forwarded' | 'broken' | 'none';

function isUnrecognized(body: string): boolean {
  const p = parseJsonSafely(body);
  return p.ok && typeof p.value === 'object' && p.value !== null && (p.value as Record<string, unknown>).errcode === 'M_UNRECOGNIZED';
}

function backendFinding(ex: HttpExchange): { finding: Finding; ok: boolean } {
  const url = sanitize(ex.url, 200);
  const details = { url: ex.url, status: ex.response?.status ?? null, error: ex.error, ms: ex.ms };
  if (ex.response && ex.response.status === 200) {
    return { ok: true, finding: { id: ID, status: 'pass', summary: `the homeserver's own listener answers ${url}: 200`, details } };
  }
  const what = ex.response ? describeResponse(ex.response) : describeExchangeError(ex);
  return {
    ok: false,
    finding: {
      id: ID, status: 'fail',
      summary: `the homeserver's own listener does not answer ${url}: ${what}`,
      hint: 'Check that the homeserver is running and listens where --backend points (Synapse: a listener on port 8008 bound to 127.0.0.1 and ::1, type http, x_forwarded: true, resources [client, federation]). If --backend names the wrong address or port, fix the option.',
      details,
    },
  };
}

const check: Check = {
  id: ID,
  title: '/health through the public endpoint, and at the homeserver\'s own listener (--backend)',
  run(ev) {
    const out: Finding[] = [];
    const states: PublicState[] = [];
    const ctx = addressContext(ev, ID);
    if ('skipped' in ctx) {
      out.push(...ctx.skipped);
    } else {
      for (const ae of ev.addresses) {
        const failure = connectionFailure(ae);
        if (failure) {
          out.push(skipNoConnection(ID, ae, failure));
          states.push('none');
          continue;
        }
        const ex = ae.health;
        const details = { hostHeader: ex.hostHeader, status: ex.response?.status ?? null, ms: ex.ms };
        if (!ex.response) {
          states.push('broken');
          out.push({
            id: ID, status: 'warn', target: ae.target,
            summary: `no answer to GET /health through the public endpoint: ${describeExchangeError(ex)}`,
            hint: 'The connection works but /health was not answered. Forwarding /health is optional, but a request that hangs suggests the proxy forwards it to a backend that does not answer.',
            details: { ...details, error: ex.error },
          });
          continue;
        }
        const res = ex.response;
        if (res.status === 200) {
          states.push('ok');
          out.push({ id: ID, status: 'pass', target: ae.target, summary: `/health answers 200 through the public endpoint${res.body.trim() ? ` (${describeResponse(res).replace(/^200, /, '')})` : ''}`, details });
        } else if (res.status === 404) {
          states.push('not-forwarded');
          out.push({
            id: ID, status: 'info', target: ae.target,
            summary: isUnrecognized(res.body)
              ? '/health is not served here (404 M_UNRECOGNIZED from the homeserver, which does not implement it) — that is fine'
              : 'the proxy does not forward /health (404) — many forward only /_matrix; that is fine',
            details,
          });
        } else {
          states.push('broken');
          out.push({
            id: ID, status: 'warn', target: ae.target,
            summary: `GET /health through the public endpoint answered ${describeResponse(res)}`,
            hint: `Forwarding /health is optional, but this answer suggests a problem behind the proxy. ${hintForStatus(res, '/health')}`,
            details,
          });
        }
      }
    }

    const b = ev.backendHealth;
    if (b) {
      const { finding, ok } = backendFinding(b);
      out.push(finding);
      const publicOk = states.includes('ok');
      const url = sanitize(b.url, 200);
      if (ok && !publicOk && states.length > 0) {
        if (states.every((s) => s === 'not-forwarded')) {
          out.push({ id: ID, status: 'info', summary: `the homeserver itself is healthy (${url} answers 200); the public endpoint just does not forward /health` });
        } else if (states.some((s) => s === 'broken')) {
          out.push({
            id: ID, status: 'info',
            summary: `the homeserver itself is healthy (${url} answers 200) but /health through the public endpoint fails: the problem is between the proxy and the homeserver`,
            hint: 'Check where the reverse proxy forwards requests (proxy_pass / reverse_proxy target address and port) and that it can reach the homeserver\'s listener.',
          });
        }
      } else if (!ok && publicOk) {
        out.push({
          id: ID, status: 'warn',
          summary: `the public endpoint answers /health but ${url} does not: --backend may not be the listener the proxy forwards to`,
          hint: 'Either --backend names the wrong address or port, or the proxy answers /health itself or forwards to another backend. Compare the proxy\'s upstream with --backend.',
        });
      }
    }
    return out;
  },
};
export default check;
