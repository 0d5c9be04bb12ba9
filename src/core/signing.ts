/**
 * Matrix JSON signing with ed25519 (spec §2.1, appendix "Signing JSON"), built on node:crypto.
 *
 * - Keys and signatures travel as **unpadded** standard base64 (RFC 4648 §4 alphabet, no `=`).
 *   The decoder also accepts padded input (the spec says decoders SHOULD) and ignores non-zero
 *   trailing bits (the spec's own test seed has them), but rejects any other character.
 * - Signing removes `signatures` and `unsigned`, encodes the rest as canonical JSON and signs the
 *   UTF-8 bytes; the signature lands in `signatures[serverName][keyId]`, other signatures are kept
 *   and `unsigned` is put back.
 */
import crypto from 'node:crypto';
import { canonicalJson, CanonicalJsonError } from './canonical-json.js';

/** Thrown by {@link decodeBase64} on malformed input. */
export class Base64Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Base64Error';
  }
}

/** Encode bytes as unpadded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

const B64_BODY = /^[A-Za-z0-9+/]*$/;

/**
 * Decode standard base64, padded or unpadded.
 * @throws Base64Error on characters outside `A-Za-z0-9+/`, misplaced/excess `=`, or an impossible
 *   length (a single leftover character).
 */
export function decodeBase64(text: string): Buffer {
  if (typeof text !== 'string') throw new Base64Error('not a string');
  let body = text;
  const pad = /=+$/.exec(text);
  if (pad) {
    if (pad[0].length > 2) throw new Base64Error('too much padding');
    if (text.length % 4 !== 0) throw new Base64Error('padded base64 length is not a multiple of 4');
    body = text.slice(0, pad.index);
  }
  if (!B64_BODY.test(body)) throw new Base64Error('invalid base64 character');
  if (body.length % 4 === 1) throw new Base64Error('invalid base64 length');
  if (pad && (body.length + pad[0].length) % 4 !== 0) throw new Base64Error('wrong padding');
  return Buffer.from(body, 'base64');
}

/** Like {@link decodeBase64} but returns null instead of throwing. */
export function tryDecodeBase64(text: unknown): Buffer | null {
  try {
    return typeof text === 'string' ? decodeBase64(text) : null;
  } catch {
    return null;
  }
}

