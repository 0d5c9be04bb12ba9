/**
 * `support-well-known`: /.well-known/matrix/support (spec §2.4, Matrix v1.10). Optional: `info`
 * when absent; validated when present — `contacts` (each with a `role` and a `matrix_id` and/or
 * `email_address`) and/or `support_page`, at least one of the two, `contacts` non-empty when alone.
 */
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { validateSupport } from '../core/client-discovery.js';
import { clientEvidence, clientSkipCause, fetchFailure, finalResponse, hopsSummary } from './client-evidence.js';

const ID = 'support-well-known' as const;
const EXAMPLE = '{"contacts": [{"role": "m.role.admin", "matrix_id": "@admin:example.org", "email_address": "admin@example.org"}], "support_page": "https://example.org/support"}';

const check: Check = {
  id: ID,
  title: '/.well-known/matrix/support is valid when present',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const c = clientEvidence(ev);
    if (!c) return [skip(ID, clientSkipCause(ev))];
    const f = c.support;
    const details: Record<string, unknown> = { url: f.url, hops: hopsSummary(f) };
    const ff = fetchFailure(f);
    if (ff) {
      if (ff.kind === 'unreachable') return [{ id: ID, status: 'info', summary: `${f.url}: ${ff.text}; no support contact published`, details }];
      return [{ id: ID, status: 'warn', summary: `${f.url}: ${ff.text}`, details, hint: 'Serve the file over HTTPS with a trusted certificate, or answer 404.' }];
    }
    const res = finalResponse(f)!;
    details.status = res.status;
    if (res.status === 404) {
      return [{ id: ID, status: 'info', summary: `absent (${f.url} answered 404): no support contact is published (optional, Matrix v1.10)`, details, hint: `Optionally publish who to contact about this server, e.g. ${EXAMPLE}.` }];
    }
    if (res.status !== 200) {
      return [{ id: ID, status: 'warn', summary: `${f.url} answered HTTP ${res.status}; only 200 (the file) or 404 (none) are meaningful`, details, hint: 'Answer 404 if you publish no support file.' }];
    }
    const v = validateSupport(res.body);
    details.problems = v.problems;
    if (!v.valid) {
      return [{ id: ID, status: 'warn', summary: `${f.url} is invalid: ${v.problems.slice(0, 3).join('; ')}${v.problems.length > 3 ? ` (+${v.problems.length - 3} more)` : ''}`, details, hint: `Serve a JSON object such as ${EXAMPLE}.` }];
    }
    const parts: string[] = [];
    // (a hostile file can name a thousand roles: list the first few)
    if (v.contacts) parts.push(`${v.contacts} contact${v.contacts === 1 ? '' : 's'} (${v.roles.slice(0, 5).join(', ')}${v.roles.length > 5 ? ` and ${v.roles.length - 5} more roles` : ''})`);
    if (v.supportPage) parts.push(`support page ${v.supportPage}`);
    return [{ id: ID, status: 'pass', summary: `valid: ${parts.join(', ')}`, details }];
  },
};
export default check;
