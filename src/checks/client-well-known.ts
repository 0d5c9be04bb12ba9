/**
 * `client-well-known`: /.well-known/matrix/client and the outcome a client reaches with it
 * (spec §2.3): IGNORE, FAIL_PROMPT, FAIL_ERROR — or valid — and why, including the validation of
 * base_url with /_matrix/client/versions and of m.identity_server with /_matrix/identity/v2.
 * Also the consistency of the deployment (issue point 5): a base_url that looks like a mistake
 * next to the federation host, and the server name's host and the "matrix host" serving
 * different copies of the same well-known file.
 */
import type { Finding, Status } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { Check } from './types.js';
import { skip } from './types.js';
import { isServerNameError } from '../core/server-name.js';
import { CLIENT_FILE_MAX_BYTES, describeVersions, editDistance, parseClientWellKnown, sameJson } from '../core/client-discovery.js';
import { quote, sanitize } from '../core/sanitize.js';
import { parseJsonSafely } from '../core/canonical-json.js';
import { redirectCount, type FollowedFetch } from '../probes/follow.js';
import { clientDiscovery, clientEvidence, clientSkipCause, copiesEvidence, finalResponse, hopsSummary, type ClientDiscovery } from './client-evidence.js';
import type { ClientEvidence } from '../probes/client.js';

const ID = 'client-well-known' as const;

/** The base_url we would suggest: the delegated host, else the server name's host. */
function suggestedBase(ev: ServerEvidence, c: ClientEvidence): string {
  const v = ev.discovery?.wellKnown?.verdict;
  const host = v && v.valid && v.mServer.hostKind === 'dns' ? v.mServer.host : c.hostname;
  return `https://${host}`;
}

function outcomeFinding(ev: ServerEvidence, c: ClientEvidence, d: ClientDiscovery): Finding {
  const url = c.wellKnown.url;
  const n = redirectCount(c.wellKnown);
  const via = n ? ` (after ${n} redirect${n > 1 ? 's' : ''})` : '';
  const details: Record<string, unknown> = { url, hops: hopsSummary(c.wellKnown), outcome: d.outcome, stage: d.stage, baseUrl: d.file?.baseUrl ?? null, versionsUrl: d.versionsUrl, identityBaseUrl: d.file?.identityBaseUrl ?? null };
  const example = `{"m.homeserver": {"base_url": "${suggestedBase(ev, c)}"}}`;
  const f = (status: Status, summary: string, hint?: string): Finding => ({ id: ID, status, summary, ...(hint ? { hint } : {}), details });

  if (d.stage === 'fetch') {
    const ff = d.fetchFailure!;
    const lead = `FAIL_PROMPT (what matrix-js-sdk does when the fetch fails; the spec does not say): ${url}`;
    if (ff.kind === 'unreachable' && n === 0) {
      return f('info', `not published: ${url}: ${ff.text}; clients cannot discover the homeserver from a user ID and ask for its URL (matrix-js-sdk: FAIL_PROMPT; the spec does not define this case)`,
        `Optional. To let clients discover your homeserver, serve ${example} at ${url} (HTTPS on port 443, with "Access-Control-Allow-Origin: *").`);
    }
    if (ff.kind === 'timeout' || ff.kind === 'other') return f('warn', `${lead}: ${ff.text}`, `Make the HTTPS server at ${c.hostname} answer this URL (200 with the JSON file, or 404).`);
    if (ff.kind === 'unreachable') return f('fail', `${lead}: a redirect leads to a server that cannot be reached: ${ff.text}`, 'Fix the redirect target, or serve the file directly at this URL.');
    return f('fail', `${lead}: ${ff.text}`, ff.kind === 'tls'
      ? `Clients fetch this file with ordinary certificate checks: serve it with a publicly trusted certificate for ${c.hostname}, including the intermediate.`
      : 'Serve the file directly (or through few redirects, all HTTPS) with a 200 and a JSON body.');
  }
  if (d.stage === 'file') {
    const file = d.file!;
    if (d.outcome === 'IGNORE') {
      return f('info', `IGNORE: ${url} answered 404${via}; clients fall back to asking for the homeserver URL`,
        `Optional. To let clients discover your homeserver from a user ID, serve ${example} there.`);
    }
    if (d.outcome === 'FAIL_ERROR') {
      return f('fail', `FAIL_ERROR: ${url}${via}: ${file.reason}; clients stop the login`,
        `base_url must be the URL clients use, scheme included and without the /_matrix path, e.g. ${example}.`);
    }
    return f('fail', `FAIL_PROMPT: ${url}${via}: ${file.reason}; clients report invalid discovery data and ask for the homeserver URL`,
      file.problem === 'not-200'
        ? `Answer 200 with ${example}, or 404 if you do not publish client discovery.`
        : `Serve a JSON object such as ${example} (the file may have more keys, e.g. "m.identity_server").`);
  }
  if (d.stage === 'versions') {
    return f('fail', `FAIL_ERROR: base_url ${d.file!.baseUrl} from ${url}: ${d.versionsUrl} does not validate (${d.versionsFailure}); clients stop the login`,
      `Make ${d.versionsUrl} reach the homeserver's client API (reverse proxy the /_matrix path to it), or correct base_url. See the client-versions finding.`);
  }
  if (d.stage === 'identity') {
    if (d.outcome === 'FAIL_PROMPT') {
      return f('fail', `FAIL_PROMPT: ${url}: ${d.file!.reason}; clients report invalid discovery data`,
        'Give m.identity_server a base_url, e.g. {"m.identity_server": {"base_url": "https://vector.im"}}, or remove the key.');
    }
    return f('fail', `FAIL_ERROR: ${url}: ${d.reason}; clients stop the login`,
      'Point m.identity_server.base_url at a working identity server (GET <base_url>/_matrix/identity/v2 must answer 200 {}), or remove the key.');
  }
  const vs = d.versions ? ` (${describeVersions(d.versions.versions)})` : '';
  const id = d.file?.identityBaseUrl ? `; identity server ${d.file.identityBaseUrl} answers` : '';
  return f('pass', `valid: clients use ${d.file!.baseUrl}${vs}${via}${id}`);
}

function hostOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return null;
  }
}

/** base_url against the federation setup: things that work by accident or are plain mistakes. */
function baseUrlConsistency(ev: ServerEvidence, c: ClientEvidence, d: ClientDiscovery): Finding[] {
  const base = d.file?.baseUrl;
  if (!base) return [];
  const out: Finding[] = [];
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return [];
  }
  if (/\/_matrix(\/|$)/.test(u.pathname)) {
    out.push({ id: ID, status: 'warn', summary: `base_url ${base} contains the /_matrix path; clients append /_matrix/client/… themselves`, hint: `Use the bare origin, e.g. ${u.origin}.` });
  }
  if (u.protocol === 'http:') {
    out.push({ id: ID, status: 'warn', summary: `base_url ${base} is plain http: passwords and access tokens travel unencrypted, and web clients served over https refuse it (mixed content)`, hint: `Use https://${u.host}.` });
  }
  if (u.port === '8448') {
    out.push({ id: ID, status: 'info', summary: `base_url ${base} uses port 8448, the federation port: fine if your proxy serves the client API there, but clients normally use 443 and some networks block 8448`, hint: `Serve the client API on 443 and use https://${u.hostname}.` });
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const candidates = new Set<string>([c.hostname.toLowerCase()]);
  const v = ev.discovery?.wellKnown?.verdict;
  const delegated = v && v.valid && v.mServer.hostKind === 'dns' ? v.mServer.host.toLowerCase() : null;
  if (d.stage === 'versions' && host === c.hostname.toLowerCase() && delegated && delegated !== host) {
    out.push({
      id: ID, status: 'warn',
      summary: `base_url points at ${host}, the server name's web server, which does not serve the client API; federation is delegated to ${delegated}`,
      hint: `If ${delegated} runs the homeserver, use {"m.homeserver": {"base_url": "https://${delegated}"}}; otherwise forward /_matrix/client/ from ${host} to the homeserver.`,
    });
  }
  if (v && v.valid && v.mServer.hostKind === 'dns') candidates.add(v.mServer.host.toLowerCase());
  for (const t of ev.discovery?.resolution?.targets ?? []) candidates.add(t.host.toLowerCase());
  if (!candidates.has(host)) {
    for (const cand of candidates) {
      if (cand.length >= 5 && editDistance(host, cand) <= 2) {
        out.push({
          id: ID, status: 'warn',
          summary: `base_url host ${host} looks like a typo of ${cand}, the federation host`,
          hint: `If the client API is served by the same homeserver, use https://${cand}.`,
          details: { baseUrlHost: host, federationHosts: [...candidates] },
        });
        break;
      }
    }
  }
  return out;
}

