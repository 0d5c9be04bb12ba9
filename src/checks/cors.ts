/**
 * `cors`: what a browser client (Element Web) needs (spec §2.3): `Access-Control-Allow-Origin`
 * on the client well-known — on every redirect too (v1.20) — and on the client API, and a CORS
 * preflight (`OPTIONS` with `Origin`, `Access-Control-Request-Method`,
 * `Access-Control-Request-Headers: authorization`) answered the way the Fetch standard requires:
 * a 2xx status, the origin allowed, `Authorization` listed explicitly (a `*` does not cover it),
 * and PUT/DELETE allowed (GET, HEAD and POST need no listing). Element Web cannot log in or send
 * messages without them; apps and homeservers do not care.
 *
 * Severity: missing CORS on the file or the client API is a failure; a refused preflight on the
 * client API is a failure; a refused preflight on the file itself is only a warning, because a
 * browser fetches that file with a plain GET that needs no preflight.
 */
import type { Finding, HttpExchange, HttpResponseEvidence, Status } from '../core/types.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { headerValues } from '../core/well-known.js';
import { quote } from '../core/sanitize.js';
import { clientDiscovery, clientEvidence, clientSkipCause, finalResponse } from './client-evidence.js';
import type { FollowedFetch } from '../probes/follow.js';

const ID = 'cors' as const;

export interface CorsProblem {
  severity: 'fail' | 'warn';
  text: string;
}

/** Does this response let `origin` read it? null when it does, else why not. */
export function allowOriginProblem(res: HttpResponseEvidence, origin: string): string | null {
  const values = headerValues(res.headers, 'access-control-allow-origin');
  if (values.length === 0) return 'no Access-Control-Allow-Origin header';
  if (values.length > 1) return `Access-Control-Allow-Origin is sent ${values.length} times (browsers accept exactly one)`;
  const v = values[0]!.trim();
  if (v === '*' || v === origin) return null;
  if (v.includes(',')) return `Access-Control-Allow-Origin lists several origins (${quote(v, 80)}); browsers accept exactly one, or "*"`;
  return `Access-Control-Allow-Origin is ${quote(v, 80)}, which does not allow ${origin} (use "*")`;
}

