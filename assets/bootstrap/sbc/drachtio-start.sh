#!/bin/bash
# Starts drachtio-server (official image, pinned) with host networking. Contacts use the private IP with the
# public (Elastic) IP as external-ip; the admin port stays on loopback with the secret from Secrets Manager.
# Env (/etc/cpaas/drachtio.env): DRACHTIO_IMAGE DRACHTIO_SECRET_ARN LOG_LEVEL SIP_PORT SIP_TLS_PORT SIP_WSS_PORT ADMIN_PORT PROMETHEUS_PORT VPC_CIDR
set -euo pipefail
. /usr/local/lib/cpaas/imds.sh
PUBLIC_IP=$(public_ip)
SECRET=$(secret "$DRACHTIO_SECRET_ARN")
# DSCP CS3 on signalling (drachtio has no TOS option; docs/security.md § DSCP). Idempotent across restarts.
mark_cs3() { iptables -t mangle -C OUTPUT "$@" -j DSCP --set-dscp-class CS3 2>/dev/null || iptables -t mangle -A OUTPUT "$@" -j DSCP --set-dscp-class CS3; }
mark_cs3 -p udp --sport "$SIP_PORT"
mark_cs3 -p tcp -m multiport --sports "${SIP_PORT},${SIP_TLS_PORT},${SIP_WSS_PORT}"
TLS_DIR=/etc/cpaas/tls
if [ ! -s "$TLS_DIR/sip.key" ]; then
  # Self-signed until an operator installs a real certificate (docs/deploy.md).
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=${PUBLIC_IP}" \
    -keyout "$TLS_DIR/sip.key" -out "$TLS_DIR/sip.crt" 2>/dev/null
fi
exec /usr/bin/docker run --rm --name drachtio --net=host \
  -v "$TLS_DIR:/tls:ro" "$DRACHTIO_IMAGE" drachtio \
  --contact "sip:${LOCAL_IP}:${SIP_PORT};transport=udp,tcp" --external-ip "$PUBLIC_IP" --local-net "$VPC_CIDR" \
  --contact "sips:${LOCAL_IP}:${SIP_TLS_PORT};transport=tls" --external-ip "$PUBLIC_IP" \
  --contact "sips:${LOCAL_IP}:${SIP_WSS_PORT};transport=wss" --external-ip "$PUBLIC_IP" \
  --tls-key-file /tls/sip.key --tls-cert-file /tls/sip.crt \
  --address 127.0.0.1 --port "$ADMIN_PORT" --secret "$SECRET" \
  --prometheus-scrape-port "127.0.0.1:${PROMETHEUS_PORT}" --loglevel "$LOG_LEVEL"
