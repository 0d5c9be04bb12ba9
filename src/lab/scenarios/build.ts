/** Small builders so scenarios read like the deployments they describe. */
import type { LabCertSpec, LabHostSpec, LabResponse } from '../scenario-types.js';

/** A homeserver (or a proxy in front of one) at address:port with a certificate for `names`. */
export function homeserver(address: string, port: number, serverName: string, cert: LabCertSpec, extra: Partial<LabHostSpec> = {}): LabHostSpec {
  return { address, port, tls: cert, homeserver: { serverName }, ...extra };
}

/** An HTTPS web server at address:443 serving /.well-known/matrix/server. */
export function wellKnownHost(address: string, names: string[], server: LabResponse, more: Record<string, LabResponse> = {}): LabHostSpec {
  return { address, port: 443, tls: { names }, routes: { '/.well-known/matrix/server': server, ...more } };
}

/** A JSON 200 response. */
export function json(body: unknown, headers: Record<string, string> = {}): LabResponse {
  return { status: 200, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : (body as object) };
}
