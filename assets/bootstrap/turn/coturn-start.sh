#!/bin/bash
# Renders /run/cpaas/turnserver.conf (shared secret from Secrets Manager, IPs from IMDSv2) and runs coturn.
# Env (/etc/cpaas/coturn.env): TURN_SECRET_ARN REALM TURN_PORT TURN_TLS_PORT TURN_TLS_ALT_PORT RELAY_MIN RELAY_MAX
set -euo pipefail
. /usr/local/lib/cpaas/imds.sh
PUBLIC_IP=$(public_ip)
SECRET=$(secret "$TURN_SECRET_ARN")
mkdir -p /run/cpaas /var/lib/cpaas /etc/cpaas/tls
if [ ! -s /etc/cpaas/tls/turn.key ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=${PUBLIC_IP}" \
    -keyout /etc/cpaas/tls/turn.key -out /etc/cpaas/tls/turn.crt 2>/dev/null
fi
umask 077
sed -e "s|@LOCAL_IP@|${LOCAL_IP}|g" -e "s|@PUBLIC_IP@|${PUBLIC_IP}|g" -e "s|@SECRET@|${SECRET}|g" \
  -e "s|@REALM@|${REALM}|g" -e "s|@TURN_PORT@|${TURN_PORT}|g" -e "s|@TURN_TLS_PORT@|${TURN_TLS_PORT}|g" \
  -e "s|@TURN_TLS_ALT_PORT@|${TURN_TLS_ALT_PORT}|g" -e "s|@RELAY_MIN@|${RELAY_MIN}|g" -e "s|@RELAY_MAX@|${RELAY_MAX}|g" \
  /usr/local/lib/cpaas/turnserver.conf.tmpl > /run/cpaas/turnserver.conf
exec /usr/bin/turnserver -c /run/cpaas/turnserver.conf