function shortBody(f: FollowedFetch | null | undefined): string {
  const r = finalResponse(f);
  if (!r) return '(none)';
  const p = parseJsonSafely(r.body);
  return p.ok ? sanitize(JSON.stringify(p.value), 100) : quote(r.body.trim(), 100);
}

/** The server name's host and the matrix host(s) should serve the same files. */
function copyConsistency(ev: ServerEvidence, c: ClientEvidence, d: ClientDiscovery): Finding[] {
  const copies = copiesEvidence(ev);
  if (!copies) return [];
  const out: Finding[] = [];
  const apexServer = ev.discovery?.wellKnown && ev.discovery.wellKnown.outcome === 'response' ? ev.discovery.wellKnown : null;
  for (const copy of copies.copies) {
    const role = copy.roles.includes('m.server') ? (copy.roles.includes('base_url') ? 'the delegated and client host' : 'the delegated host') : 'the client base_url host';
    const files: Array<[string, FollowedFetch | null, FollowedFetch]> = [
      ['server', apexServer, copy.server],
      ['client', c.wellKnown, copy.client],
      ['support', c.support, copy.support],
    ];
    for (const [name, apex, other] of files) {
      const a = finalResponse(apex);
      const b = finalResponse(other);
      if (!a || !b || a.status !== 200 || b.status !== 200) continue;
      const same = sameJson(a.body, b.body) ?? a.body.trim() === b.body.trim();
      if (same) continue;
      out.push({
        id: ID, status: 'warn',
        summary: `${c.hostname} and ${copy.host} (${role}) serve different /.well-known/matrix/${name}: ${shortBody(apex)} vs ${shortBody(other)}`,
        hint: name === 'server'
          ? `Homeservers only read the copy on ${c.hostname} (there is no second well-known hop); make both identical, or remove the one on ${copy.host}, so nobody edits the wrong file.`
          : `Clients read the copy on ${c.hostname} (the server name in user IDs); serve the same file on both hosts (or redirect one to the other).`,
        details: { file: name, hosts: [c.hostname, copy.host] },
      });
    }
    // The file exists on the matrix host, but not where clients look for it.
    const b = finalResponse(copy.client);
    if ((d.outcome === 'IGNORE' || d.stage === 'fetch') && b && parseClientWellKnown(b).baseUrl !== null) {
      out.push({
        id: ID, status: 'warn',
        summary: `${copy.host} serves /.well-known/matrix/client, but ${c.hostname} does not: clients look for it on ${c.hostname}, the part of user IDs after ':'`,
        hint: `Serve the file (or a redirect to it) on https://${c.hostname}/.well-known/matrix/client.`,
      });
    }
  }
  return out;
}

const check: Check = {
  id: ID,
  title: '/.well-known/matrix/client: the outcome a client reaches (spec §2.3) and the consistency of the deployment',
  run(ev) {
    if (isServerNameError(ev.parsed)) return [skip(ID, 'the server name is invalid')];
    const c = clientEvidence(ev);
    if (!c) return [skip(ID, clientSkipCause(ev))];
    const d = clientDiscovery(c);
    const out: Finding[] = [outcomeFinding(ev, c, d)];
    const ct = d.file?.contentTypeWarning;
    if (ct) {
      out.push({ id: ID, status: 'warn', summary: `${c.wellKnown.url}: ${ct}`, hint: 'Send "Content-Type: application/json"; clients parse the body as JSON anyway, but some tools and browsers extensions do not.' });
    }
    const bad = finalResponse(c.wellKnown);
    if (bad && d.stage !== 'fetch' && bad.truncated) {
      out.push({ id: ID, status: 'warn', summary: `${c.wellKnown.url}: the body is larger than ${CLIENT_FILE_MAX_BYTES / 1024} KiB; a discovery file needs a few hundred bytes` });
    }
    out.push(...baseUrlConsistency(ev, c, d), ...copyConsistency(ev, c, d));
    return out;
  },
};
export default check;
