/**
 * `federation-version`: per address, `GET /_matrix/federation/v1/version` with the spec Host
 * header (spec §2.2) — the cheapest proof that the homeserver itself answers federation traffic
 * on this address. `details.software` keeps the (sanitised) software name: other checks, e.g. the
 * proxy checks, recognise the stand-in backend "fedcheck-backend" by it.
 */
import type { Finding } from '../core/types.js';
import type { Check } from './types.js';
import { sanitize } from '../core/sanitize.js';
import { CONTENT_TYPE_HINT, addressContext, connectionFailure, contentTypeProblem, describeExchangeError, describeResponse, hintForStatus, jsonObject, skipNoConnection } from './address-util.js';

const ID = 'federation-version' as const;
export const VERSION_PATH = '/_matrix/federation/v1/version';

/** The software name and version out of a version response body, sanitised (null when absent). */
export function softwareOf(body: Record<string, unknown>): { name: string | null; version: string | null } | null {
  const server = body.server;
  if (typeof server !== 'object' || server === null || Array.isArray(server)) return null;
  const s = server as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? sanitize(v, 100) : v === undefined || v === null ? null : sanitize(JSON.stringify(v), 100));
  return { name: str(s.name), version: str(s.version) };
}

const check: Check = {
  id: ID,
  title: 'Per address: the homeserver answers /_matrix/federation/v1/version',
  run(ev) {
    const ctx = addressContext(ev, ID);
    if ('skipped' in ctx) return ctx.skipped;
    const out: Finding[] = [];
    for (const ae of ev.addresses) {
      const failure = connectionFailure(ae);
      if (failure) {
        out.push(skipNoConnection(ID, ae, failure));
        continue;
      }
      const ex = ae.version;
      const details: Record<string, unknown> = { hostHeader: ex.hostHeader, path: ex.path, ms: ex.ms };
      const fail = (summary: string, hint: string): void => {
        out.push({ id: ID, status: 'fail', target: ae.target, summary, hint, details });
      };
      if (!ex.response) {
        details.error = ex.error;
        fail(
          `no answer to GET ${VERSION_PATH}: ${describeExchangeError(ex)}`,
          'The TLS connection works but the request was not answered: check that the reverse proxy forwards /_matrix/ to the homeserver and that the homeserver is running and not overloaded.',
        );
        continue;
      }
      const res = ex.response;
      details.status = res.status;
      if (res.status !== 200) {
        fail(`GET ${VERSION_PATH} answered ${describeResponse(res)}`, hintForStatus(res, VERSION_PATH));
        continue;
      }
      const parsed = jsonObject(res);
      if ('error' in parsed) {
        fail(
          `GET ${VERSION_PATH} answered 200 but ${parsed.error}`,
          'Something other than the homeserver answered (a web page, a default vhost, a catch-all rule): forward every path under /_matrix/ to the homeserver.',
        );
        continue;
      }
      const sw = softwareOf(parsed.value);
      if (!sw) {
        fail(
          `GET ${VERSION_PATH} answered 200 JSON without a "server" object`,
          'A homeserver answers {"server": {"name": …, "version": …}}: check this address reaches the homeserver and not some other JSON service.',
        );
        continue;
      }
      details.software = sw.name;
      details.version = sw.version;
      const what = sw.name ? `${sw.name}${sw.version ? ` ${sw.version}` : ''}` : sw.version ? `unnamed software, version ${sw.version}` : 'software and version not disclosed';
      const ct = contentTypeProblem(res);
      if (ct) {
        out.push({ id: ID, status: 'warn', target: ae.target, summary: `homeserver answers: ${what}, but with ${ct}`, hint: CONTENT_TYPE_HINT, details });
        continue;
      }
      out.push({ id: ID, status: 'pass', target: ae.target, summary: `homeserver answers: ${what}`, details });
    }
    return out;
  },
};
export default check;
