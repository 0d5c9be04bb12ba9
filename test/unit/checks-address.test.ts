/**
 * The per-address checks (tls, federation-version, server-keys, health) and the federation
 * verdict, on hand-built evidence: real certificates minted with the lab CA, real key responses
 * signed with signing.ts. A few tests also take real TLS handshakes on loopback to pin down what
 * Node puts in the evidence chain (missing intermediate vs untrusted CA).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCa, createIntermediate, issueCert, splitPem, type IssuedCert } from '../../src/lab/ca.js';
import { startHost, type LabHost } from '../../src/lab/http-host.js';
import { generateSigningKey, publicKeyForSeed, signJson, verifyJsonSignature, type SigningKey } from '../../src/core/signing.js';
import { parseServerName, type ParsedServerName } from '../../src/core/server-name.js';
import { Connection, type NetContext } from '../../src/net/http.js';
import { buildTrust } from '../../src/net/trust.js';
import type { Finding, HttpExchange, NetError, Resolution, ResolutionMethod, TlsEvidence } from '../../src/core/types.js';
import type { ServerEvidence } from '../../src/core/evidence.js';
import type { AddressEvidence } from '../../src/probes/address.js';
import { formatTarget } from '../../src/probes/address.js';
import tlsCheck from '../../src/checks/tls.js';
import versionCheck from '../../src/checks/federation-version.js';
import keysCheck, { judgeKeyResponse } from '../../src/checks/server-keys.js';
import healthCheck from '../../src/checks/health.js';
import federationCheck from '../../src/checks/federation.js';
import { checks } from '../../src/checks/index.js';
import { matchIdentity, parseChain, parseSubjectAltName } from '../../src/checks/cert-util.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.now();

// ---------------------------------------------------------------------------------------------
// certificates
// ---------------------------------------------------------------------------------------------

const root = createCa({ commonName: 'unit root CA' });
const inter = createIntermediate(root, { commonName: 'unit intermediate CA' });
const untrustedRoot = createCa({ commonName: 'unit untrusted root' });
const untrustedInter = createIntermediate(untrustedRoot, { commonName: 'unit untrusted intermediate' });

function der(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

/** The chain Node reports for a trusted leaf: leaf, the intermediates sent, the root from the store. */
function trustedChain(c: IssuedCert): string[] {
  return [...splitPem(c.fullChainPem).map(der), der(root.certPem)];
}

function tlsEv(chain: string[], over: Partial<TlsEvidence> = {}): TlsEvidence {
  return {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    alpn: 'http/1.1',
    servername: 'matrix.example.org',
    chainAuthorized: true,
    chainError: null,
    chain,
    sessionReused: false,
    ...over,
  };
}

// ---------------------------------------------------------------------------------------------
// evidence builders
// ---------------------------------------------------------------------------------------------

function exchange(path: string, status: number | null, body: unknown = '', headers: Record<string, string> = {}, error: NetError | null = null): HttpExchange {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const ct = typeof body === 'string' ? 'text/plain' : 'application/json';
  return {
    url: `https://matrix.example.org${path}`,
    method: 'GET',
    path,
    hostHeader: 'matrix.example.org',
    connectAddress: '127.0.0.3',
    connectPort: 443,
    tls: null,
    response: status === null ? null : { status, httpVersion: '1.1', headers: { 'content-type': ct, ...headers }, body: text, bodyBytes: Buffer.byteLength(text), truncated: false },
    error,
    ms: 3,
  };
}

const KEY = generateSigningKey('unit1');

function keyResponse(serverName = 'example.org', key: SigningKey = KEY, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return signJson({ server_name: serverName, verify_keys: { [key.keyId]: { key: key.publicKey } }, old_verify_keys: {}, valid_until_ts: NOW + DAY, ...extra }, serverName, key.keyId, key.seed);
}

function versionBody(name = 'Synapse', version = '1.120.0'): unknown {
  return { server: { name, version } };
}

interface AddrOpts {
  address?: string;
  port?: number;
  tls?: TlsEvidence | null;
  connectError?: NetError | null;
  version?: HttpExchange;
  keys?: HttpExchange;
  health?: HttpExchange;
  host?: string;
}

function addr(o: AddrOpts = {}): AddressEvidence {
  const address = o.address ?? '127.0.0.3';
  const port = o.port ?? 443;
  const tls = o.tls === undefined ? tlsEv(trustedChain(goodCert)) : o.tls;
  const failed = tls === null ? (o.connectError ?? null) : null;
  const dead = (p: string) => exchange(p, null, '', {}, failed);
  return {
    target: formatTarget(address, port),
    host: o.host ?? 'matrix.example.org',
    address,
    port,
    connectedTo: null,
    tls,
    connectError: failed,
    version: o.version ?? (tls ? exchange('/_matrix/federation/v1/version', 200, versionBody()) : dead('/_matrix/federation/v1/version')),
    keys: o.keys ?? (tls ? exchange('/_matrix/key/v2/server', 200, keyResponse()) : dead('/_matrix/key/v2/server')),
    health: o.health ?? (tls ? exchange('/health', 200, 'OK') : dead('/health')),
  };
}

function resolution(method: ResolutionMethod, over: Partial<Resolution> = {}): Resolution {
  return {
    method,
    delegatedServerName: 'matrix.example.org:443',
    hostHeader: 'matrix.example.org:443',
    tlsServerName: 'matrix.example.org',
    certificateName: 'matrix.example.org',
    targets: [{ host: 'matrix.example.org', port: 443, addresses: ['127.0.0.3'] }],
    ...over,
  };
}

