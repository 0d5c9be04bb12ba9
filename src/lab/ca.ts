/**
 * A throw-away certificate authority for the lab, minted with node-forge (RSA-2048 issuers,
 * SHA-256 signatures; leaves RSA-2048 or, with `keyType: 'ecdsa'`, ECDSA P-256).
 *
 * Everything here is for tests and the demo lab only: keys are generated once per process
 * (RSA key generation is the slow part) by node:crypto and reused, so creating dozens of
 * certificates stays cheap. Issuers (roots and intermediates) draw from a small pool of distinct
 * keys, leaves share one leaf key; a self-signed leaf uses a key of its own. The pool means two
 * unrelated CAs can share a key pair, so tests should tell CAs apart by name (as chain building
 * does), not only by key.
 *
 * Broken setups a scenario can build:
 * - wrong names: just issue for other `dnsNames` / `ipAddresses`;
 * - expired / not yet valid: `notAfter` in the past / `notBefore` in the future;
 * - self-signed leaf: `selfSigned: true`;
 * - IP SANs, IPv4 and IPv6 (`ipAddresses`);
 * - missing intermediate: `omitIntermediates: true` (served chain = leaf only);
 * - long chain: {@link createChain} builds N intermediates under a root.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import forge from 'node-forge';

const pki = forge.pki;

/** A CA (root or intermediate) able to issue certificates. */
export interface CertAuthority {
  /** this CA's certificate, PEM */
  certPem: string;
  /** this CA's private key, PEM (PKCS#1) */
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  /**
   * The intermediates a server would send after a leaf issued by this CA: empty for a root;
   * for an intermediate its own certificate then its parents', root excluded. PEM, concatenated.
   */
  chainPem: string;
  /** 0 for a root, 1 for an intermediate directly under a root, … */
  depth: number;
  /** the root at the top of this CA's chain (itself for a root) */
  root: { certPem: string };
}

/** A leaf certificate ready to hand to a TLS server. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** what the server sends: the leaf then the intermediates (unless omitted), PEM */
  chainPem: string;
  /** leaf + all intermediates, regardless of `omitIntermediates` */
  fullChainPem: string;
  /** forge's view of the certificate (for an ECDSA leaf its publicKey is a placeholder: use certPem) */
  cert: forge.pki.Certificate;
}

/** Options for a CA certificate. */
export interface CaOptions {
  commonName: string;
  notBefore?: Date;
  notAfter?: Date;
}

/** Options for a leaf certificate. */
export interface LeafOptions {
  /** DNS subjectAltNames (wildcards such as `*.example.org` allowed) */
  dnsNames?: string[];
  /** IP subjectAltNames, IPv4 or IPv6 (no brackets) */
  ipAddresses?: string[];
  /** subject CN; defaults to the first DNS name, else the first IP, else `fedcheck-lab leaf` */
  commonName?: string;
  /** default: one hour ago */
  notBefore?: Date;
  /** default: 90 days from now */
  notAfter?: Date;
  /** self-signed leaf (the issuer argument is ignored for signing; chain = leaf only) */
  selfSigned?: boolean;
  /** serve only the leaf ("missing intermediate"); `fullChainPem` still has the intermediates */
  omitIntermediates?: boolean;
  /** include the serverAuth extended key usage (default true) */
  serverAuth?: boolean;
  /**
   * The leaf's key: `rsa` (RSA-2048, the default) or `ecdsa` (P-256, what Caddy and certbot
   * issue by default; a server's handshake signature costs ~50 µs instead of ~1 ms). Ignored
   * with `selfSigned` (always RSA).
   */
  keyType?: 'rsa' | 'ecdsa';
}

// ---------------------------------------------------------------------------------------------
// key pool
// ---------------------------------------------------------------------------------------------

interface PooledKey {
  pem: string;
  forgeKey: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
}

function makeKey(): PooledKey {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const forgeKey = pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const forgePublic = pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { pem, forgeKey, forgePublic };
}

/** Number of distinct issuer keys cycled through. */
const ISSUER_POOL_SIZE = 4;
const issuerPool: PooledKey[] = [];
let issuerNext = 0;
let leafKey: PooledKey | null = null;
let selfSignedKey: PooledKey | null = null;

