/** The check registry, in report order. Adding a check: its file, and one line here. */
import type { Check } from './types.js';
import serverName from './server-name.js';
import wellKnown from './well-known.js';
import srv from './srv.js';
import dns from './dns.js';
import tls from './tls.js';
import federationVersion from './federation-version.js';
import serverKeys from './server-keys.js';
import health from './health.js';
import federation from './federation.js';
import uriCanonicalization from './uri-canonicalization.js';
import forwardedHeaders from './forwarded-headers.js';
import uploadLimit from './upload-limit.js';
import adminExposure from './admin-exposure.js';
import clientWellKnown from './client-well-known.js';
import clientVersions from './client-versions.js';
import cors from './cors.js';
import supportWellKnown from './support-well-known.js';
import compatibility from './compatibility.js';

export const checks: Check[] = [
  serverName,
  wellKnown,
  srv,
  dns,
  tls,
  federationVersion,
  serverKeys,
  health,
  uriCanonicalization,
  forwardedHeaders,
  uploadLimit,
  adminExposure,
  clientWellKnown,
  clientVersions,
  cors,
  supportWellKnown,
  compatibility,
  federation,
];
