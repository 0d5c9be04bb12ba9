#!/bin/sh
# Install the four reverse proxies the real-proxy tests (test/proxies/) run against:
# nginx, apache2, caddy, haproxy — Debian 12 packages. Called by .ci/run on a clean machine.
#
# In a container there is no init system: package post-install scripts that try to start the
# services fail or leave daemons running. A policy-rc.d that answers 101 ("action not allowed")
# makes invoke-rc.d skip every start; we remove it again afterwards (only if we created it) and
# make sure no nginx/apache2/haproxy system service is left running. The tests start each proxy
# themselves, in the foreground, on loopback, with their own config, pid and log files.
set -eu

need=""
for bin in nginx apache2 caddy haproxy; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need=1
done
if [ -z "$need" ]; then
  echo "proxies.sh: nginx, apache2, caddy and haproxy already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  $SUDO sh -c "printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d"
  created_policy=1
fi
cleanup() {
  if [ -n "$created_policy" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nginx apache2 caddy haproxy >/dev/null

# Belt and braces: if an init system did start them anyway, stop them (they would hold ports 80/443
# and the tests must not depend on or disturb system services).
for svc in nginx apache2 haproxy caddy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
    $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1 && service "$svc" status >/dev/null 2>&1; then
    $SUDO service "$svc" stop || true
  fi
done

for bin in nginx apache2 caddy haproxy; do
  p=$(command -v "$bin" 2>/dev/null || echo "/usr/sbin/$bin")
  [ -x "$p" ] || { echo "proxies.sh: $bin did not install" >&2; exit 1; }
done
echo "proxies.sh: installed $(nginx -v 2>&1 | tr -d '\n'); $(/usr/sbin/apache2 -v | head -1); caddy $(caddy version); $(haproxy -v | head -1)"
