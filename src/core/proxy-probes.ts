/**
 * The reverse-proxy probe set and the request-target diff. Pure: no I/O.
 *
 * A homeserver verifies a federation request's signature (the `X-Matrix` Authorization header)
 * over the request target exactly as the sender wrote it, and routes on the raw path: each path
 * parameter is one segment, percent-decoded once by the homeserver itself. So the deployment docs
 * say the proxy "must not canonicalise or normalise the requested URI in any way". The probes are
 * request targets built from what Matrix really sends — room, event and user IDs and aliases with
 * `$ / : ! # @ + ? % =` percent-encoded, non-ASCII, lowercase hex, dot segments, doubled slashes,
 * query strings — each with the reason it matters; {@link diffTarget} names every change between
 * what was sent and what the homeserver (the stand-in backend) received.
 *
 * Some requests are refused or changed by the recommended nginx, Apache, Caddy and HAProxy
 * configurations themselves (measured with the real proxies, test/proxies): `%00`, invalid escapes,
 * a raw `#`, raw non-ASCII bytes, paths over 8 KiB. They are "edge" probes: sent for the record,
 * never reported as canonicalisation.
 */

/** Which API a probe path belongs to (the client base URL may be proxied differently). */
export type ProbeApi = 'federation' | 'client';
/** What an endpoint serves, as far as fedcheck knows. */
export type EndpointRole = 'federation' | 'client' | 'both';
/**
 * control: a plain request on a route, to tell "route not proxied" from "request refused";
 * core: must arrive byte for byte; edge: the recommended configurations refuse or alter it too.
 */
export type ProbeKind = 'control' | 'core' | 'edge';

export interface TargetProbe {
  /** stable id, e.g. `fed-event-v3` */
  id: string;
  api: ProbeApi;
  kind: ProbeKind;
  /** route family; core probes of a route are judged only if its control arrived */
  route: string;
  /** the request target, exactly as sent (non-ASCII characters are sent as UTF-8 bytes) */
  target: string;
  /** the feature under test, short, e.g. `%2F in an event ID` */
  feature: string;
  /** which Matrix request sends such a target, and why it matters */
  why: string;
  /** edge probes: why a proxy may refuse or alter it without being at fault */
  tolerated?: string;
  /** must be sent on a raw socket (an HTTP client library would refuse or re-encode it) */
  raw?: boolean;
}

const DOMAIN = 'example.org';

/**
 * The probe set for an endpoint. `nonce` (letters/digits) makes every target unique to the run, so
 * no cache can answer and the backend's echo can be matched to the request.
 */
export function buildProbeSet(role: EndpointRole, nonce: string): TargetProbe[] {
  const n = nonce.replace(/[^A-Za-z0-9]/g, '').slice(0, 16) || 'x';
  const out: TargetProbe[] = [];
  if (role !== 'client') out.push(...federationProbes(n));
  if (role !== 'federation') out.push(...clientProbes(n));
  out.push(...edgeProbes(n, role === 'client' ? 'client' : 'federation'));
  return out;
}

/** A builder of target probes for one API (keeps the probe lists below readable). */
function prober(api: TargetProbe['api']) {
  return (id: string, route: string, target: string, feature: string, why: string, kind: ProbeKind = 'core'): TargetProbe => ({ id, api, kind, route, target, feature, why });
}

