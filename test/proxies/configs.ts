/**
 * Proxy configurations for the real-proxy tests: the deployment docs' recommended configuration of
 * each proxy (test/../shared/seeds: nginx, Apache, Caddy v2, HAProxy), adapted only as far as a
 * test needs (loopback addresses, random ports, temp-dir paths), and the typical broken variants.
 */
import path from 'node:path';
import type { ProxyKind, Tls } from './harness.js';

export interface Site {
  dir: string;
  /** TLS port the proxy listens on */
  port: number;
  backendPort: number;
  tls: Tls;
  /** the public name (SNI/Host) */
  serverName: string;
}

export type Variant =
  | 'recommended'
  // nginx
  | 'nginx-uri-part'
  | 'nginx-no-set-header'
  | 'nginx-append-xff'
  // Apache
  | 'apache-no-nocanon'
  | 'apache-no-encoded-slashes'
  | 'apache-no-preserve-host'
  | 'apache-federation-vhost'
  | 'apache-xff-fixed'
  // Caddy
  | 'caddy-rewrite'
  // HAProxy
  | 'haproxy-normalize-decode'
  | 'haproxy-normalize-slashes-dots'
  | 'haproxy-normalize-query'
  | 'haproxy-forwardfor'
  | 'haproxy-federation-frontend'
;

// ------------------------------------------------------------------------------------------ nginx

function nginx(site: Site, location: string): string {
  const d = site.dir;
  return `worker_processes 1;
pid ${path.join(d, 'nginx.pid')};
error_log ${path.join(d, 'error.log')} warn;
events { worker_connections 128; }
http {
  access_log ${path.join(d, 'access.log')};
  client_body_temp_path ${path.join(d, 'client_body')};
  proxy_temp_path ${path.join(d, 'proxy')};
  fastcgi_temp_path ${path.join(d, 'fastcgi')};
  uwsgi_temp_path ${path.join(d, 'uwsgi')};
  scgi_temp_path ${path.join(d, 'scgi')};
  server {
    listen 127.0.0.1:${site.port} ssl;
    server_name ${site.serverName};
    ssl_certificate ${site.tls.certFile};
    ssl_certificate_key ${site.tls.keyFile};
${location}
  }
}
`;
}

export function nginxConfig(site: Site, variant: Variant): string {
  const up = `http://127.0.0.1:${site.backendPort}`;
  switch (variant) {
    case 'recommended':
      // seeds: "do not add a path (even a single /) after the port in proxy_pass"
      return nginx(
        site,
        `    location ~ ^(/_matrix|/_palpo/client) {
      proxy_pass ${up};
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host:$server_port;
      client_max_body_size 50M;
      proxy_http_version 1.1;
    }`,
      );
    case 'nginx-uri-part':
      return nginx(
        site,
        `    location /_matrix/ {
      proxy_pass ${up}/_matrix/;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host:$server_port;
      client_max_body_size 50M;
      proxy_http_version 1.1;
    }`,
      );
    case 'nginx-no-set-header':
      // the old, minimal config: nginx defaults everywhere
      return nginx(
        site,
        `    location /_matrix {
      proxy_pass ${up};
    }`,
      );
    case 'nginx-append-xff':
      return nginx(
        site,
        `    location ~ ^(/_matrix|/_palpo/client) {
      proxy_pass ${up};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Host $host:$server_port;
      client_max_body_size 50M;
      proxy_http_version 1.1;
    }`,
      );
    default:
      throw new Error(`no nginx config for ${variant}`);
  }
}

// ----------------------------------------------------------------------------------------- Apache

const APACHE_MODULES = ['mpm_event', 'authz_core', 'headers', 'ssl', 'socache_shmcb', 'proxy', 'proxy_http', 'rewrite'];

function apache(site: Site, vhost: string): string {
  const d = site.dir;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return `ServerRoot ${d}
PidFile ${path.join(d, 'httpd.pid')}
DefaultRuntimeDir ${d}
ErrorLog ${path.join(d, 'error.log')}
LogLevel warn
${APACHE_MODULES.map((m) => `LoadModule ${m}_module /usr/lib/apache2/modules/mod_${m}.so`).join('\n')}
${asRoot ? 'User nobody\nGroup nogroup\n' : ''}ServerName localhost
Listen 127.0.0.1:${site.port}
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
SSLSessionCache none
<VirtualHost 127.0.0.1:${site.port}>
    SSLEngine on
    SSLCertificateFile ${site.tls.certFile}
    SSLCertificateKeyFile ${site.tls.keyFile}
    ServerName ${site.serverName}
${vhost}
</VirtualHost>
`;
}