function list(res: HttpResponseEvidence, name: string): string[] {
  return headerValues(res.headers, name).flatMap((v) => v.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * Judge a preflight answer as a browser would for the requests a Matrix client makes:
 * `Authorization` on every authenticated request, `Content-Type: application/json` on POST/PUT,
 * and PUT/DELETE methods. `requested` = the headers our preflight asked for (an answer listing
 * exactly those is taken for an echoing server and not blamed for Content-Type). With
 * `api: false` (the well-known file) only the status and the allowed origin are judged.
 */
export function preflightProblems(ex: HttpExchange, origin: string, opts: { requested?: string[]; api?: boolean } = {}): CorsProblem[] {
  const requested = opts.requested ?? ['authorization'];
  const res = ex.response;
  if (!res) return [{ severity: 'fail', text: `the preflight got no answer (${ex.error?.message ?? 'no response'})` }];
  const out: CorsProblem[] = [];
  if (res.status < 200 || res.status > 299) out.push({ severity: 'fail', text: `the preflight answered HTTP ${res.status}; browsers need a 2xx` });
  const ao = allowOriginProblem(res, origin);
  if (ao) out.push({ severity: 'fail', text: ao });
  if (opts.api === false) return out;
  const headers = list(res, 'access-control-allow-headers').map((h) => h.toLowerCase());
  if (!headers.includes('authorization')) {
    out.push({
      severity: 'fail',
      text: headers.includes('*')
        ? 'Access-Control-Allow-Headers is "*", which does not cover Authorization: list it explicitly'
        : headers.length === 0 ? 'no Access-Control-Allow-Headers (Authorization must be allowed)' : `Access-Control-Allow-Headers (${quote(headers.join(', '), 80)}) does not include Authorization`,
    });
  }
  const echo = headers.length > 0 && headers.length === requested.length && requested.every((h) => headers.includes(h));
  if (!echo && !headers.includes('content-type') && !headers.includes('*') && headers.length > 0) {
    out.push({ severity: 'warn', text: 'Access-Control-Allow-Headers does not include Content-Type: JSON requests (POST/PUT with a body) will be refused' });
  }
  const methods = list(res, 'access-control-allow-methods');
  if (!methods.includes('*')) {
    const missing = ['PUT', 'DELETE'].filter((m) => !methods.includes(m));
    if (missing.length) {
      out.push({
        severity: 'fail',
        text: `${methods.length ? `Access-Control-Allow-Methods (${quote(methods.join(', '), 80)})` : 'no Access-Control-Allow-Methods header, so it'} does not allow ${missing.join(' and ')}: sending messages (PUT) would be refused`,
      });
    }
  }
  return out;
}

/** ACAO on every hop of a GET (a redirect without it stops the browser too). */
function fetchProblems(f: FollowedFetch, origin: string): string[] {
  const out: string[] = [];
  f.hops.forEach((h, i) => {
    const res = h.exchange.response;
    if (!res) return;
    const p = allowOriginProblem(res, origin);
    if (!p) return;
    const last = i === f.hops.length - 1;
    out.push(last ? `${p} on ${h.exchange.url} (HTTP ${res.status})` : `${p} on the ${res.status} redirect from ${h.exchange.url} (browsers stop at it)`);
  });
  return out;
}

const RECOMMENDED = 'Access-Control-Allow-Origin: *, Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS, Access-Control-Allow-Headers: X-Requested-With, Content-Type, Authorization';

const check: Check = {
  id: ID,
  title: 'CORS headers for browser clients (Element Web) on the client well-known and the client API',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const c = clientEvidence(ev);
    if (!c) return [skip(ID, clientSkipCause(ev))];
    const d = clientDiscovery(c);
    const origin = c.origin;
    const out: Finding[] = [];
    const judged: string[] = [];
    const push = (status: Status, summary: string, hint: string, details: Record<string, unknown>) => out.push({ id: ID, status, summary, hint, details });

    // 1. the file, as fetched with GET (+ Origin)
    const file = finalResponse(c.wellKnown);
    if (file) {
      judged.push('the client well-known');
      const problems = fetchProblems(c.wellKnown, origin);
      if (problems.length) {
        if (file.status === 404) {
          push('info', `${c.wellKnown.url} answers 404 without CORS headers: browsers see a network error instead of the 404, so web clients report FAIL_PROMPT rather than IGNORE`,
            'Harmless unless you want web clients to fall back silently: add "Access-Control-Allow-Origin: *" to /.well-known/matrix/ responses, errors included.', { url: c.wellKnown.url });
        } else {
          push('fail', `${c.wellKnown.url}: ${problems.join('; ')} — browsers refuse to read the file, so Element Web cannot discover the homeserver`,
            `Add "Access-Control-Allow-Origin: *" to the /.well-known/matrix/client response (and to any redirect on the way), e.g. nginx: add_header Access-Control-Allow-Origin * always;`, { url: c.wellKnown.url, origin, problems });
        }
      }
      // 2. the file's preflight (only sent by clients that add headers to the GET)
      const pf = c.wellKnownPreflight;
      if (file.status === 200 && pf && pf.response) {
        judged.push('its preflight');
        const pp = preflightProblems(pf, origin, { api: false });
        if (pp.length) {
          push('warn', `CORS preflight (OPTIONS) on ${c.wellKnown.url} refused: ${pp.map((p) => p.text).join('; ')}`,
            `A plain GET of the file needs no preflight, but clients that add headers send one: answer OPTIONS with 204 and ${RECOMMENDED}.`, { url: pf.url, status: pf.response.status, problems: pp });
        }
      }
    }

    // 3. the client API: GET /versions with Origin, and the preflight every authenticated request needs
    // Only judged when the API is there (a missing API is the client-versions failure, not CORS).
    const api = d.versions?.ok ? finalResponse(c.versions) : null;
    if (d.versionsUrl && api) {
      judged.push('the client API');
      const problems = fetchProblems(c.versions!, origin);
      if (problems.length) {
        push('fail', `${d.versionsUrl}: ${problems.join('; ')} — browsers refuse every client API answer, so Element Web cannot log in`,
          `Let the homeserver's own CORS headers through the reverse proxy (Synapse sends them), or add ${RECOMMENDED} for /_matrix/client/.`, { url: d.versionsUrl, origin, problems });
      }
    }
    const apf = c.versionsPreflight;
    if (d.versionsUrl && api && apf) {
      judged.push('the client API preflight');
      const pp = preflightProblems(apf, origin);
      const fails = pp.filter((p) => p.severity === 'fail');
      if (pp.length) {
        push(fails.length ? 'fail' : 'warn', `CORS preflight (OPTIONS ${d.versionsUrl}, Origin ${origin}, asking for Authorization) ${fails.length ? 'refused' : 'incomplete'}: ${pp.map((p) => p.text).join('; ')}${fails.length ? ' — every authenticated request from Element Web is blocked, so it cannot log in' : ''}`,
          `Answer OPTIONS on /_matrix/ with a 2xx and ${RECOMMENDED}. If the proxy answers OPTIONS itself, it must add them too; Synapse answers preflights correctly when they reach it.`,
          { url: apf.url, status: apf.response?.status ?? null, problems: pp, allowOrigin: apf.response ? headerValues(apf.response.headers, 'access-control-allow-origin') : [], allowHeaders: apf.response ? headerValues(apf.response.headers, 'access-control-allow-headers') : [], allowMethods: apf.response ? headerValues(apf.response.headers, 'access-control-allow-methods') : [] });
      }
    }

    if (judged.length === 0) {
      const why = d.stage === 'fetch' ? `${c.wellKnown.url} could not be fetched` : 'nothing that browsers read answered';
      return [skip(ID, why)];
    }
    if (out.length === 0) out.push({ id: ID, status: 'pass', summary: `browser clients allowed (Origin ${origin}): ${judged.join(', ')}` });
    return out;
  },
};
export default check;