function nextIssuerKey(): PooledKey {
  const i = issuerNext++ % ISSUER_POOL_SIZE;
  if (!issuerPool[i]) issuerPool[i] = makeKey();
  return issuerPool[i]!;
}

function getLeafKey(): PooledKey {
  return (leafKey ??= makeKey());
}

function getSelfSignedKey(): PooledKey {
  return (selfSignedKey ??= makeKey());
}

interface EcKey {
  pem: string;
  /** SubjectPublicKeyInfo, DER as a forge binary string */
  spkiDer: string;
  /** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1), hex */
  ski: string;
}
let ecLeafKey: EcKey | null = null;

function getEcLeafKey(): EcKey {
  if (ecLeafKey) return ecLeafKey;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const point = forge.asn1.fromDer(spki.toString('binary')).value[1] as forge.asn1.Asn1;
  // BIT STRING value: one byte of unused bits, then the point
  const ski = crypto.createHash('sha1').update(Buffer.from((point.value as string).slice(1), 'binary')).digest('hex');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return (ecLeafKey = { pem, spkiDer: spki.toString('binary'), ski });
}

/**
 * Sign `cert` with an RSA issuer key, with `spkiDer` as its subject public key. forge encodes
 * only RSA keys, so the TBSCertificate it builds (around a placeholder RSA key) gets its
 * subjectPublicKeyInfo replaced before it is signed. Returns the certificate, PEM.
 */
function signWithForeignKey(cert: forge.pki.Certificate, spkiDer: string, issuerKey: forge.pki.rsa.PrivateKey): string {
  const asn1 = forge.asn1;
  const oid = pki.oids.sha256WithRSAEncryption!;
  cert.siginfo.algorithmOid = oid;
  cert.signatureOid = oid;
  // (getTBSCertificate is public in forge, missing from its type definitions)
  const tbs = (pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  // version [0], serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …
  fields[6] = asn1.fromDer(spkiDer);
  const tbsDer = asn1.toDer(tbs).getBytes();
  const md = forge.md.sha256.create();
  md.update(tbsDer);
  const signature = issuerKey.sign(md);
  const algorithm = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
  const certAsn1 = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  return forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certAsn1).getBytes() }).replace(/\r\n/g, '\n');
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Random positive serial number, 16 bytes, first byte 0x01–0x7f (minimal positive DER INTEGER). */
function randomSerial(): string {
  const b = crypto.randomBytes(16);
  b[0] = (b[0]! & 0x7f) || 0x01;
  return b.toString('hex');
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Network-order bytes (forge binary string) of an IPv4/IPv6 literal. @throws on non-IP */
export function ipToBytes(ip: string): string {
  const family = net.isIP(ip);
  if (family === 4) {
    return String.fromCharCode(...ip.split('.').map((p) => Number(p)));
  }
  if (family !== 6) throw new Error(`not an IP address: ${ip}`);
  let text = ip.split('%')[0]!;
  // embedded IPv4 tail → two hex groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, v4.index) + ((o[0]! << 8) | o[1]!).toString(16) + ':' + ((o[2]! << 8) | o[3]!).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  let out = '';
  for (const g of groups) {
    const n = parseInt(g, 16);
    out += String.fromCharCode(n >> 8, n & 0xff);
  }
  return out;
}

function toPem(cert: forge.pki.Certificate): string {
  return pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function baseCert(
  publicKey: forge.pki.rsa.PublicKey,
  subjectCn: string,
  notBefore: Date,
  notAfter: Date,
): forge.pki.Certificate {
  const cert = pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([
    { name: 'commonName', value: subjectCn },
    { name: 'organizationName', value: 'fedcheck lab' },
  ]);
  return cert;
}

function skiOf(cert: forge.pki.Certificate): string {
  return cert.generateSubjectKeyIdentifier().getBytes();
}

// ---------------------------------------------------------------------------------------------
// public API
// ---------------------------------------------------------------------------------------------

/** Create a self-signed root CA. Default validity: one day ago until ten years from now. */
export function createCa(opts: CaOptions): CertAuthority {
  const k = nextIssuerKey();
  const now = Date.now();
  const cert = baseCert(k.forgePublic, opts.commonName, opts.notBefore ?? new Date(now - DAY), opts.notAfter ?? new Date(now + 3650 * DAY));
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(k.forgeKey, forge.md.sha256.create());
  const certPem = toPem(cert);
  return { certPem, keyPem: k.pem, cert, key: k.forgeKey, chainPem: '', depth: 0, root: { certPem } };
}

/** Create an intermediate CA signed by `issuer` (a root or another intermediate). */
export function createIntermediate(issuer: CertAuthority, opts: CaOptions): CertAuthority {
  const k = nextIssuerKey();
  const now = Date.now();
  const cert = baseCert(k.forgePublic, opts.commonName, opts.notBefore ?? new Date(now - DAY), opts.notAfter ?? new Date(now + 1825 * DAY));
  cert.setIssuer(issuer.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: skiOf(issuer.cert) },
  ]);
  cert.sign(issuer.key, forge.md.sha256.create());
  const certPem = toPem(cert);
  return {
    certPem,
    keyPem: k.pem,
    cert,
    key: k.forgeKey,
    chainPem: certPem + issuer.chainPem,
    depth: issuer.depth + 1,
    root: issuer.root,
  };
}

