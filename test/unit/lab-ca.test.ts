/**
 * The lab CA: certificates checked with Node's own X509Certificate (not with forge). No network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cryptoMod from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { createCa, createChain, createIntermediate, ipToBytes, issueCert, splitPem } from '../../src/lab/ca.js';

const x509 = (pem: string) => new X509Certificate(pem);

test('root CA is a self-signed CA certificate', () => {
  const ca = createCa({ commonName: 'Lab Root A' });
  const c = x509(ca.certPem);
  assert.equal(c.ca, true);
  assert.match(c.subject, /CN=Lab Root A/);
  assert.equal(c.subject, c.issuer);
  assert.equal(c.verify(c.publicKey), true);
  assert.match(ca.keyPem, /BEGIN RSA PRIVATE KEY/);
  assert.equal(ca.chainPem, '');
  assert.equal(ca.depth, 0);
  assert.equal(c.checkPrivateKey(cryptoMod.createPrivateKey(ca.keyPem)), true);
});

test('leaf with DNS and IP SANs (v4 and v6), issued by the root', () => {
  const ca = createCa({ commonName: 'Lab Root B' });
  const leaf = issueCert(ca, {
    dnsNames: ['example.test', '*.wild.test'],
    ipAddresses: ['127.0.0.5', '::1', '2001:db8::1:0:0:1', '::ffff:192.0.2.1'],
  });
  const c = x509(leaf.certPem);
  assert.equal(c.ca, false);
  assert.equal(c.checkHost('example.test'), 'example.test');
  assert.equal(c.checkHost('a.wild.test'), '*.wild.test'); // returns the SAN that matched
  assert.equal(c.checkHost('other.test'), undefined);
  assert.equal(c.checkHost('a.b.wild.test'), undefined);
  assert.equal(c.checkIP('127.0.0.5'), '127.0.0.5');
  assert.equal(c.checkIP('::1'), '::1');
  assert.equal(c.checkIP('2001:db8::1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(c.checkIP('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
  assert.equal(c.checkIP('127.0.0.6'), undefined);
  assert.equal(c.checkIP('::2'), undefined);
  assert.match(c.subjectAltName ?? '', /DNS:example\.test/);
  assert.match(c.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:0:1|IP Address:::1/i);
  assert.match(c.subject, /CN=example\.test/);
  assert.equal(c.issuer, x509(ca.certPem).subject);
  assert.equal(c.verify(x509(ca.certPem).publicKey), true);
  assert.equal(c.checkIssued(x509(ca.certPem)), true);
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  // serial: random, positive (top bit clear)
  assert.match(c.serialNumber, /^[0-7][0-9A-F]{31}$/i);
  assert.notEqual(c.serialNumber, x509(issueCert(ca, { dnsNames: ['example.test'] }).certPem).serialNumber);
  // the served chain from a root-issued leaf is just the leaf
  assert.equal(splitPem(leaf.chainPem).length, 1);
  const key = cryptoMod.createPrivateKey(leaf.keyPem);
  assert.equal(c.checkPrivateKey(key), true);
});

test('ipToBytes expands IPv6 forms correctly', () => {
  const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
  assert.equal(hex(ipToBytes('10.1.2.3')), '0a010203');
  assert.equal(hex(ipToBytes('::1')), '00000000000000000000000000000001');
  assert.equal(hex(ipToBytes('::')), '00000000000000000000000000000000');
  assert.equal(hex(ipToBytes('fe80::')), 'fe800000000000000000000000000000');
  assert.equal(hex(ipToBytes('2001:db8:0:0:1:0:0:1')), '20010db8000000000001000000000001');
  assert.equal(hex(ipToBytes('::ffff:1.2.3.4')), '00000000000000000000ffff01020304');
  assert.throws(() => ipToBytes('example.org'));
});

test('expired, not-yet-valid and self-signed leaves', () => {
  const ca = createCa({ commonName: 'Lab Root C' });
  const now = Date.now();
  const expired = x509(
    issueCert(ca, { dnsNames: ['old.test'], notBefore: new Date(now - 10 * 86400_000), notAfter: new Date(now - 86400_000) }).certPem,
  );
  assert.ok(Date.parse(expired.validTo) < now);
  const future = x509(issueCert(ca, { dnsNames: ['new.test'], notBefore: new Date(now + 86400_000) }).certPem);
  assert.ok(Date.parse(future.validFrom) > now);
  assert.ok(Date.parse(future.validTo) > Date.parse(future.validFrom));

  const self = issueCert(null, { dnsNames: ['self.test'], selfSigned: true });
  const s = x509(self.certPem);
  assert.equal(s.subject, s.issuer);
  assert.equal(s.verify(s.publicKey), true);
  assert.equal(s.verify(x509(ca.certPem).publicKey), false);
  assert.equal(s.checkHost('self.test'), 'self.test');
  assert.equal(splitPem(self.chainPem).length, 1);
  assert.throws(() => issueCert(null, { dnsNames: ['x.test'] }), /issuer is required/);
});

test('intermediates: served chain, missing intermediate, long chain', () => {
  const root = createCa({ commonName: 'Lab Root D' });
  const inter = createIntermediate(root, { commonName: 'Lab Intermediate D1' });
  const ic = x509(inter.certPem);
  assert.equal(ic.ca, true);
  assert.equal(ic.verify(x509(root.certPem).publicKey), true);
  assert.equal(inter.depth, 1);
  assert.equal(inter.root.certPem, root.certPem);

  const leaf = issueCert(inter, { dnsNames: ['chain.test'] });
  const parts = splitPem(leaf.chainPem);
  assert.equal(parts.length, 2);
  assert.equal(parts[0], leaf.certPem);
  assert.equal(parts[1], inter.certPem);
  assert.equal(x509(leaf.certPem).verify(ic.publicKey), true);
  assert.equal(x509(leaf.certPem).checkIssued(ic), true);
  assert.equal(x509(leaf.certPem).checkIssued(x509(root.certPem)), false);

  const missing = issueCert(inter, { dnsNames: ['chain.test'], omitIntermediates: true });
  assert.equal(splitPem(missing.chainPem).length, 1);
  assert.equal(splitPem(missing.fullChainPem).length, 2);

  const { root: longRoot, issuer } = createChain(4, 'Long');
  assert.equal(issuer.depth, 4);
  const longLeaf = issueCert(issuer, { dnsNames: ['long.test'] });
  const chain = splitPem(longLeaf.chainPem).map(x509);
  assert.equal(chain.length, 5); // leaf + 4 intermediates, root not sent
  for (let i = 0; i < chain.length - 1; i++) {
    assert.equal(chain[i]!.checkIssued(chain[i + 1]!), true, `link ${i}`);
    assert.equal(chain[i]!.verify(chain[i + 1]!.publicKey), true, `signature ${i}`);
  }
  assert.equal(chain[4]!.checkIssued(x509(longRoot.certPem)), true);
  assert.match(chain[4]!.subject, /CN=Long intermediate 1/);
});

test('serverAuth EKU can be left out', () => {
  const ca = createCa({ commonName: 'Lab Root E' });
  const c = x509(issueCert(ca, { dnsNames: ['noeku.test'], serverAuth: false }).certPem);
  assert.equal(c.keyUsage, undefined);
});

test('ECDSA leaf: a P-256 key in the certificate, signed by the RSA issuer, served and trusted over real TLS', async () => {
  const { root, issuer } = createChain(1, 'Lab EC');
  const leaf = issueCert(issuer, { dnsNames: ['ec.example.test'], keyType: 'ecdsa' });
  const c = x509(leaf.certPem);
  assert.equal(c.publicKey.asymmetricKeyType, 'ec');
  assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(c.checkPrivateKey(cryptoMod.createPrivateKey(leaf.keyPem)), true);
  assert.equal(c.checkIssued(x509(issuer.certPem)), true);
  assert.equal(c.verify(x509(issuer.certPem).publicKey), true);
  assert.equal(c.checkHost('ec.example.test'), 'ec.example.test');
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  // the subject key identifier is the key's own (RFC 5280 method 1), not the placeholder's
  const rsaLeaf = x509(issueCert(issuer, { dnsNames: ['rsa.example.test'] }).certPem);
  assert.equal(rsaLeaf.publicKey.asymmetricKeyType, 'rsa');
  const tls = await import('node:tls');
  const server = tls.createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const got = await new Promise<{ authorized: boolean; error: unknown; data: string }>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, servername: 'ec.example.test', ca: root.certPem }, () => {
        let data = '';
        sock.on('data', (d) => (data += d));
        sock.on('end', () => resolve({ authorized: sock.authorized, error: sock.authorizationError, data }));
      });
      sock.on('error', reject);
    });
    assert.deepEqual(got, { authorized: true, error: null, data: 'ok' });
  } finally {
    server.close();
  }
});