function federationProbes(n: string): TargetProbe[] {
  const ev = '/_matrix/federation/v1/event/';
  const join = '/_matrix/federation/v1/make_join/';
  const room = `%21fc${n}%3A${DOMAIN}`;
  const p = prober('federation');
  return [
    p('fed-event-control', 'fed-event', `${ev}fc${n}`, 'plain event ID', 'control: a request with nothing to canonicalise', 'control'),
    p('fed-event-v1', 'fed-event', `${ev}%24fc${n}%3A${DOMAIN}`, '%24 and %3A in an event ID', 'GET /event/{eventId} (fetching missing events, backfill): room v1/v2 event IDs are `$opaque:server`'),
    p('fed-event-v3', 'fed-event', `${ev}%24fc${n}%2Bab%2Fcd`, '%2F and %2B in an event ID', 'room v3 event IDs are standard base64, so about one in three contains `/` and `+`'),
    p('fed-event-raw', 'fed-event', `${ev}$fc${n}:${DOMAIN}`, 'unencoded $ and : in an event ID', 'some servers send `$` and `:` unencoded; they are legal in a path and must not be re-encoded'),
    p('fed-event-lowerhex', 'fed-event', `${ev}%24fc${n}%2fab%3a${DOMAIN}`, 'lowercase hex (%2f, %3a)', 'percent-encoding with lowercase hex is valid; the signature covers the exact bytes'),
    p('fed-event-dots', 'fed-event', `${ev}%24fc${n}/..`, 'a `..` segment', 'dot segments: the homeserver routes on the raw path; a proxy that resolves them sends another request'),
    p('fed-event-slashes', 'fed-event', `/_matrix/federation/v1//event/%24fc${n}`, 'a doubled slash', 'doubled slashes: the signed target contains them; merging changes the target'),
    p('fed-join-control', 'fed-make-join', `${join}fc${n}/fc${n}?ver=1`, 'plain room and user IDs', 'control: a request with nothing to canonicalise', 'control'),
    p('fed-join', 'fed-make-join', `${join}${room}/%40alice%3A${DOMAIN}?ver=1&ver=10&ver=org.matrix.msc3757.10`, '%21, %40 and repeated query parameters', 'GET /make_join/{roomId}/{userId}?ver=… : every remote join starts with it'),
    p('fed-join-slash-user', 'fed-make-join', `${join}${room}/%40fc%2Fuser%3A${DOMAIN}?ver=10`, '%2F in a user ID', "historical user IDs may contain '/'"),
    p('fed-join-question-user', 'fed-make-join', `${join}${room}/%40fc%3Fuser%3A${DOMAIN}?ver=10`, '%3F in a user ID', "historical user IDs may contain '?'"),
    p('fed-join-hash-user', 'fed-make-join', `${join}${room}/%40fc%23user%3A${DOMAIN}?ver=10`, '%23 in a user ID', "historical user IDs may contain '#'"),
    p('fed-join-percent-user', 'fed-make-join', `${join}${room}/%40fc%25user%3A${DOMAIN}?ver=10`, '%25 in a user ID', "historical user IDs may contain '%': decoding it twice changes the ID"),
    p('fed-join-equals-user', 'fed-make-join', `${join}${room}/%40fc%3Du%26v%3A${DOMAIN}?ver=10`, '%3D and %26 in a user ID', "historical user IDs may contain '=' and '&'"),
    p('fed-join-nonascii-user', 'fed-make-join', `${join}${room}/%40fc%C3%A9l%C3%A8ve%3A${DOMAIN}?ver=10`, 'UTF-8 (%C3%A9) in a user ID', 'historical user IDs may contain non-ASCII characters, sent as percent-encoded UTF-8'),
    p('fed-invite-control', 'fed-invite', `/_matrix/federation/v2/invite/fc${n}/fc${n}`, 'plain invite', 'control: a request with nothing to canonicalise', 'control'),
    p('fed-invite', 'fed-invite', `/_matrix/federation/v2/invite/${room}/%24fc${n}%2Bab%2Fcd`, '%2F in an invite', 'PUT /invite/{roomId}/{eventId}: invites carry room v3 event IDs'),
    p('fed-backfill-control', 'fed-backfill', `/_matrix/federation/v1/backfill/fc${n}?limit=10`, 'plain backfill', 'control: a request with nothing to canonicalise', 'control'),
    p('fed-backfill', 'fed-backfill', `/_matrix/federation/v1/backfill/${room}?v=%24fc${n}%2Bab%2Fcd&v=%24fc${n}b&limit=10`, 'encoded IDs in the query; parameter order', 'GET /backfill/{roomId}?v=…&limit=…: the signature covers the query string in its order'),
    p('fed-query-control', 'fed-query', `/_matrix/federation/v1/query/directory?room_alias=fc${n}`, 'plain query', 'control: a request with nothing to canonicalise', 'control'),
    p('fed-query-alias', 'fed-query', `/_matrix/federation/v1/query/directory?room_alias=%23fc${n}%3A${DOMAIN}`, '%23 in a query value', 'resolving a room alias (#alias:server) over federation'),
  ];
}

