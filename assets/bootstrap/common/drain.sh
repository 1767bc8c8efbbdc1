#!/bin/bash
# Watches the Auto Scaling target lifecycle state (IMDSv2). On "Terminated" (the termination lifecycle hook is
# pending), stops the service gracefully (SIGTERM: the runtime stops taking new calls and drains), waits for
# active calls to end or for DRAIN_SECONDS, then completes the lifecycle action so the instance can terminate.
# Env (/etc/cpaas/drain.env): HOOK_NAME DRAIN_SECONDS DRAIN_UNITS ACTIVE_CALLS_CMD
set -uo pipefail
. /usr/local/lib/cpaas/imds.sh
# The group name comes from instance tags in IMDS (the launch template enables them).
ASG_NAME=$(imds tags/instance/aws:autoscaling:groupName)
while true; do
  state=$(imds autoscaling/target-lifecycle-state || echo unknown)
  if [ "$state" = "Terminated" ]; then break; fi
  sleep 5
done
echo "scale-in: draining ${DRAIN_UNITS} for up to ${DRAIN_SECONDS}s"
deadline=$(( $(date +%s) + DRAIN_SECONDS ))
for unit in ${DRAIN_UNITS}; do systemctl kill --signal=SIGTERM "$unit" || true; done
while [ "$(date +%s)" -lt "$deadline" ]; do
  active=$(eval "${ACTIVE_CALLS_CMD}" 2>/dev/null || echo 0)
  [ "${active:-0}" -le 0 ] && break
  echo "waiting for ${active} active calls"
  sleep 10
done
aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$ASG_NAME" \
  --lifecycle-hook-name "$HOOK_NAME" --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE
sleep infinity