function evidence(addresses: AddressEvidence[], res: Resolution | null = resolution('well-known-explicit-port'), serverName = 'example.org', over: Partial<ServerEvidence> = {}): ServerEvidence {
  const parsed = parseServerName(serverName) as ParsedServerName;
  assert.ok('serverName' in parsed);
  return {
    evidenceVersion: 1,
    input: serverName,
    collectedAt: NOW,
    durationMs: 10,
    options: { resolvers: [], resolve: [], connectTo: [], cacert: [], family: 0, timeoutMs: 20_000, backend: null },
    parsed,
    discovery: { parsed, wellKnown: null, srv: null, srvUnused: null, targets: [], resolution: res, resolutionError: res ? null : 'the well-known and SRV lookups failed' },
    addresses,
    backendHealth: null,
    deadlineHit: false,
    extra: {},
    ...over,
  };
}

const goodCert = issueCert(inter, { dnsNames: ['matrix.example.org'] });

function only(findings: Finding[], status?: Finding['status']): Finding {
  const fs = status ? findings.filter((f) => f.status === status) : findings;
  assert.equal(fs.length, 1, `expected exactly one ${status ?? ''} finding, got:\n${findings.map((f) => `${f.status} ${f.summary}`).join('\n')}`);
  return fs[0]!;
}

function statuses(findings: Finding[]): string[] {
  return findings.map((f) => f.status);
}

// ---------------------------------------------------------------------------------------------
// registry
// ---------------------------------------------------------------------------------------------

test('the registry lists the per-address checks after dns, federation last', () => {
  const ids = checks.map((c) => c.id);
  const i = ids.indexOf('dns');
  assert.deepEqual(ids.slice(i, i + 5), ['dns', 'tls', 'federation-version', 'server-keys', 'health']);
  assert.equal(ids[ids.length - 1], 'federation');
});

// ---------------------------------------------------------------------------------------------
// cert-util
// ---------------------------------------------------------------------------------------------

describe('cert-util', () => {
  test('parses SANs, IPv6 compressed, and Node-quoted values', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example.org, DNS:*.b.example.org, IP Address:127.0.0.5, IP Address:0:0:0:0:0:0:0:1'), {
      dns: ['a.example.org', '*.b.example.org'],
      ip: ['127.0.0.5', '::1'],
    });
    assert.deepEqual(parseSubjectAltName('DNS:"a,b.example.org", DNS:c.example.org'), { dns: ['a,b.example.org', 'c.example.org'], ip: [] });
    assert.deepEqual(parseSubjectAltName(undefined), { dns: [], ip: [] });
  });

  test('identity: SAN match, wildcard, CN-only does not count, IP SAN needed for IPs', () => {
    const wild = parseChain([der(issueCert(inter, { dnsNames: ['*.example.org'] }).certPem)]).certs[0]!;
    assert.deepEqual(matchIdentity(wild, 'matrix.example.org'), { ok: true, via: '*.example.org' });
    assert.equal(matchIdentity(wild, 'a.b.example.org').ok, false);
    assert.equal(matchIdentity(wild, 'example.org').ok, false);
    const cnOnly = parseChain([der(issueCert(inter, { commonName: 'matrix.example.org' }).certPem)]).certs[0]!;
    assert.deepEqual(matchIdentity(cnOnly, 'matrix.example.org'), { ok: false, cnOnly: true });
    const ip = parseChain([der(issueCert(inter, { dnsNames: ['127.0.0.5'], ipAddresses: ['::1'] }).certPem)]).certs[0]!;
    assert.equal(matchIdentity(ip, '127.0.0.5').ok, false, 'a DNS SAN spelling the IP is not an IP SAN');
    assert.equal(matchIdentity(ip, '::1').ok, true);
    assert.equal(matchIdentity(ip, '[::1]').ok, true);
  });

  test('self-signed leaf detected even without keyCertSign', () => {
    const self = parseChain([der(issueCert(null, { dnsNames: ['x.example.org'], selfSigned: true }).certPem)]).certs[0]!;
    assert.equal(self.selfSigned, true);
    const leaf = parseChain([der(goodCert.certPem)]).certs[0]!;
    assert.equal(leaf.selfSigned, false);
    assert.equal(leaf.issuerName, 'unit intermediate CA');
  });
});

// ---------------------------------------------------------------------------------------------
// tls
// ---------------------------------------------------------------------------------------------

