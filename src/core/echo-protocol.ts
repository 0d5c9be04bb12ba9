/**
 * The echo protocol between fedcheck's proxy probes and the stand-in backend: shared constants
 * and the echo record. Kept apart from the backend server so `check` does not load the server.
 */
export const BACKEND_SERVER_NAME = 'fedcheck-backend';
/** Request header that turns any request into an echo. */
export const PROBE_HEADER = 'x-fedcheck-probe';
/** Path prefix that is always echoed. */
export const ECHO_PREFIX = '/_matrix/fedcheck/echo';
/** Marker key present in every echo body. */
export const ECHO_MARKER = 'fedcheck_echo';

/** What the backend saw of one request. Plain JSON. */
export interface EchoRecord {
  [ECHO_MARKER]: 1;
  /** the value of X-Fedcheck-Probe, or null (echo by path) */
  probe: string | null;
  server: typeof BACKEND_SERVER_NAME;
  /** the backend's configured server name */
  serverName: string;
  /** the request target exactly as received (bytes as UTF-8; invalid UTF-8 → U+FFFD, see rawTargetBase64) */
  rawTarget: string;
  /** present when the target held bytes outside printable ASCII: the exact bytes, base64 */
  rawTargetBase64?: string;
  method: string;
  /** "1.0" / "1.1" */
  httpVersion: string;
  /** headers as received, in order, names in their original case */
  headers: Array<[string, string]>;
  /** body bytes received (after chunked decoding) */
  bodyLength: number;
  /** the declared Content-Length, or null */
  declaredLength: number | null;
  /** the peer of the backend connection — the proxy's address when there is a proxy */
  remoteAddress: string;
  remotePort: number;
  /** set when Node's parser refused the request and the echo was built from the raw bytes */
  parseError?: string;
}
