#!/bin/bash
# Takes a free Elastic IP from this tier's pool (allocation ids in /etc/cpaas/eip.env) and associates it with
# this instance. Writes the address to /run/cpaas/public-ip for drachtio/coturn/rtpengine start scripts.
set -uo pipefail
. /usr/local/lib/cpaas/imds.sh
. /etc/cpaas/eip.env
mkdir -p /run/cpaas
for attempt in $(seq 1 30); do
  for alloc in ${EIP_ALLOCATION_IDS}; do
    assoc=$(aws ec2 describe-addresses --region "$REGION" --allocation-ids "$alloc" --query 'Addresses[0].InstanceId' --output text)
    if [ "$assoc" = "$INSTANCE_ID" ]; then aws ec2 describe-addresses --region "$REGION" --allocation-ids "$alloc" --query 'Addresses[0].PublicIp' --output text > /run/cpaas/public-ip; exit 0; fi
    if [ "$assoc" = "None" ] && aws ec2 associate-address --region "$REGION" --allocation-id "$alloc" --instance-id "$INSTANCE_ID" --no-allow-reassociation >/dev/null; then
      aws ec2 describe-addresses --region "$REGION" --allocation-ids "$alloc" --query 'Addresses[0].PublicIp' --output text > /run/cpaas/public-ip
      echo "associated $alloc ($(cat /run/cpaas/public-ip))"; exit 0
    fi
  done
  sleep $(( (RANDOM % 5) + 2 ))
done
echo "no free Elastic IP in pool: ${EIP_ALLOCATION_IDS}" >&2
exit 1
