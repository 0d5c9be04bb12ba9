/**
 * Parsed certificates by base64 DER, shared within the process: every connection of a check (and
 * every name of a batch) meets the same few certificates, and parsing one costs ~0.3 ms of CPU
 * (docs/performance.md). X509Certificate objects are immutable, so sharing them is safe.
 * Bounded: cleared when full. A DER that does not parse throws, as the constructor does, and is
 * not cached.
 */
import { X509Certificate } from 'node:crypto';

const parsed = new Map<string, X509Certificate>();

export function x509FromBase64(der: string): X509Certificate {
  let x = parsed.get(der);
  if (x === undefined) {
    x = new X509Certificate(Buffer.from(der, 'base64'));
    if (parsed.size >= 2000) parsed.clear();
    parsed.set(der, x);
  }
  return x;
}