/** An ed25519 signing key in Matrix form. */
export interface SigningKey {
  /** `ed25519:<version>`, version chars `[a-zA-Z0-9_]` */
  keyId: string;
  /** the 32-byte private seed, unpadded base64 */
  seed: string;
  /** the 32-byte public key, unpadded base64 (the `verify_keys[keyId].key` value) */
  publicKey: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Keep `value` under `key` in a map of at most `max` entries (the oldest goes first). */
function remember<V>(map: Map<string, V>, max: number, key: string, value: V): V {
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
  return value;
}

/** Verification KeyObjects by raw key (base64url): every address of a server serves the same key. */
const publicKeys = new Map<string, crypto.KeyObject>();
const PUBLIC_KEY_CACHE = 256;

/** KeyObjects by seed: building one costs ~0.5 ms, and a stand-in signs every keys request. */
const privateKeys = new Map<string, crypto.KeyObject>();
const PRIVATE_KEY_CACHE = 64;

/** Build a node KeyObject from a 32-byte seed (unpadded/padded base64). @throws on bad input */
export function privateKeyFromSeed(seedB64: string): crypto.KeyObject {
  const cached = privateKeys.get(seedB64);
  if (cached) return cached;
  const seed = decodeBase64(seedB64);
  if (seed.length !== 32) throw new Error(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  const key = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return remember(privateKeys, PRIVATE_KEY_CACHE, seedB64, key);
}

/** Build a node public KeyObject from a raw 32-byte key (base64). @throws on bad input */
export function publicKeyFromBase64(publicKeyB64: string): crypto.KeyObject {
  const raw = decodeBase64(publicKeyB64);
  if (raw.length !== 32) throw new Error(`ed25519 public key must be 32 bytes, got ${raw.length}`);
  return crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/** The unpadded-base64 public key belonging to a seed. @throws on a bad seed */
export function publicKeyForSeed(seedB64: string): string {
  const pub = crypto.createPublicKey(privateKeyFromSeed(seedB64));
  const der = pub.export({ format: 'der', type: 'spki' });
  return encodeBase64(der.subarray(SPKI_ED25519_PREFIX.length));
}

/**
 * Generate a fresh ed25519 key. `version` defaults to a random `[a-zA-Z0-9_]` string.
 */
export function generateSigningKey(version?: string): SigningKey {
  const v = version ?? 'a_' + crypto.randomBytes(4).toString('hex');
  if (!/^[a-zA-Z0-9_]+$/.test(v)) throw new Error(`invalid key version ${JSON.stringify(v)}`);
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = encodeBase64(der.subarray(der.length - 32));
  return { keyId: `ed25519:${v}`, seed, publicKey: publicKeyForSeed(seed) };
}

/** Signatures block of a signed object: server name → key id → unpadded base64 signature. */
export type Signatures = Record<string, Record<string, string>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The canonical JSON bytes a signature covers: the object minus `signatures` and `unsigned`. */
export function signedBytes(obj: Record<string, unknown>): Buffer {
  const { signatures: _s, unsigned: _u, ...rest } = obj;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/**
 * Sign `obj` as `serverName` with key `keyId`. Returns a copy with `signatures[serverName][keyId]`
 * set; existing signatures (other servers, other keys) and `unsigned` are kept.
 * @throws CanonicalJsonError if `obj` is not canonical-JSON encodable; Error on a bad seed.
 */
export function signJson<T extends Record<string, unknown>>(
  obj: T,
  serverName: string,
  keyId: string,
  seedB64: string,
): Omit<T, 'signatures'> & { signatures: Signatures } {
  if (!isRecord(obj)) throw new CanonicalJsonError('only JSON objects can be signed', '');
  const key = privateKeyFromSeed(seedB64);
  const sig = crypto.sign(null, signedBytes(obj), key);
  const existing: Signatures = {};
  if (isRecord(obj.signatures)) {
    for (const [server, sigs] of Object.entries(obj.signatures)) {
      if (isRecord(sigs)) existing[server] = { ...(sigs as Record<string, string>) };
    }
  }
  existing[serverName] = { ...(existing[serverName] ?? {}), [keyId]: encodeBase64(sig) };
  return { ...obj, signatures: existing };
}

/** Outcome of {@link verifyJsonSignature}. */
export interface VerifyResult {
  ok: boolean;
  /** why verification failed (absent when ok) */
  reason?: string;
}

/**
 * Check `obj.signatures[serverName][keyId]` against `publicKeyB64`. Never throws: every failure
 * (missing signature, bad base64, key not 32 bytes, signature not 64 bytes, value not
 * canonical-JSON encodable, signature mismatch) comes back as `{ok:false, reason}`.
 */
export function verifyJsonSignature(
  obj: unknown,
  serverName: string,
  keyId: string,
  publicKeyB64: string,
  /** signedBytes(obj), when the caller checks several keys of one object (encode it once) */
  bytes?: Buffer,
): VerifyResult {
  try {
    if (!isRecord(obj)) return { ok: false, reason: 'not a JSON object' };
    const sigs = obj.signatures;
    if (!isRecord(sigs)) return { ok: false, reason: 'no signatures object' };
    const forServer = sigs[serverName];
    if (!isRecord(forServer)) return { ok: false, reason: `no signatures from ${serverName}` };
    const sigB64 = forServer[keyId];
    if (sigB64 === undefined) return { ok: false, reason: `no signature by ${keyId} from ${serverName}` };
    if (typeof sigB64 !== 'string') return { ok: false, reason: 'signature is not a string' };
    if (!keyId.startsWith('ed25519:')) return { ok: false, reason: `unsupported key algorithm in ${keyId}` };
    const sig = tryDecodeBase64(sigB64);
    if (!sig) return { ok: false, reason: 'signature is not valid base64' };
    if (sig.length !== 64) return { ok: false, reason: `signature is ${sig.length} bytes, expected 64` };
    const raw = tryDecodeBase64(publicKeyB64);
    if (!raw) return { ok: false, reason: 'public key is not valid base64' };
    if (raw.length !== 32) return { ok: false, reason: `public key is ${raw.length} bytes, expected 32` };
    let key: crypto.KeyObject;
    const x = raw.toString('base64url');
    const known = publicKeys.get(x);
    if (known) key = known;
    else {
      try {
        key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
      } catch (err) {
        return { ok: false, reason: `public key rejected: ${(err as Error).message}` };
      }
      remember(publicKeys, PUBLIC_KEY_CACHE, x, key);
    }
    let data: Buffer;
    try {
      data = bytes ?? signedBytes(obj);
    } catch (err) {
      return { ok: false, reason: `cannot encode as canonical JSON: ${(err as Error).message}` };
    }
    return crypto.verify(null, data, key, sig) ? { ok: true } : { ok: false, reason: 'signature does not verify' };
  } catch (err) {
    return { ok: false, reason: `verification error: ${err instanceof Error ? err.message : String(err)}` };
  }
}
