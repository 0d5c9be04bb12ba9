/**
 * A throw-away certificate authority for the lab, minted with node-forge (RSA-2048, SHA-256).
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
  const cn = opts.commonName ?? dnsNames[0] ?? ips[0] ?? 'fedcheck-lab leaf';
  const cert = baseCert(k.forgePublic, cn, opts.notBefore ?? new Date(now - HOUR), opts.notAfter ?? new Date(now + 90 * DAY));
  cert.setIssuer(selfSigned ? cert.subject.attributes : issuer!.cert.subject.attributes);
  const altNames: Array<{ type: number; value: string }> = [
    ...dnsNames.map((d) => ({ type: 2, value: d })),
    ...ips.map((ip) => ({ type: 7, value: ipToBytes(ip) })),
  ];
  const ext: Array<Record<string, unknown>> = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (opts.serverAuth !== false) ext.push({ name: 'extKeyUsage', serverAuth: true });
  if (altNames.length) ext.push({ name: 'subjectAltName', altNames });
  if (!selfSigned) ext.push({ name: 'authorityKeyIdentifier', keyIdentifier: skiOf(issuer!.cert) });
  cert.setExtensions(ext);
  cert.sign(selfSigned ? k.forgeKey : issuer!.key, forge.md.sha256.create());
  const certPem = toPem(cert);
  const intermediates = selfSigned ? '' : issuer!.chainPem;
  return {
    certPem,
    keyPem: k.pem,
    cert,
    chainPem: opts.omitIntermediates ? certPem : certPem + intermediates,
    fullChainPem: certPem + intermediates,
  };
}

/** Split concatenated PEM certificates into individual PEM strings. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}
