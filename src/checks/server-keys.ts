/**
 * `server-keys`: per address, `GET /_matrix/key/v2/server` (spec §2.1).
 *
 * - `server_name` equals the server name as typed (pre-delegation): Synapse ignores the response
 *   otherwise;
 * - `valid_until_ts` in the future (warn under one hour; note the 7-day cap for room v5+);
 * - every ed25519 verify key well-formed (key id `ed25519:[a-zA-Z0-9_]+`, 32 bytes of base64);
 * - the self-signature over canonical JSON, the way Synapse checks it: walk the key ids under
 *   `signatures[server_name]`, skip those not in `verify_keys`, the first one present must
 *   verify, none checkable = "not signed by any of its own keys". Like gomatrixserverlib (the
 *   federation tester, Dendrite) every ed25519 key must also be self-signed: reported as a warning;
 * - `old_verify_keys` listed;
 * - across addresses: different key sets on different addresses warn (load-balanced servers
 *   with different signing keys).
 */
import type { Finding } from '../core/types.js';
import type { ServerEvidence } from '../core/evidence.js';
import type { AddressEvidence } from '../probes/address.js';
import type { Check } from './types.js';
import { quote, sanitize } from '../core/sanitize.js';
import { signedBytes, tryDecodeBase64, verifyJsonSignature } from '../core/signing.js';
import { CONTENT_TYPE_HINT, addressContext, connectionFailure, contentTypeProblem, describeExchangeError, describeResponse, hintForStatus, jsonObject, skipNoConnection } from './address-util.js';
import { formatSpan } from './cert-util.js';

const ID = 'server-keys' as const;
export const KEYS_PATH = '/_matrix/key/v2/server';
const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
export const KEY_ID_RE = /^ed25519:[a-zA-Z0-9_]+$/;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function q(s: string): string {
  return quote(s, 100);
}

/** A list of key ids for a summary: a hostile response can hold thousands, so only the first few. */
function ids(list: string[], shown = 5): string {
  return list.slice(0, shown).join(', ') + (list.length > shown ? ` and ${list.length - shown} more` : '');
}