describe('tls', () => {
  test('valid certificate: pass with days left and protocol', () => {
    const f = only(tlsCheck.run(evidence([addr()])));
    assert.equal(f.status, 'pass');
    assert.equal(f.target, '127.0.0.3:443');
    assert.match(f.summary, /valid certificate for matrix\.example\.org/);
    assert.match(f.summary, /(89|90) days left/);
    assert.match(f.summary, /TLSv1\.3/);
    assert.ok((f.details!.daysLeft as number) >= 89);
  });

  test('every address gets its own finding with its own target', () => {
    const fs = tlsCheck.run(evidence([addr(), addr({ address: '::1', tls: tlsEv([der(goodCert.certPem)], { chainAuthorized: false, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) })]));
    assert.deepEqual(fs.map((f) => [f.target, f.status]), [['127.0.0.3:443', 'pass'], ['[::1]:443', 'fail']]);
  });

  test('wrong name: fail naming what the certificate covers, hint explains the delegated name', () => {
    const c = issueCert(inter, { dnsNames: ['chat.example.com', 'www.example.com'] });
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(c)) })])));
    assert.equal(f.status, 'fail');
    assert.equal(f.summary, 'certificate is for chat.example.com, www.example.com, not matrix.example.org');
    assert.match(f.hint!, /delegates to matrix\.example\.org:443/);
    assert.match(f.hint!, /certbot certonly -d matrix\.example\.org/);
  });

  test('certificate for the SRV target: the hint says the server name is checked, not the SRV target', () => {
    const c = issueCert(inter, { dnsNames: ['hs1.example.net'] });
    const res = resolution('srv', { delegatedServerName: null, hostHeader: 'example.org', tlsServerName: 'example.org', certificateName: 'example.org', targets: [{ host: 'hs1.example.net', port: 8448, addresses: ['127.0.0.3'] }] });
    const f = only(tlsCheck.run(evidence([addr({ port: 8448, host: 'hs1.example.net', tls: tlsEv(trustedChain(c), { servername: 'example.org' }) })], res)));
    assert.equal(f.status, 'fail');
    assert.equal(f.target, '127.0.0.3:8448');
    assert.equal(f.summary, 'certificate is for the SRV target hs1.example.net, not for example.org');
    assert.match(f.hint!, /remote servers check the certificate for example\.org, not for the SRV target hs1\.example\.net/i);
    assert.match(f.hint!, /m\.server": "hs1\.example\.net:8448"/);
  });

  test('SRV target name is never accepted as the identity', () => {
    // a certificate for the target only, even when the target equals nothing else: still a failure
    const c = issueCert(inter, { dnsNames: ['hs1.example.net'] });
    const res = resolution('well-known-srv', { delegatedServerName: 'matrix.example.org', hostHeader: 'matrix.example.org', certificateName: 'matrix.example.org', targets: [{ host: 'hs1.example.net', port: 8448, addresses: ['127.0.0.3'] }] });
    const fs = tlsCheck.run(evidence([addr({ port: 8448, host: 'hs1.example.net', tls: tlsEv(trustedChain(c)) })], res));
    assert.deepEqual(statuses(fs), ['fail']);
    assert.match(fs[0]!.summary, /SRV target hs1\.example\.net, not for matrix\.example\.org/);
  });

  test('delegated, but the certificate covers only the original server name', () => {
    const c = issueCert(inter, { dnsNames: ['example.org'] });
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(c)) })])));
    assert.equal(f.summary, 'certificate is for example.org, not for the delegated name matrix.example.org');
  });

  test('name only in the CN: fail with the subjectAltName explanation', () => {
    const c = issueCert(inter, { commonName: 'matrix.example.org' });
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(c)) })])));
    assert.match(f.summary, /only in its subject common name/);
    assert.match(f.hint!, /subjectAltName/);
  });

  test('IP literal: IP SAN required (IPv4 and IPv6), no SNI', () => {
    const res4 = resolution('ip-literal', { delegatedServerName: null, hostHeader: '127.0.0.5', tlsServerName: null, certificateName: '127.0.0.5', targets: [{ host: '127.0.0.5', port: 8448, addresses: ['127.0.0.5'] }] });
    const dnsOnly = issueCert(inter, { dnsNames: ['example.org', '127.0.0.5'] });
    const bad = only(tlsCheck.run(evidence([addr({ address: '127.0.0.5', port: 8448, host: '127.0.0.5', tls: tlsEv(trustedChain(dnsOnly), { servername: null }) })], res4, '127.0.0.5')));
    assert.equal(bad.status, 'fail');
    assert.match(bad.summary, /no IP-address entry for 127\.0\.0\.5/);
    assert.match(bad.hint!, /iPAddress subjectAltName/);
    const withIp = issueCert(inter, { ipAddresses: ['127.0.0.5'] });
    assert.equal(only(tlsCheck.run(evidence([addr({ address: '127.0.0.5', port: 8448, host: '127.0.0.5', tls: tlsEv(trustedChain(withIp), { servername: null }) })], res4, '127.0.0.5'))).status, 'pass');
    const res6 = resolution('ip-literal', { delegatedServerName: null, hostHeader: '[::1]:8449', tlsServerName: null, certificateName: '::1', targets: [{ host: '::1', port: 8449, addresses: ['::1'] }] });
    const v6 = issueCert(inter, { ipAddresses: ['::1'] });
    const f6 = only(tlsCheck.run(evidence([addr({ address: '::1', port: 8449, host: '::1', tls: tlsEv(trustedChain(v6), { servername: null }) })], res6, '[::1]:8449')));
    assert.equal(f6.status, 'pass');
    assert.equal(f6.target, '[::1]:8449');
  });

  test('self-signed: named as such', () => {
    const c = issueCert(null, { dnsNames: ['matrix.example.org'], selfSigned: true });
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv([der(c.certPem)], { chainAuthorized: false, chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) })])));
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /^self-signed certificate/);
  });

  test('untrusted CA: chain sent up to an unknown root / an unknown intermediate', () => {
    const viaRoot = issueCert(untrustedRoot, { dnsNames: ['matrix.example.org'] });
    const f1 = only(tlsCheck.run(evidence([addr({ tls: tlsEv([der(viaRoot.certPem), der(untrustedRoot.certPem)], { chainAuthorized: false, chainError: 'SELF_SIGNED_CERT_IN_CHAIN' }) })])));
    assert.match(f1.summary, /not trusted: its chain ends at the root "unit untrusted root", which is not a trusted CA/);
    const viaInter = issueCert(untrustedInter, { dnsNames: ['matrix.example.org'] });
    const f2 = only(tlsCheck.run(evidence([addr({ tls: tlsEv(splitPem(viaInter.chainPem).map(der), { chainAuthorized: false, chainError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }) })])));
    assert.match(f2.summary, /not trusted: .*issued by "unit untrusted root", which is neither sent nor a trusted root CA/);
    assert.match(f2.hint!, /staging/);
  });

  test('missing intermediate: leaf alone, issuer neither sent nor trusted', () => {
    const c = issueCert(inter, { dnsNames: ['matrix.example.org'], omitIntermediates: true });
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv([der(c.certPem)], { chainAuthorized: false, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) })])));
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /issuer "unit intermediate CA" was not sent and is not a trusted root \(missing intermediate certificate\?\)/);
    assert.match(f.hint!, /fullchain\.pem/);
  });

  test('a date error hides trust errors: an expired leaf sent alone is reported as expired AND incomplete', () => {
    const c = issueCert(inter, { dnsNames: ['matrix.example.org'], omitIntermediates: true, notBefore: new Date(NOW - 100 * DAY), notAfter: new Date(NOW - 3 * DAY) });
    const fs = tlsCheck.run(evidence([addr({ tls: tlsEv([der(c.certPem)], { chainAuthorized: false, chainError: 'CERT_HAS_EXPIRED' }) })]));
    assert.deepEqual(statuses(fs), ['fail', 'fail']);
    assert.ok(fs.some((f) => /missing intermediate/.test(f.summary)));
    assert.ok(fs.some((f) => /^certificate expired on \d{4}-\d\d-\d\d \(3 days ago\)$/.test(f.summary)));
  });

  test('dates: expired, not yet valid, expiring soon (warn with days), intermediate expiring', () => {
    const run = (c: IssuedCert, chainError: string | null = null) => tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(c), { chainAuthorized: chainError === null, chainError }) })]));
    const expired = run(issueCert(inter, { dnsNames: ['matrix.example.org'], notBefore: new Date(NOW - 100 * DAY), notAfter: new Date(NOW - 10 * DAY) }), 'CERT_HAS_EXPIRED');
    assert.match(only(expired).summary, /^certificate expired on .* \(10 days ago\)/);
    assert.match(only(expired).hint!, /Renew/);
    const future = run(issueCert(inter, { dnsNames: ['matrix.example.org'], notBefore: new Date(NOW + 10 * DAY + HOUR), notAfter: new Date(NOW + 100 * DAY) }), 'CERT_NOT_YET_VALID');
    assert.match(only(future).summary, /^certificate is not valid yet: valid from .* \(in 10 days\)/);
    const soon = only(run(issueCert(inter, { dnsNames: ['matrix.example.org'], notAfter: new Date(NOW + 5 * DAY + HOUR) })));
    assert.equal(soon.status, 'warn');
    assert.match(soon.summary, /^certificate expires in 5 days/);
    const hours = only(run(issueCert(inter, { dnsNames: ['matrix.example.org'], notAfter: new Date(NOW + 5 * HOUR + 60_000) })));
    assert.match(hours.summary, /expires in 5 hours/);
    const later = only(run(issueCert(inter, { dnsNames: ['matrix.example.org'], notAfter: new Date(NOW + 14 * DAY + HOUR) })));
    assert.equal(later.status, 'pass');
    assert.match(later.summary, /14 days left/);
    const shortInter = createIntermediate(root, { commonName: 'short-lived intermediate', notAfter: new Date(NOW + 3 * DAY + HOUR) });
    const f = only(run(issueCert(shortInter, { dnsNames: ['matrix.example.org'] })));
    assert.equal(f.status, 'warn');
    assert.match(f.summary, /intermediate certificate "short-lived intermediate" expires in 3 days/);
  });

  test('protocol below TLS 1.2 warns', () => {
    const f = only(tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(goodCert), { protocol: 'TLSv1.1' }) })])));
    assert.equal(f.status, 'warn');
    assert.match(f.summary, /old TLS protocol TLSv1\.1/);
    assert.equal(only(tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(goodCert), { protocol: 'TLSv1.2' }) })]))).status, 'pass');
  });

  test('a resumed session fails loudly', () => {
    const fs = tlsCheck.run(evidence([addr({ tls: tlsEv(trustedChain(goodCert), { sessionReused: true }) })]));
    const f = only(fs, 'fail');
    assert.match(f.summary, /RESUMED/);
    assert.match(f.hint!, /fedcheck bug/);
  });

  const connectCases: Array<[string, NetError, RegExp, RegExp]> = [
    ['refused', { phase: 'connect', code: 'ECONNREFUSED', message: 'connection refused (nothing listening on that port)' }, /^connection refused: nothing is listening on 127\.0\.0\.3:443$/, /port 443/],
    ['TCP timeout', { phase: 'timeout', code: 'ETIMEDOUT', message: 'connection attempt timed out (no answer to the TCP handshake)' }, /^no answer from 127\.0\.0\.3:443/, /firewall/],
    ['TLS stall', { phase: 'timeout', code: 'TLS_HANDSHAKE_TIMEOUT', message: 'TLS handshake timed out' }, /never completed the TLS handshake/, /PROXY protocol/],
    ['plain HTTP', { phase: 'tls', code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'the server did not answer with TLS' }, /^the server answered plain HTTP: TLS is not enabled on this port$/, /HTTPS only/],
    ['reset', { phase: 'tls', code: 'ECONNRESET', message: 'connection closed by the server (ECONNRESET) during the tls phase' }, /^connection reset by 127\.0\.0\.3:443 during the TLS handshake$/, /SNI/],
  ];
  for (const [name, err, summary, hint] of connectCases) {
    test(`connection failure (${name}): tls fails once, the other checks skip "no connection"`, () => {
      const ev = evidence([addr({ tls: null, connectError: err })]);
      const f = only(tlsCheck.run(ev));
      assert.equal(f.status, 'fail');
      assert.equal(f.target, '127.0.0.3:443');
      assert.match(f.summary, summary);
      assert.match(f.hint!, hint);
      for (const c of [versionCheck, keysCheck, healthCheck]) {
        const s = only(c.run(ev));
        assert.equal(s.status, 'skip');
        assert.equal(s.target, '127.0.0.3:443');
        assert.equal(s.summary, `not run: no connection: ${err.message}`);
      }
    });
  }

  test('refused on IPv6: the hint is about listening on IPv6', () => {
    const f = only(tlsCheck.run(evidence([addr({ address: '::1', tls: null, connectError: { phase: 'connect', code: 'ECONNREFUSED', message: 'refused' } })])));
    assert.equal(f.target, '[::1]:443');
    assert.match(f.hint!, /listen \[::\]:443/);
  });

  test('no resolution / no addresses: skip naming the cause', () => {
    assert.match(only(tlsCheck.run(evidence([], null))).summary, /^not run: resolution did not complete: the well-known and SRV lookups failed/);
    assert.match(only(tlsCheck.run(evidence([]))).summary, /^not run: no address to connect to/);
  });
});

