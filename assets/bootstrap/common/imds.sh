# Sourced by boot scripts: IMDSv2 helpers (the launch templates require session tokens).
imds_token() { curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300'; }
imds() { curl -sf -H "X-aws-ec2-metadata-token: $(imds_token)" "http://169.254.169.254/latest/meta-data/$1"; }
LOCAL_IP=$(imds local-ipv4)
INSTANCE_ID=$(imds instance-id)
REGION=$(imds placement/region)
export LOCAL_IP INSTANCE_ID REGION
# Public IP: the one the EIP pool assigned (if any) else the auto-assigned one.
public_ip() { if [ -s /run/cpaas/public-ip ]; then cat /run/cpaas/public-ip; else imds public-ipv4; fi; }
secret() { aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text; }