/**
 * A root with `length` intermediates below it (`length` ≥ 0). Returns the root and the lowest
 * intermediate (the one to issue leaves from; equal to the root when `length` is 0).
 */
export function createChain(length: number, namePrefix = 'fedcheck lab'): { root: CertAuthority; issuer: CertAuthority } {
  const root = createCa({ commonName: `${namePrefix} root` });
  let issuer = root;
  for (let i = 1; i <= length; i++) {
    issuer = createIntermediate(issuer, { commonName: `${namePrefix} intermediate ${i}` });
  }
  return { root, issuer };
}

/**
 * Issue a TLS server (leaf) certificate. `issuer` may be null only with `selfSigned: true`.
 * IP addresses go into iPAddress SANs (not into the CN unless given as `commonName`).
 */
export function issueCert(issuer: CertAuthority | null, opts: LeafOptions = {}): IssuedCert {
  const dnsNames = opts.dnsNames ?? [];
  const ips = opts.ipAddresses ?? [];
  const now = Date.now();
  const selfSigned = opts.selfSigned === true;
  if (!selfSigned && !issuer) throw new Error('issueCert: an issuer is required unless selfSigned');
  const k = selfSigned ? getSelfSignedKey() : getLeafKey();
  const ec = !selfSigned && opts.keyType === 'ecdsa' ? getEcLeafKey() : null;
  const cn = opts.commonName ?? dnsNames[0] ?? ips[0] ?? 'fedcheck-lab leaf';
  const cert = baseCert(k.forgePublic, cn, opts.notBefore ?? new Date(now - HOUR), opts.notAfter ?? new Date(now + 90 * DAY));
  cert.setIssuer(selfSigned ? cert.subject.attributes : issuer!.cert.subject.attributes);
  const altNames: Array<{ type: number; value: string }> = [
    ...dnsNames.map((d) => ({ type: 2, value: d })),
    ...ips.map((ip) => ({ type: 7, value: ipToBytes(ip) })),
  ];
  const ext: Array<Record<string, unknown>> = [
    { name: 'basicConstraints', cA: false, critical: true },
    // keyEncipherment is for RSA key transport; an ECDSA key only signs
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: !ec, critical: true },
    ec ? { name: 'subjectKeyIdentifier', subjectKeyIdentifier: ec.ski } : { name: 'subjectKeyIdentifier' },
  ];
  if (opts.serverAuth !== false) ext.push({ name: 'extKeyUsage', serverAuth: true });
  if (altNames.length) ext.push({ name: 'subjectAltName', altNames });
  if (!selfSigned) ext.push({ name: 'authorityKeyIdentifier', keyIdentifier: skiOf(issuer!.cert) });
  cert.setExtensions(ext);
  let certPem: string;
  if (ec) certPem = signWithForeignKey(cert, ec.spkiDer, issuer!.key);
  else {
    cert.sign(selfSigned ? k.forgeKey : issuer!.key, forge.md.sha256.create());
    certPem = toPem(cert);
  }
  const intermediates = selfSigned ? '' : issuer!.chainPem;
  return {
    certPem,
    keyPem: ec ? ec.pem : k.pem,
    cert,
    chainPem: opts.omitIntermediates ? certPem : certPem + intermediates,
    fullChainPem: certPem + intermediates,
  };
}

/** Split concatenated PEM certificates into individual PEM strings. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