// ---------------------------------------------------------------------------------------------
// real handshakes: what Node puts in the evidence chain
// ---------------------------------------------------------------------------------------------

describe('tls on real handshakes (loopback, lab CA)', () => {
  const hosts: LabHost[] = [];
  after(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });
  async function handshake(cert: { certPem: string; keyPem: string; chainPem: string }): Promise<TlsEvidence> {
    const h = await startHost({ address: '127.0.0.1', tls: cert, handler: (_q, s) => s.end('ok') });
    hosts.push(h);
    const ctx = { trust: buildTrust([], [root.certPem]), deadline: Date.now() + 5000, stepTimeoutMs: 3000, userAgent: 't', family: 0, connectMap: null, dns: null } as unknown as NetContext;
    const conn = new Connection(ctx, { scheme: 'https', address: '127.0.0.1', port: h.port, servername: 'matrix.example.org' });
    try {
      const ex = await conn.request({ path: '/', hostHeader: 'matrix.example.org' });
      assert.equal(ex.response?.status, 200);
      return conn.tls!;
    } finally {
      await conn.close();
    }
  }
  const judge = (t: TlsEvidence) => tlsCheck.run(evidence([addr({ tls: t })]));

  test('full chain: Node completes it with the root from the store; pass', async () => {
    const t = await handshake(goodCert);
    assert.equal(t.chain.length, 3, 'leaf, intermediate (sent), root (from the trust store)');
    assert.equal(t.sessionReused, false);
    assert.equal(only(judge(t)).status, 'pass');
  });

  test('intermediate omitted: the chain is the leaf alone; reported as a missing intermediate', async () => {
    const t = await handshake(issueCert(inter, { dnsNames: ['matrix.example.org'], omitIntermediates: true }));
    assert.equal(t.chain.length, 1);
    assert.equal(t.chainError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(only(judge(t)).summary, /missing intermediate/);
  });

  test('untrusted CA with its intermediate sent: reported as not trusted', async () => {
    const t = await handshake(issueCert(untrustedInter, { dnsNames: ['matrix.example.org'] }));
    assert.equal(t.chain.length, 2);
    assert.equal(t.chainError, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
    assert.match(only(judge(t)).summary, /is not trusted/);
  });

  test('expired leaf sent alone: OpenSSL reports only the date, the check still sees the missing issuer', async () => {
    const t = await handshake(issueCert(inter, { dnsNames: ['matrix.example.org'], omitIntermediates: true, notBefore: new Date(NOW - 100 * DAY), notAfter: new Date(NOW - 10 * DAY) }));
    assert.equal(t.chainError, 'CERT_HAS_EXPIRED');
    const fs = judge(t);
    assert.ok(fs.some((f) => /expired on/.test(f.summary)));
    assert.ok(fs.some((f) => /missing intermediate/.test(f.summary)));
  });
});

// ---------------------------------------------------------------------------------------------
// federation-version
// ---------------------------------------------------------------------------------------------

describe('federation-version', () => {
  const run = (version: HttpExchange) => only(versionCheck.run(evidence([addr({ version })])));

  test('200 with server name and version: pass, software kept in details', () => {
    const f = run(exchange('/_matrix/federation/v1/version', 200, versionBody('Synapse', '1.120.0')));
    assert.equal(f.status, 'pass');
    assert.equal(f.summary, 'homeserver answers: Synapse 1.120.0');
    assert.equal(f.details!.software, 'Synapse');
    assert.equal(f.details!.version, '1.120.0');
    assert.equal(run(exchange('/_matrix/federation/v1/version', 200, versionBody('fedcheck-backend', '0.1.0'))).details!.software, 'fedcheck-backend');
  });

  test('remote text is sanitised', () => {
    const f = run(exchange('/_matrix/federation/v1/version', 200, versionBody('Evil\u001b[31m\u202eServer', '1\n2')));
    assert.equal(f.summary, 'homeserver answers: Evil\\u202eServer 1\\n2');
    assert.equal(f.details!.software, 'Evil\\u202eServer');
    assert.equal(f.details!.version, '1\\n2');
  });

  test('server object without fields still passes; without server object fails', () => {
    assert.match(run(exchange('/_matrix/federation/v1/version', 200, { server: {} })).summary, /not disclosed/);
    assert.equal(run(exchange('/_matrix/federation/v1/version', 200, { hello: 1 })).status, 'fail');
  });

  test('HTML, non-JSON, 404 from the proxy, 404 M_UNRECOGNIZED, 502, no answer: fail with what came back', () => {
    const html = run(exchange('/_matrix/federation/v1/version', 200, '<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head></html>', { 'content-type': 'text/html' }));
    assert.equal(html.status, 'fail');
    assert.match(html.summary, /HTML page titled "Welcome to nginx!"/);
    const text = run(exchange('/_matrix/federation/v1/version', 200, 'hello'));
    assert.match(text.summary, /not valid JSON/);
    const proxy404 = run(exchange('/_matrix/federation/v1/version', 404, '<html><title>404 Not Found</title></html>', { 'content-type': 'text/html' }));
    assert.match(proxy404.summary, /answered 404, text\/html, an HTML page titled "404 Not Found"/);
    assert.match(proxy404.hint!, /forward every path under \/_matrix\//);
    const hs404 = run(exchange('/_matrix/federation/v1/version', 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }));
    assert.match(hs404.hint!, /enable federation/);
    assert.match(run(exchange('/_matrix/federation/v1/version', 502, 'Bad Gateway')).hint!, /could not reach the homeserver/);
    const none = run(exchange('/_matrix/federation/v1/version', null, '', {}, { phase: 'timeout', code: 'UND_ERR_HEADERS_TIMEOUT', message: 'no HTTP response headers before the timeout' }));
    assert.equal(none.status, 'fail');
    assert.match(none.summary, /no answer to GET \/_matrix\/federation\/v1\/version: no HTTP response headers/);
  });
});

// ---------------------------------------------------------------------------------------------
// server-keys
// ---------------------------------------------------------------------------------------------

describe('server-keys', () => {
  const T = '127.0.0.3:443';
  const judge = (doc: Record<string, unknown>, expected = 'example.org', delegated: string | null = 'matrix.example.org:443') => judgeKeyResponse(doc, expected, NOW, T, delegated).findings;

  test('spec test vectors: the appendix key verifies what it signed', () => {
    const seed = 'YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1';
    const pub = publicKeyForSeed(seed);
    assert.ok(verifyJsonSignature({ signatures: { domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' } } }, 'domain', 'ed25519:1', pub).ok);
    assert.ok(verifyJsonSignature({ one: 1, two: 'Two', signatures: { domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' } } }, 'domain', 'ed25519:1', pub).ok);
    // and a key response signed with that key passes the check
    const doc = signJson({ server_name: 'domain', verify_keys: { 'ed25519:1': { key: pub } }, valid_until_ts: NOW + DAY }, 'domain', 'ed25519:1', seed);
    const f = only(judge(doc, 'domain', null));
    assert.equal(f.status, 'pass');
    assert.match(f.summary, /keys of domain: ed25519:1; self-signature verified, valid for 24 hours/);
  });

  test('a response re-encoded in a different key order still verifies (canonical JSON)', () => {
    const doc = keyResponse();
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(doc).reverse()))) as Record<string, unknown>;
    assert.equal(only(judge(reordered)).status, 'pass');
  });

  test('server_name must be the original server name', () => {
    const f = only(judge(keyResponse('matrix.example.org')));
    assert.equal(f.status, 'fail');
    assert.equal(f.summary, 'server_name is "matrix.example.org", not example.org');
    assert.match(f.hint!, /the name it is delegated to/);
    const other = only(judge(keyResponse('other.example.net')));
    assert.match(other.hint!, /different homeserver/);
  });

  test('valid_until_ts: expired fails, under an hour warns, beyond 7 days notes the cap', () => {
    assert.match(only(judge(keyResponse('example.org', KEY, { valid_until_ts: NOW - 2 * HOUR }))).summary, /^valid_until_ts expired 2 hours ago/);
    const soon = judge(keyResponse('example.org', KEY, { valid_until_ts: NOW + 30 * 60_000 }));
    assert.match(only(soon, 'warn').summary, /only 30 minutes away/);
    const long = judge(keyResponse('example.org', KEY, { valid_until_ts: NOW + 30 * DAY }));
    assert.deepEqual(statuses(long).sort(), ['info', 'pass']);
    assert.match(only(long, 'info').summary, /min\(valid_until_ts, now \+ 7 days\)/);
    assert.match(only(judge(keyResponse('example.org', KEY, { valid_until_ts: 'tomorrow' }))).summary, /not an integer/);
  });

  test('malformed verify keys fail', () => {
    const k = KEY;
    const badId = signJson({ server_name: 'example.org', verify_keys: { [k.keyId]: { key: k.publicKey }, 'ed25519:bad-id': { key: k.publicKey } }, valid_until_ts: NOW + DAY }, 'example.org', k.keyId, k.seed);
    assert.match(only(judge(badId), 'fail').summary, /key id "ed25519:bad-id" is malformed/);
    const short = signJson({ server_name: 'example.org', verify_keys: { [k.keyId]: { key: k.publicKey }, 'ed25519:short': { key: Buffer.alloc(31).toString('base64').replace(/=+$/, '') } }, valid_until_ts: NOW + DAY }, 'example.org', k.keyId, k.seed);
    assert.match(only(judge(short), 'fail').summary, /ed25519:short is 31 bytes/);
    const none = signJson({ server_name: 'example.org', verify_keys: {}, valid_until_ts: NOW + DAY }, 'example.org', k.keyId, k.seed);
    assert.ok(judge(none).some((f) => f.status === 'fail' && /no ed25519 key/.test(f.summary)));
  });

  test('signed by a key not in verify_keys: "not signed by any of its own keys"', () => {
    const other = generateSigningKey('other');
    const doc = signJson({ server_name: 'example.org', verify_keys: { [KEY.keyId]: { key: KEY.publicKey } }, valid_until_ts: NOW + DAY }, 'example.org', other.keyId, other.seed);
    const f = only(judge(doc));
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /^not signed by any of its own keys: signed by "ed25519:other", but verify_keys lists "ed25519:unit1"/);
  });

  test('Synapse order: unknown key ids are skipped, the first listed one must verify', () => {
    const other = generateSigningKey('zz_unknown');
    // unknown signer first, then the real key: accepted
    let doc = keyResponse();
    doc = { ...doc, signatures: { 'example.org': { [other.keyId]: 'AAAA', ...((doc.signatures as Record<string, Record<string, string>>)['example.org']) } } };
    assert.equal(only(judge(doc)).status, 'pass');
    // two listed keys; the first signature is bad, the second good: rejected (Synapse checks only the first)
    const k2 = generateSigningKey('unit2');
    const base = { server_name: 'example.org', verify_keys: { [KEY.keyId]: { key: KEY.publicKey }, [k2.keyId]: { key: k2.publicKey } }, valid_until_ts: NOW + DAY };
    const good2 = signJson(base, 'example.org', k2.keyId, k2.seed);
    const sig2 = (good2.signatures as Record<string, Record<string, string>>)['example.org']![k2.keyId]!;
    const wrong = signJson({ ...base, valid_until_ts: 1 }, 'example.org', KEY.keyId, KEY.seed);
    const sig1bad = (wrong.signatures as Record<string, Record<string, string>>)['example.org']![KEY.keyId]!;
    const mixed = { ...base, signatures: { 'example.org': { [KEY.keyId]: sig1bad, [k2.keyId]: sig2 } } };
    assert.match(only(judge(mixed), 'fail').summary, /self-signature by "ed25519:unit1" does not verify/);
  });

  test('gomatrixserverlib rule: every ed25519 key must be self-signed (warn)', () => {
    const k2 = generateSigningKey('unit2');
    const doc = signJson({ server_name: 'example.org', verify_keys: { [KEY.keyId]: { key: KEY.publicKey }, [k2.keyId]: { key: k2.publicKey } }, valid_until_ts: NOW + DAY }, 'example.org', KEY.keyId, KEY.seed);
    const f = only(judge(doc));
    assert.equal(f.status, 'warn');
    assert.match(f.summary, /ed25519:unit2 is not self-signed: Synapse accepts this, but gomatrixserverlib/);
    const both = signJson(doc, 'example.org', k2.keyId, k2.seed);
    assert.equal(only(judge(both)).status, 'pass');
  });

  test('tampered after signing, unsigned, signed under another name', () => {
    const tampered = { ...keyResponse(), valid_until_ts: NOW + 2 * DAY };
    assert.match(only(judge(tampered)).summary, /does not verify \(signature does not verify\)/);
    const { signatures: _s, ...unsigned } = keyResponse();
    assert.match(only(judge(unsigned)).summary, /not signed \(no "signatures" object\)/);
    const elsewhere = { ...keyResponse(), signatures: { 'evil.example': { [KEY.keyId]: 'AAAA' } } };
    assert.match(only(judge(elsewhere)).summary, /not signed by "example.org" \(only by "evil.example"\)/);
  });

  test('old_verify_keys are listed as info', () => {
    const old = generateSigningKey('old1');
    const doc = keyResponse('example.org', KEY, { old_verify_keys: { [old.keyId]: { key: old.publicKey, expired_ts: Date.UTC(2025, 0, 1) } } });
    const fs = judge(doc);
    assert.deepEqual(statuses(fs), ['pass', 'info']);
    assert.match(fs[1]!.summary, /old_verify_keys: ed25519:old1 \(expired 2025-01-01T00:00:00Z\)/);
  });

  test('transport: non-200, HTML, truncated, no answer', () => {
    const run = (keys: HttpExchange) => only(keysCheck.run(evidence([addr({ keys })])));
    assert.match(run(exchange('/_matrix/key/v2/server', 404, 'Not Found')).summary, /answered 404, text\/plain, body "Not Found"/);
    assert.match(run(exchange('/_matrix/key/v2/server', 200, '<html><title>Login</title></html>', { 'content-type': 'text/html' })).summary, /HTML page titled "Login"/);
    const trunc = exchange('/_matrix/key/v2/server', 200, '{"server_name":');
    trunc.response!.truncated = true;
    assert.match(run(trunc).summary, /cut off/);
    assert.match(run(exchange('/_matrix/key/v2/server', null, '', {}, { phase: 'timeout', code: 'ETIMEDOUT', message: 'no complete answer' })).summary, /^no answer to GET \/_matrix\/key\/v2\/server/);
  });

  test('Content-Type must be application/json (Synapse rejects anything else)', () => {
    const run = (keys: HttpExchange) => keysCheck.run(evidence([addr({ keys })]));
    const wrong = run(exchange('/_matrix/key/v2/server', 200, keyResponse(), { 'content-type': 'text/plain; charset=utf-8' }));
    assert.deepEqual(statuses(wrong), ['fail']);
    assert.match(wrong[0]!.summary, /Content-Type "text\/plain; charset=utf-8", not application\/json: Synapse rejects it/);
    const missing = exchange('/_matrix/key/v2/server', 200, keyResponse());
    delete missing.response!.headers['content-type'];
    assert.match(only(run(missing)).summary, /no Content-Type header/);
    const withParams = run(exchange('/_matrix/key/v2/server', 200, keyResponse(), { 'content-type': 'application/json; charset=utf-8' }));
    assert.deepEqual(statuses(withParams), ['pass']);
    const v = only(versionCheck.run(evidence([addr({ version: exchange('/_matrix/federation/v1/version', 200, versionBody(), { 'content-type': 'text/html' }) })])));
    assert.equal(v.status, 'warn');
    assert.match(v.summary, /Synapse 1\.120\.0, but with Content-Type "text\/html"/);
  });

  test('across addresses: different key sets warn, identical ones do not', () => {
    const other = generateSigningKey('unit9');
    const same = keysCheck.run(evidence([addr(), addr({ address: '127.0.0.4' })]));
    assert.deepEqual(statuses(same), ['pass', 'pass']);
    const diff = keysCheck.run(evidence([addr(), addr({ address: '127.0.0.4', keys: exchange('/_matrix/key/v2/server', 200, keyResponse('example.org', other)) })]));
    const w = only(diff, 'warn');
    assert.equal(w.target, undefined);
    assert.match(w.summary, /different signing keys: 127\.0\.0\.3:443 → ed25519:unit1; 127\.0\.0\.4:443 → ed25519:unit9/);
  });
});

// ---------------------------------------------------------------------------------------------
// health
// ---------------------------------------------------------------------------------------------

describe('health', () => {
  const backend = (status: number | null, err: NetError | null = null): HttpExchange => ({ ...exchange('/health', status, status === 200 ? 'OK' : 'nope', {}, err), url: 'http://127.0.0.1:8008/health' });

  test('public 200 pass; 404 info (not forwarded); 502 warn', () => {
    assert.equal(only(healthCheck.run(evidence([addr()]))).status, 'pass');
    const nf = only(healthCheck.run(evidence([addr({ health: exchange('/health', 404, 'Not Found') })])));
    assert.equal(nf.status, 'info');
    assert.match(nf.summary, /the proxy does not forward \/health \(404\) — many forward only \/_matrix; that is fine/);
    assert.equal(only(healthCheck.run(evidence([addr({ health: exchange('/health', 502, 'Bad Gateway') })]))).status, 'warn');
  });

  test('--backend: the homeserver\'s own listener, contrasted with the public endpoint', () => {
    const ok = healthCheck.run(evidence([addr({ health: exchange('/health', 404, 'Not Found') })], undefined, 'example.org', { backendHealth: backend(200) }));
    assert.deepEqual(statuses(ok), ['info', 'pass', 'info']);
    assert.match(ok[1]!.summary, /homeserver's own listener answers http:\/\/127\.0\.0\.1:8008\/health: 200/);
    assert.match(ok[2]!.summary, /homeserver itself is healthy .* just does not forward \/health/);
    const down = healthCheck.run(evidence([addr()], undefined, 'example.org', { backendHealth: backend(null, { phase: 'connect', code: 'ECONNREFUSED', message: 'connection refused (nothing listening on that port)' }) }));
    assert.deepEqual(statuses(down), ['pass', 'fail', 'warn']);
    assert.match(down[1]!.summary, /does not answer http:\/\/127\.0\.0\.1:8008\/health: connection refused/);
    assert.match(down[2]!.summary, /public endpoint answers \/health but http:\/\/127\.0\.0\.1:8008\/health does not/);
    const broken = healthCheck.run(evidence([addr({ health: exchange('/health', 502, 'Bad Gateway') })], undefined, 'example.org', { backendHealth: backend(200) }));
    assert.match(broken[2]!.summary, /problem is between the proxy and the homeserver/);
  });
});

// ---------------------------------------------------------------------------------------------
// federation verdict
// ---------------------------------------------------------------------------------------------

describe('federation verdict', () => {
  test('every address passes: federation OK', () => {
    const f = only(federationCheck.run(evidence([addr(), addr({ address: '::1' })])));
    assert.equal(f.status, 'pass');
    assert.match(f.summary, /^federation OK: all 2 addresses \(127\.0\.0\.3:443, \[::1\]:443\) pass/);
  });

  test('warnings do not fail the verdict', () => {
    const soon = issueCert(inter, { dnsNames: ['matrix.example.org'], notAfter: new Date(NOW + 3 * DAY) });
    const f = only(federationCheck.run(evidence([addr({ tls: tlsEv(trustedChain(soon)) })])));
    assert.equal(f.status, 'pass');
    assert.match(f.summary, /with warnings/);
  });

  test('some pass, some fail: fail naming the failing addresses and intermittent failures', () => {
    const wrong = issueCert(inter, { dnsNames: ['other.example.org'] });
    const ev = evidence([
      addr(),
      addr({ address: '::1', tls: null, connectError: { phase: 'connect', code: 'ECONNREFUSED', message: 'refused' } }),
      addr({ address: '127.0.0.4', tls: tlsEv(trustedChain(wrong)) }),
      addr({ address: '127.0.0.5', keys: exchange('/_matrix/key/v2/server', 200, keyResponse('matrix.example.org')) }),
    ]);
    const f = only(federationCheck.run(ev));
    assert.equal(f.status, 'fail');
    assert.match(f.summary, /^federation fails intermittently: 3 of 4 addresses fail — \[::1\]:443 \(tls\), 127\.0\.0\.4:443 \(tls\), 127\.0\.0\.5:443 \(server-keys\); 127\.0\.0\.3:443 works$/);
    assert.match(f.hint!, /pick any resolved address/);
  });

  test('all fail; resolution failed; nothing probed', () => {
    const dead = addr({ tls: null, connectError: { phase: 'connect', code: 'ECONNREFUSED', message: 'refused' } });
    assert.match(only(federationCheck.run(evidence([dead]))).summary, /^federation fails: the only address 127\.0\.0\.3:443 \(tls\) fails/);
    const noRes = only(federationCheck.run(evidence([], null)));
    assert.equal(noRes.status, 'fail');
    assert.match(noRes.summary, /could not be resolved — the well-known and SRV lookups failed/);
    const none = only(federationCheck.run(evidence([])));
    assert.equal(none.status, 'fail');
    assert.match(none.summary, /no address could be probed/);
  });

  test('checks never call Date.now(): the same evidence judged later gives the same findings', async () => {
    const soon = issueCert(inter, { dnsNames: ['matrix.example.org'], notAfter: new Date(NOW + 3 * DAY) });
    const ev = evidence([addr({ tls: tlsEv(trustedChain(soon)) })]);
    const a = JSON.stringify([tlsCheck, versionCheck, keysCheck, healthCheck, federationCheck].map((c) => c.run(ev)));
    const realNow = Date.now;
    Date.now = () => realNow() + 365 * DAY;
    try {
      const b = JSON.stringify([tlsCheck, versionCheck, keysCheck, healthCheck, federationCheck].map((c) => c.run(ev)));
      assert.equal(b, a);
    } finally {
      Date.now = realNow;
    }
  });
});