function clientProbes(n: string): TargetProbe[] {
  const room = `%21fc${n}%3A${DOMAIN}`;
  const state = `/_matrix/client/v3/rooms/${room}/state/`;
  const p = prober('client');
  return [
    p('cl-state-control', 'cl-state', `/_matrix/client/v3/rooms/fc${n}/state/m.room.member/fc${n}`, 'plain room ID and state key', 'control: a request with nothing to canonicalise', 'control'),
    p('cl-state-member', 'cl-state', `${state}m.room.member/%40alice%3A${DOMAIN}`, '%21, %3A and %40 in the path', 'GET /rooms/{roomId}/state/m.room.member/{userId}'),
    p('cl-state-slash', 'cl-state', `${state}org.fedcheck.probe/a%2Fb`, '%2F in a state key', "state keys are free text and often contain '/' (URLs, paths)"),
    p('cl-state-dot', 'cl-state', `${state}org.fedcheck.probe/.`, 'a `.` state key', "a state key '.' is sent as a '.' segment (encodeURIComponent leaves it)"),
    p('cl-state-dotdot', 'cl-state', `${state}org.fedcheck.probe/..`, 'a `..` state key', "a state key '..' is sent as a '..' segment"),
    p('cl-state-encoded-dots', 'cl-state', `${state}org.fedcheck.probe/%2E%2E`, 'a %2E%2E state key', "a client that encodes dots sends '..' as %2E%2E"),
    p('cl-state-empty', 'cl-state', `${state}m.room.name/`, 'a trailing slash (empty state key)', 'the empty state key is sent as a trailing slash'),
    p('cl-state-slashes', 'cl-state', `/_matrix/client/v3/rooms/${room}/state//org.fedcheck.probe`, 'a doubled slash', 'an empty path parameter gives a doubled slash'),
    p('cl-alias-control', 'cl-alias', `/_matrix/client/v3/directory/room/fc${n}`, 'plain alias', 'control: a request with nothing to canonicalise', 'control'),
    p('cl-alias', 'cl-alias', `/_matrix/client/v3/directory/room/%23fc${n}%3A${DOMAIN}`, '%23 in a room alias', 'GET /directory/room/{roomAlias}: aliases start with #'),
    p('cl-alias-question', 'cl-alias', `/_matrix/client/v3/directory/room/%23fc%3F${n}%3A${DOMAIN}`, '%3F in a room alias', "alias localparts may contain '?'"),
    p('cl-profile-control', 'cl-profile', `/_matrix/client/v3/profile/fc${n}`, 'plain user ID', 'control: a request with nothing to canonicalise', 'control'),
    p('cl-profile-percent', 'cl-profile', `/_matrix/client/v3/profile/%40fc%25${n}%3A${DOMAIN}`, '%25 in a user ID', "historical user IDs may contain '%'"),
    p('cl-profile-nonascii', 'cl-profile', `/_matrix/client/v3/profile/%40fc%c3%a9${n}%3a${DOMAIN}`, 'lowercase-hex UTF-8 in a user ID', 'non-ASCII user IDs, percent-encoded UTF-8 in lowercase hex'),
    p('cl-messages-control', 'cl-messages', `/_matrix/client/v3/rooms/fc${n}/messages?dir=b`, 'plain /messages', 'control: a request with nothing to canonicalise', 'control'),
    p(
      'cl-messages',
      'cl-messages',
      `/_matrix/client/v3/rooms/${room}/messages?from=t47-4711_0_0&dir=b&limit=30&filter=%7B%22types%22%3A%5B%22m.room.message%22%5D%2C%22contains_url%22%3Atrue%7D`,
      'a JSON filter in the query; parameter order',
      'GET /rooms/{roomId}/messages?filter={…}: filters travel as percent-encoded JSON',
    ),
  ];
}

