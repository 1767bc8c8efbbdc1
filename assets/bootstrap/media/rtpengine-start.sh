#!/bin/bash
# Starts rtpengine with in-kernel forwarding: the private interface for the VPC, the public one advertising the
# instance's public IP (EC2 maps it 1:1). Control (ng) on the private IP for the SBC tier; HTTP metrics on loopback.
# Env (/etc/cpaas/rtpengine.env): NG_PORT CLI_PORT HTTP_PORT PORT_MIN PORT_MAX TABLE LOG_LEVEL SPOOL_DIR
# [RTPENGINE_TOS] (IP TOS byte of media; default 184 = DSCP EF, docs/security.md § DSCP)
set -euo pipefail
. /usr/local/lib/cpaas/imds.sh
PUBLIC_IP=$(public_ip)
mkdir -p "$SPOOL_DIR" /var/spool/cpaas/agent   # rtpengine pcaps; the media agent's own spool
modprobe xt_RTPENGINE || echo "kernel module unavailable: rtpengine falls back to userspace" >&2
iptables -N rtpengine 2>/dev/null || true
iptables -C INPUT -p udp -j rtpengine 2>/dev/null || iptables -I INPUT -p udp -j rtpengine
iptables -C rtpengine -p udp -j RTPENGINE --id "$TABLE" 2>/dev/null || iptables -I rtpengine -p udp -j RTPENGINE --id "$TABLE" || true
exec /usr/bin/rtpengine --config-file=none --foreground --log-stderr --log-level="$LOG_LEVEL" \
  --table="$TABLE" \
  --interface="private/${LOCAL_IP}" --interface="public/${LOCAL_IP}!${PUBLIC_IP}" `# names used by the SBC (rtpengine.interfaces)` \
  --listen-ng="${LOCAL_IP}:${NG_PORT}" --listen-cli="127.0.0.1:${CLI_PORT}" --listen-http="127.0.0.1:${HTTP_PORT}" \
  --port-min="$PORT_MIN" --port-max="$PORT_MAX" --tos="${RTPENGINE_TOS:-184}" \
  --recording-method=pcap --recording-dir="$SPOOL_DIR" --delete-delay=0 --timeout=60 --silent-timeout=3600