export function apacheConfig(site: Site, variant: Variant): string {
  const up = `http://127.0.0.1:${site.backendPort}`;
  const lines = {
    proto: '    RequestHeader set "X-Forwarded-Proto" expr=%{REQUEST_SCHEME}',
    slashes: '    AllowEncodedSlashes NoDecode',
    host: '    ProxyPreserveHost on',
    pass: `    ProxyPass /_matrix ${up}/_matrix nocanon\n    ProxyPassReverse /_matrix ${up}/_matrix\n    ProxyPass /_palpo/client ${up}/_palpo/client nocanon\n    ProxyPassReverse /_palpo/client ${up}/_palpo/client`,
  };
  switch (variant) {
    case 'recommended':
      return apache(site, [lines.proto, lines.slashes, lines.host, lines.pass].join('\n'));
    case 'apache-xff-fixed':
      // recommended + the fix fedcheck gives for a client-supplied X-Forwarded-For
      return apache(site, [lines.proto, lines.slashes, lines.host, '    RequestHeader unset X-Forwarded-For', lines.pass].join('\n'));
    case 'apache-federation-vhost':
      // the seeds' *:8448 vhost: no ProxyPreserveHost
      return apache(site, [lines.proto, lines.slashes, `    ProxyPass /_matrix ${up}/_matrix nocanon\n    ProxyPassReverse /_matrix ${up}/_matrix`].join('\n'));
    case 'apache-no-nocanon':
      return apache(site, [lines.proto, lines.slashes, lines.host, lines.pass.replace(/ nocanon/g, '')].join('\n'));
    case 'apache-no-encoded-slashes':
      return apache(site, [lines.proto, lines.host, lines.pass].join('\n'));
    case 'apache-no-preserve-host':
      return apache(site, [lines.proto, lines.slashes, lines.pass].join('\n'));
    default:
      throw new Error(`no Apache config for ${variant}`);
  }
}

// ------------------------------------------------------------------------------------------ Caddy

function caddy(site: Site, body: string): string {
  const d = site.dir;
  return `{
  admin off
  storage file_system ${path.join(d, 'storage')}
  skip_install_trust
  auto_https disable_redirects
  https_port ${site.port}
  servers {
    protocols h1 h2
  }
  log {
    output file ${path.join(d, 'caddy.log')}
    level ERROR
  }
}
${site.serverName}:${site.port} {
  bind 127.0.0.1
  tls ${site.tls.certFile} ${site.tls.keyFile}
${body}
}
`;
}

export function caddyConfig(site: Site, variant: Variant): string {
  const up = `127.0.0.1:${site.backendPort}`;
  switch (variant) {
    case 'recommended':
      return caddy(site, `  reverse_proxy /_matrix/* ${up}\n  reverse_proxy /_palpo/client/* ${up}`);
    case 'caddy-rewrite':
      // a path rewrite in front of the proxy (e.g. to move an old prefix): Caddy rebuilds the
      // request target from the decoded path
      return caddy(site, `  rewrite /_matrix/* {path}\n  reverse_proxy /_matrix/* ${up}`);
    default:
      throw new Error(`no Caddy config for ${variant}`);
  }
}

// ---------------------------------------------------------------------------------------- HAProxy

function haproxy(site: Site, frontend: string): string {
  // normalize-uri is "experimental" in HAProxy 2.4-2.6 and must be allowed explicitly
  const experimental = frontend.includes('normalize-uri') ? '  expose-experimental-directives\n' : '';
  return `global
  maxconn 200
  nbthread 1
${experimental}defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
${frontend}
backend matrix
  server matrix 127.0.0.1:${site.backendPort}
`;
}

export function haproxyConfig(site: Site, variant: Variant): string {
  const bind = `  bind 127.0.0.1:${site.port} ssl crt ${site.tls.pemFile} alpn h2,http/1.1`;
  const headers = `  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-For %[src]`;
  const routing = `  acl matrix-host hdr(host) -i ${site.serverName} ${site.serverName}:${site.port}
  acl matrix-sni  ssl_fc_sni   ${site.serverName}
  acl matrix-path path_beg     /_matrix
  acl matrix-path path_beg     /_palpo/client
  use_backend matrix if matrix-host matrix-path
  use_backend matrix if matrix-sni matrix-path`;
  const fe = (extra: string, hdrs = headers) => `frontend https\n${bind}\n${hdrs}\n${extra ? extra + '\n' : ''}${routing}`;
  switch (variant) {
    case 'recommended':
      return haproxy(site, fe(''));
    case 'haproxy-federation-frontend':
      // the seeds' matrix-federation frontend: everything goes to the homeserver
      return haproxy(site, `frontend matrix-federation\n${bind}\n${headers}\n  default_backend matrix`);
    case 'haproxy-normalize-decode':
      return haproxy(site, fe('  http-request normalize-uri percent-decode-unreserved\n  http-request normalize-uri percent-to-uppercase'));
    case 'haproxy-normalize-slashes-dots':
      return haproxy(site, fe('  http-request normalize-uri path-merge-slashes\n  http-request normalize-uri path-strip-dot\n  http-request normalize-uri path-strip-dotdot'));
    case 'haproxy-normalize-query':
      return haproxy(site, fe('  http-request normalize-uri query-sort-by-name'));
    case 'haproxy-forwardfor':
      return haproxy(
        site,
        fe('', `  http-request set-header X-Forwarded-Proto https if { ssl_fc }\n  option forwardfor`),
      );
    default:
      throw new Error(`no HAProxy config for ${variant}`);
  }
}

export function configFor(kind: ProxyKind, site: Site, variant: Variant): string {
  switch (kind) {
    case 'nginx':
      return nginxConfig(site, variant);
    case 'apache':
      return apacheConfig(site, variant);
    case 'caddy':
      return caddyConfig(site, variant);
    case 'haproxy':
      return haproxyConfig(site, variant);
  }
}