function edgeProbes(n: string, api: ProbeApi): TargetProbe[] {
  const base = api === 'federation' ? '/_matrix/federation/v1/event/' : '/_matrix/client/v3/profile/';
  const route = api === 'federation' ? 'fed-event' : 'cl-profile';
  const e = (id: string, target: string, feature: string, tolerated: string): TargetProbe => ({
    id,
    api,
    kind: 'edge',
    route,
    target,
    feature,
    why: 'not something a homeserver or client sends',
    tolerated,
    raw: true,
  });
  return [
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-nul`, `${base}%24fc${n}%00x`, '%00 (NUL)', 'nginx answers 400 and Apache 404 with their recommended configurations'),
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-bad-escape`, `${base}%24fc${n}%zz`, 'an invalid escape (%zz)', 'nginx, Apache and Caddy answer 400'),
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-lone-percent`, `${base}%24fc${n}%`, "a lone '%'", 'nginx, Apache and Caddy answer 400'),
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-raw-hash`, `${base}fc${n}#frag`, "a raw '#'", 'a fragment is never sent; Apache and HAProxy answer 400, Caddy encodes it'),
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-raw-utf8`, `${base}@fc${n}\u00e9l\u00e8ve:${DOMAIN}`, 'raw UTF-8 bytes in the path', 'not a valid request target; HAProxy answers 400, Caddy percent-encodes'),
    e(`${api === 'federation' ? 'fed' : 'cl'}-edge-long`, `${base}%24fc${n}${'A'.repeat(9000)}`, 'a 9 KB path', 'nginx and Apache allow about 8 KB per request line (414)'),
  ];
}

// ---------------------------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------------------------

export type DifferenceCode =
  | 'decoded-slash'
  | 'path-cut-question'
  | 'path-cut-hash'
  | 'decoded-percent'
  | 'decoded-query-delimiter'
  | 'decoded'
  | 'decoded-to-raw-bytes'
  | 'hex-uppercased'
  | 'hex-lowercased'
  | 'encoded'
  | 'dot-segments-removed'
  | 'dot-segments-created'
  | 'slashes-merged'
  | 'trailing-slash-removed'
  | 'trailing-slash-added'
  | 'query-reordered'
  | 'query-dropped'
  | 'query-changed'
  | 'query-added'
  | 'prefix-rewritten'
  | 'changed';

export interface TargetDifference {
  code: DifferenceCode;
  /** one line naming the change, e.g. "%2F decoded to /" */
  message: string;
}

/**
 * Differences that change what the request means to any homeserver (another resource, a cut or
 * altered ID), as opposed to ones that "only" break the byte-exact federation signature.
 */
export const STRUCTURAL: ReadonlySet<DifferenceCode> = new Set<DifferenceCode>([
  'decoded-slash',
  'path-cut-question',
  'path-cut-hash',
  'decoded-percent',
  'decoded-query-delimiter',
  'decoded-to-raw-bytes',
  'dot-segments-removed',
  'dot-segments-created',
  'slashes-merged',
  'trailing-slash-removed',
  'trailing-slash-added',
  'query-dropped',
  'query-changed',
  'query-added',
  'prefix-rewritten',
  'changed',
]);

/** What a difference breaks, one sentence. */
export function differenceImpact(code: DifferenceCode): string {
  switch (code) {
    case 'decoded-slash':
      return "an ID containing '/' (room v3 event IDs, state keys, historical user IDs) becomes two path segments: the request reaches the wrong endpoint or none (404 M_UNRECOGNIZED)";
    case 'path-cut-question':
      return "everything after the '?' becomes the query string: the ID is cut short";
    case 'path-cut-hash':
      return "everything after the '#' is treated as a fragment and dropped: the ID is cut short";
    case 'decoded-percent':
      return "the homeserver decodes once more: an ID containing '%' turns into a different ID";
    case 'decoded-query-delimiter':
      return 'a decoded & = or + inside a query value splits or alters the parameter';
    case 'decoded-to-raw-bytes':
      return 'raw non-ASCII bytes are not a valid request target; homeservers may refuse the request';
    case 'dot-segments-removed':
      return "'.' and '..' are legal state keys and transaction IDs: resolving them requests another resource";
    case 'dot-segments-created':
      return "an ID or state key '..' sent as %2E%2E arrives as a real '..' segment, which the homeserver's router may resolve";
    case 'slashes-merged':
      return 'an empty path parameter disappears: the request reaches another endpoint';
    case 'trailing-slash-removed':
    case 'trailing-slash-added':
      return 'the empty state key is sent as a trailing slash: the request now names another state event';
    case 'query-reordered':
      return 'the signature of a federation request covers the query string in its original order';
    case 'query-dropped':
    case 'query-changed':
    case 'query-added':
      return 'query parameters (versions, event IDs, filters) arrive altered';
    case 'prefix-rewritten':
      return 'the homeserver receives another path than the one requested';
    case 'hex-uppercased':
    case 'hex-lowercased':
    case 'encoded':
    case 'decoded':
      return 'the homeserver sees the same ID, but not the same bytes: the signature of a federation request no longer matches';
    case 'changed':
      return 'the homeserver receives another request target than the one sent';
  }
}

/** Impact for federation requests: any byte change breaks the X-Matrix signature. */
export const FEDERATION_SIGNATURE_IMPACT =
  'federation requests are signed over the exact request target: the homeserver verifies the signature against what it receives and rejects a changed one (401 M_UNAUTHORIZED), so joins, invites, backfill and event fetches involving such IDs fail';

function splitTarget(t: string): { path: string; query: string | null } {
  const i = t.indexOf('?');
  return i < 0 ? { path: t, query: null } : { path: t.slice(0, i), query: t.slice(i + 1) };
}

function countOf(hay: string, needle: string, caseInsensitive = false): number {
  if (!needle) return 0;
  const h = caseInsensitive ? hay.toUpperCase() : hay;
  const nd = caseInsensitive ? needle.toUpperCase() : needle;
  let c = 0;
  let i = h.indexOf(nd);
  while (i >= 0) {
    c++;
    i = h.indexOf(nd, i + nd.length);
  }
  return c;
}

const ESCAPE_RE = /%[0-9A-Fa-f]{2}/g;

/** Decode %XX escapes leniently (invalid ones stay); UTF-8 sequences become characters. */
export function lenientDecode(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      // invalid UTF-8: decode byte by byte as latin1 so lengths stay comparable
      return m.replace(/%([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  });
}

function dotSegmentCount(path: string): number {
  return path
    .replace(/%2e/gi, '.')
    .split('/')
    .filter((s) => s === '.' || s === '..').length;
}

function show(ch: string): string {
  return ch === ' ' ? "' '" : ch;
}

/** Characters that may appear raw in a path and that a proxy might percent-encode. */
const ENCODABLE = ['#', '$', ':', '@', '!', '+', '=', ',', ';', "'", '(', ')', '*', '~', '&', '[', ']', '|', '"', '{', '}', '^', '`', '\\', '<', '>'];