function iso(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface KeyCheckResult {
  findings: Finding[];
  /** canonical description of the verify keys served ("id=key,…"), for the cross-address comparison */
  keySet: string | null;
  keyIds: string[];
}

/** Judge one parsed key response. Exported for the unit tests. */
export function judgeKeyResponse(doc: Record<string, unknown>, expected: string, now: number, target: string, delegated: string | null): KeyCheckResult {
  const out: Finding[] = [];
  const infos: Finding[] = [];
  const details: Record<string, unknown> = {};
  const fail = (summary: string, hint: string) => out.push({ id: ID, status: 'fail', target, summary, hint, details });
  const warn = (summary: string, hint: string) => out.push({ id: ID, status: 'warn', target, summary, hint, details });
  const info = (summary: string, hint?: string) => infos.push({ id: ID, status: 'info', target, summary, ...(hint ? { hint } : {}), details });

  // server_name
  const bodyName = doc.server_name;
  details.serverName = typeof bodyName === 'string' ? sanitize(bodyName, 200) : null;
  if (typeof bodyName !== 'string') {
    fail('the key response has no "server_name" string', `A homeserver answers with "server_name": "${expected}": check this address reaches the homeserver.`);
  } else if (bodyName !== expected) {
    const delegatedHost = delegated?.replace(/:\d+$/, '') ?? null;
    const isDelegated = bodyName === delegated || bodyName === delegatedHost;
    fail(
      `server_name is ${q(bodyName)}, not ${expected}`,
      isDelegated
        ? `The homeserver is configured as ${q(bodyName)}, the name it is delegated to. server_name must be ${expected} — the name in your user IDs (@user:${expected}); delegation only says where to connect. Remote servers ignore keys for another name. Note that a homeserver's server_name cannot be changed once it has users: fix the delegation or start afresh.`
        : `Remote servers ignore a key response for another name (Synapse rejects it). Either this address reaches a different homeserver (check the reverse proxy's Host/SNI routing), or the homeserver's server_name setting is not ${expected}.`,
    );
  }
  const sn = typeof bodyName === 'string' ? bodyName : expected;

  // valid_until_ts
  const vut = doc.valid_until_ts;
  if (typeof vut !== 'number' || !Number.isSafeInteger(vut)) {
    fail('valid_until_ts is missing or not an integer', 'The key response must carry "valid_until_ts" (milliseconds since the epoch): check this address reaches a Matrix homeserver.');
  } else {
    details.validUntil = iso(vut);
    if (vut <= now) {
      fail(
        `valid_until_ts expired ${formatSpan(now - vut)} ago (${iso(vut)})`,
        'Remote servers will not accept these keys. Homeservers compute the key response fresh, so a stale one usually comes from a cache in front of the homeserver (a CDN or proxy_cache): do not cache /_matrix/key/. Also check the homeserver machine\'s clock (NTP).',
      );
    } else if (vut - now < HOUR) {
      warn(
        `valid_until_ts is only ${formatSpan(vut - now)} away (${iso(vut)})`,
        'Servers should not serve key responses that expire within an hour (spec): remote servers will have to refetch almost constantly. Check the homeserver\'s clock and its key validity setting (Synapse: key_refresh_interval, default 1 day), and any cache in front of /_matrix/key/.',
      );
    } else if (vut - now > WEEK) {
      info(`valid_until_ts is ${formatSpan(vut - now)} away (${iso(vut)}); for room versions 5 and later remote servers use at most 7 days (min(valid_until_ts, now + 7 days))`);
    }
  }

  // verify_keys
  const vk = doc.verify_keys;
  const good = new Map<string, string>(); // well-formed ed25519 key id → key
  if (!isObj(vk)) {
    fail('the key response has no "verify_keys" object', 'A homeserver lists its signing keys in "verify_keys": check this address reaches the homeserver.');
  } else {
    for (const [kid, entry] of Object.entries(vk)) {
      const key = isObj(entry) ? entry.key : undefined;
      if (!kid.startsWith('ed25519:')) {
        info(`verify key ${q(kid)} uses an algorithm other than ed25519; remote servers ignore it`);
        continue;
      }
      if (!KEY_ID_RE.test(kid)) {
        fail(`verify key id ${q(kid)} is malformed (expected ed25519: followed by letters, digits or _)`, 'The key id is taken from the homeserver\'s signing key file: regenerate the key (Synapse: generate_signing_key) rather than editing it by hand.');
        continue;
      }
      if (typeof key !== 'string') {
        fail(`verify key ${kid} has no "key" string`, 'Each entry of verify_keys must be {"key": "<unpadded base64>"}.');
        continue;
      }
      const raw = tryDecodeBase64(key);
      if (!raw) {
        fail(`verify key ${kid} is not valid base64`, 'The public key must be unpadded base64 of 32 bytes: regenerate the signing key.');
        continue;
      }
      if (raw.length !== 32) {
        fail(`verify key ${kid} is ${raw.length} bytes, not the 32 of an ed25519 key`, 'The public key must be unpadded base64 of 32 bytes: regenerate the signing key.');
        continue;
      }
      if (key.includes('=')) {
        warn(`verify key ${kid} is padded base64 (the spec requires unpadded)`, 'Matrix uses unpadded base64: most servers accept padding when decoding, but not all. Serve the key without trailing "=".');
      }
      good.set(kid, key);
    }
    if (good.size === 0 && !out.some((f) => f.summary.startsWith('verify key'))) {
      fail('verify_keys has no ed25519 key', 'A homeserver must publish at least one ed25519 verify key: check the signing key configuration.');
    }
  }
  const keyIds = [...good.keys()];
  details.verifyKeys = keyIds;

  // signatures, as Synapse checks them
  const sigs = doc.signatures;
  const forServer = isObj(sigs) ? sigs[sn] : undefined;
  let synapseOk = false;
  if (!isObj(sigs)) {
    fail('the key response is not signed (no "signatures" object)', 'A key response must be signed by the server\'s own key: check this address reaches the homeserver unmodified.');
  } else if (!isObj(forServer)) {
    const others = Object.keys(sigs);
    fail(
      `the key response is not signed by ${q(sn)}${others.length ? ` (only by ${others.slice(0, 3).map(q).join(', ')})` : ''}`,
      'The signatures must be filed under the server\'s own name: check the homeserver\'s server_name and that nothing rewrites the response.',
    );
  } else if (isObj(vk)) {
    const signedBy = Object.keys(forServer);
    details.signedBy = signedBy.map((k) => sanitize(k, 100));
    const checkable = signedBy.filter((k) => Object.prototype.hasOwnProperty.call(vk, k));
    const first = checkable[0];
    if (first === undefined) {
      fail(
        `not signed by any of its own keys: signed by ${ids(signedBy.map(q)) || 'nothing'}, but verify_keys lists ${ids(Object.keys(vk).map(q)) || 'nothing'}`,
        'Remote servers verify the response with the keys it lists, so one of them must have signed it. This happens when the signing key was replaced but something still serves the old response (a cache in front of /_matrix/key/), or when the key is not the one the homeserver signs with.',
      );
    } else {
      const entry = (vk as Record<string, unknown>)[first];
      const key = isObj(entry) && typeof entry.key === 'string' ? entry.key : '';
      const r = verifyJsonSignature(doc, sn, first, key);
      if (!r.ok) {
        fail(
          `the self-signature by ${q(first)} does not verify (${sanitize(r.reason ?? 'unknown', 120)})`,
          'The response was changed after the homeserver signed it — typically by a proxy or CDN that rewrites or re-encodes JSON bodies — or it was signed with a different key than the one it lists. Serve /_matrix/key/v2/server unmodified from the homeserver.',
        );
      } else {
        synapseOk = true;
        details.verifiedWith = first;
      }
    }
    // gomatrixserverlib: every ed25519 verify key must carry a valid self-signature.
    if (synapseOk) {
      const unsigned: string[] = [];
      // encoded once for all keys: a hostile response can list a thousand "signed" keys
      let bytes: Buffer | undefined;
      try {
        bytes = signedBytes(doc);
      } catch {
        /* each verification reports it */
      }
      for (const [kid, key] of good) {
        if (kid === details.verifiedWith) continue;
        if (!verifyJsonSignature(doc, sn, kid, key, bytes).ok) unsigned.push(kid);
      }
      if (unsigned.length) {
        warn(
          `verify key${unsigned.length > 1 ? 's' : ''} ${ids(unsigned)} ${unsigned.length > 1 ? 'are' : 'is'} not self-signed: Synapse accepts this, but gomatrixserverlib (Dendrite, the federation tester) rejects the whole response`,
          'Sign the key response with every key listed in verify_keys, or move keys that are no longer used to old_verify_keys.',
        );
      }
    }
  }

  // old_verify_keys
  const old = doc.old_verify_keys;
  if (isObj(old) && Object.keys(old).length > 0) {
    const list = Object.entries(old).map(([kid, e]) => {
      const ts = isObj(e) && typeof e.expired_ts === 'number' ? ` (expired ${iso(e.expired_ts)})` : ' (no expired_ts)';
      return `${sanitize(kid, 60)}${ts}`;
    });
    details.oldVerifyKeys = list;
    info(`old_verify_keys: ${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''} — only used to check events signed before they expired`);
  }

  if (!out.some((f) => f.status === 'fail' || f.status === 'warn')) {
    const validity = typeof vut === 'number' ? `, valid for ${formatSpan(vut - now)} (until ${iso(vut)})` : '';
    out.push({ id: ID, status: 'pass', target, summary: `keys of ${sn}: ${ids(keyIds)}; self-signature verified${validity}`, details });
  }
  const keySet = good.size ? [...good.entries()].map(([k, v]) => `${k}=${v}`).sort().join(',') : null;
  return { findings: [...out, ...infos], keySet, keyIds };
}

function judgeAddress(ae: AddressEvidence, expected: string, now: number, delegated: string | null): KeyCheckResult {
  const failure = connectionFailure(ae);
  if (failure) return { findings: [skipNoConnection(ID, ae, failure)], keySet: null, keyIds: [] };
  const ex = ae.keys;
  const base = { id: ID, target: ae.target } as const;
  if (!ex.response) {
    return {
      findings: [{ ...base, status: 'fail', summary: `no answer to GET ${KEYS_PATH}: ${describeExchangeError(ex)}`, hint: 'The TLS connection works but the key request was not answered: check that the reverse proxy forwards /_matrix/key/ to the homeserver and that the homeserver is running.', details: { error: ex.error } }],
      keySet: null,
      keyIds: [],
    };
  }
  const res = ex.response;
  if (res.status !== 200) {
    return { findings: [{ ...base, status: 'fail', summary: `GET ${KEYS_PATH} answered ${describeResponse(res)}`, hint: hintForStatus(res, KEYS_PATH), details: { status: res.status } }], keySet: null, keyIds: [] };
  }
  const parsed = jsonObject(res);
  if ('error' in parsed) {
    return {
      findings: [{ ...base, status: 'fail', summary: `GET ${KEYS_PATH} answered 200 but ${parsed.error}`, hint: 'Something other than the homeserver answered: forward every path under /_matrix/ (including /_matrix/key/) to the homeserver.', details: { status: res.status } }],
      keySet: null,
      keyIds: [],
    };
  }
  const r = judgeKeyResponse(parsed.value, expected, now, ae.target, delegated);
  const ct = contentTypeProblem(res);
  if (ct) {
    // Synapse would not even parse it: that failure comes first, and the pass (if any) goes.
    const rest = r.findings.filter((f) => f.status !== 'pass');
    r.findings = [{ ...base, status: 'fail', summary: `the key response has ${ct}: Synapse rejects it`, hint: CONTENT_TYPE_HINT, details: { status: res.status } }, ...rest];
  }
  return r;
}

const check: Check = {
  id: ID,
  title: 'Per address: /_matrix/key/v2/server names the server, is current and self-signed',
  run(ev: ServerEvidence) {
    const ctx = addressContext(ev, ID);
    if ('skipped' in ctx) return ctx.skipped;
    const out: Finding[] = [];
    const sets = new Map<string, { targets: string[]; keyIds: string[] }>();
    for (const ae of ev.addresses) {
      const r = judgeAddress(ae, ctx.serverName, ev.collectedAt, ctx.resolution.delegatedServerName);
      out.push(...r.findings);
      if (r.keySet) {
        const g = sets.get(r.keySet) ?? { targets: [], keyIds: r.keyIds };
        g.targets.push(ae.target);
        sets.set(r.keySet, g);
      }
    }
    if (sets.size > 1) {
      const groups = [...sets.values()];
      out.push({
        id: ID,
        status: 'warn',
        summary: `the addresses serve different signing keys: ${groups.map((g) => `${g.targets.join(', ')} → ${ids(g.keyIds)}`).join('; ')}`,
        hint: 'Every address must be the same homeserver with the same signing key. Remote servers cache the keys they fetched from whichever address they reached, and events or requests signed with the other key fail to verify until they refetch. If these are load-balanced instances, give them all the same signing key file (Synapse: signing_key_path); if one is an old server, remove its address from DNS.',
        details: { groups: groups.map((g) => ({ targets: g.targets, keyIds: g.keyIds })) },
      });
    }
    return out;
  },
};
export default check;