/**
 * Name every change between the target sent and the one received. Empty when identical.
 * Heuristic but deterministic: each detector compares counts of escapes, characters, dot
 * segments and slashes, and the query parameters; whatever none of them explains is reported
 * as a prefix rewrite or a plain "changed".
 */
export function diffTarget(sent: string, received: string): TargetDifference[] {
  if (sent === received) return [];
  const out: TargetDifference[] = [];
  const add = (code: DifferenceCode, message: string) => {
    if (!out.some((d) => d.message === message)) out.push({ code, message });
  };
  const s = splitTarget(sent);
  const r = splitTarget(received);
  let pathCut = false;

  // 1. escapes decoded, or their hex case changed
  const escapes = new Map<string, string[]>();
  for (const m of sent.match(ESCAPE_RE) ?? []) {
    const up = m.toUpperCase();
    const forms = escapes.get(up) ?? [];
    if (!forms.includes(m)) forms.push(m);
    escapes.set(up, forms);
  }
  const utf8Decoded = new Set<string>();
  let caseUp: string | null = null;
  let caseDown: string | null = null;
  for (const [up, forms] of escapes) {
    const sentN = countOf(sent, up, true);
    const recvN = countOf(received, up, true);
    const byte = parseInt(up.slice(1), 16);
    if (recvN < sentN) {
      if (byte >= 0x80) {
        utf8Decoded.add(up);
        continue;
      }
      const ch = String.fromCharCode(byte);
      // decoded only if the character itself appears more often, or the path was cut right there;
      // otherwise the escape vanished with a removed segment (named by the detectors below)
      const cut = (up === '%3F' || up === '%23') && cutAtEscape(s.path, r.path, up);
      if (countOf(received, ch) <= countOf(sent, ch) && !cut) continue;
      if (up === '%2F') add('decoded-slash', '%2F decoded to /');
      else if (up === '%3F') {
        pathCut = pathCut || s.path.toUpperCase().includes('%3F');
        add('path-cut-question', "path cut at %3F (decoded to '?')");
      } else if (up === '%23') {
        pathCut = pathCut || s.path.toUpperCase().includes('%23');
        add('path-cut-hash', "path cut at %23 (decoded to '#')");
      } else if (up === '%25') add('decoded-percent', '%25 decoded to %');
      else if ((up === '%26' || up === '%3D' || up === '%2B') && s.query !== null && countOf(r.query ?? '', up, true) < countOf(s.query, up, true)) {
        add('decoded-query-delimiter', `${up} decoded to ${ch} in the query string`);
      } else add('decoded', `${up} decoded to ${show(ch)}`);
      continue;
    }
    // same number of escapes: did the spelling change?
    for (const f of forms) {
      if (f === up) continue; // an upper-case form
      if (countOf(received, f) < countOf(sent, f)) caseUp ??= `${f} → ${up}`;
    }
    if (forms.includes(up) && /[A-F]/.test(up) && countOf(received, up) < countOf(sent, up)) caseDown ??= `${up} → ${up.toLowerCase()}`;
  }
  if (utf8Decoded.size > 0) {
    // percent-encoded UTF-8 decoded: to raw bytes (a broken target) or re-encoded differently
    const rawNonAscii = /[^\x00-\x7f]/.test(received) && !/[^\x00-\x7f]/.test(sent);
    if (rawNonAscii) add('decoded-to-raw-bytes', 'percent-encoded UTF-8 decoded to raw bytes');
    else add('decoded', `percent-encoded UTF-8 (${[...utf8Decoded].slice(0, 3).join('')}…) decoded`);
  }
  if (caseUp) add('hex-uppercased', `lowercase hex upper-cased (${caseUp})`);
  if (caseDown) add('hex-lowercased', `uppercase hex lower-cased (${caseDown})`);
  // a raw '#' (never sent by Matrix software; an edge probe) starts a fragment for most parsers
  const hashAt = s.path.indexOf('#');
  if (hashAt >= 0 && !received.includes('#') && !/%23/i.test(received.slice(hashAt)) && received === sent.slice(0, hashAt)) {
    pathCut = true;
    add('path-cut-hash', "path cut at a raw '#'");
  }

  // 2. raw characters percent-encoded
  for (const ch of ENCODABLE) {
    const esc = '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    if (countOf(received, ch) < countOf(sent, ch) && countOf(received, esc, true) > countOf(sent, esc, true)) {
      add('encoded', `${ch} percent-encoded to ${esc}`);
    }
  }
  if (/[^\x00-\x7f]/.test(sent) && !/[^\x00-\x7f]/.test(received) && /%[89A-Fa-f][0-9A-Fa-f]/.test(received)) {
    add('encoded', 'raw UTF-8 percent-encoded');
  }

  // 3. path shape
  const sentDots = dotSegmentCount(lenientDecode(s.path.replace(/%2f/gi, '\u0000')));
  const recvDots = dotSegmentCount(lenientDecode(r.path.replace(/%2f/gi, '\u0000')));
  if (recvDots < sentDots) add('dot-segments-removed', 'dot segments removed');
  const rawDots = (p: string) => p.split('/').filter((x) => x === '.' || x === '..').length;
  if (rawDots(r.path) > rawDots(s.path)) add('dot-segments-created', "%2E decoded to '.', creating a dot segment");
  const sentDouble = countOf(s.path, '//');
  const recvDouble = countOf(r.path, '//');
  if (recvDouble < sentDouble) add('slashes-merged', 'doubled slashes merged');
  if (!pathCut && recvDots >= sentDots) {
    if (s.path.endsWith('/') && !r.path.endsWith('/') && recvDouble >= sentDouble) add('trailing-slash-removed', 'trailing slash removed');
    if (!s.path.endsWith('/') && r.path.endsWith('/')) add('trailing-slash-added', 'trailing slash added');
  }

  // 4. query string
  if (!pathCut) {
    if (s.query !== null && r.query === null) add('query-dropped', 'query string dropped');
    else if (s.query === null && r.query !== null) add('query-added', 'query string added');
    else if (s.query !== null && r.query !== null && s.query !== r.query) {
      const sp = s.query.split('&');
      const rp = r.query.split('&');
      const same = sp.length === rp.length && [...sp].sort().join('&') === [...rp].sort().join('&');
      if (same) add('query-reordered', 'query re-ordered');
      else if (lenientDecode(s.query) !== lenientDecode(r.query) && !out.some((d) => d.code === 'decoded-query-delimiter')) {
        // decoding alone (already named) does not count as a change of the parameters
        const sd = sp.map(lenientDecode).sort().join('&');
        const rd = rp.map(lenientDecode).sort().join('&');
        if (sd === rd) add('query-reordered', 'query re-ordered');
        else add('query-changed', 'query string changed');
      }
    }
  }

  // 5. whatever is left: compare normalised forms to find a rewritten prefix
  const norm = (p: string) => normalisePath(lenientDecode(p.replace(/%2f/gi, '\u0000')).replace(/\u0000/g, '/'));
  if (!pathCut) {
    const ns = norm(s.path);
    const nr = norm(r.path);
    if (ns !== nr) {
      const a = ns.split('/');
      const b = nr.split('/');
      let k = 0;
      while (k < a.length && k < b.length && a[a.length - 1 - k] === b[b.length - 1 - k]) k++;
      const headS = a.slice(0, a.length - k).join('/') + '/';
      const headR = b.slice(0, b.length - k).join('/') + '/';
      const explained = out.some((d) => d.code === 'dot-segments-removed' || d.code === 'slashes-merged' || d.code === 'decoded-slash');
      if (k >= 1 && headS !== headR && !explained) add('prefix-rewritten', `prefix rewritten: ${headS} → ${headR}`);
      else if (!explained && out.length === 0) add('changed', 'request target changed');
    }
  }
  if (out.length === 0) add('changed', 'request target changed');
  return out;
}

/** Does `recvPath` end where `sentPath` had its first `esc` (raw or after decoding)? */
function cutAtEscape(sentPath: string, recvPath: string, esc: string): boolean {
  const pos = sentPath.toUpperCase().indexOf(esc);
  if (pos < 0) return false;
  const head = sentPath.slice(0, pos);
  return recvPath === head || lenientDecode(recvPath) === lenientDecode(head);
}

/** RFC 3986 remove_dot_segments plus merging of slashes (for comparison only). */
function normalisePath(p: string): string {
  const segs: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segs.pop();
    else segs.push(seg);
  }
  return '/' + segs.join('/');
}
