# Debian 12 bootstrap preamble (runs as EC2 user data before cfn-init). Debian's AMI has neither cfn-init, the
# SSM agent nor the CloudWatch agent: install them from AWS's own distribution points (package files, never a
# piped script). A failure here leaves no cfn-signal, so the creation policy times out and the deploy fails.
set -uo pipefail
exec > >(tee -a /var/log/cpaas-bootstrap.log) 2>&1
export DEBIAN_FRONTEND=noninteractive
TOKEN=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
REGION=$(curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/placement/region)
cpaas_preamble() {
  apt-get update -q &&
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    ca-certificates curl jq awscli python3-venv logrotate &&
  python3 -m venv /opt/aws/cfn-bootstrap &&
  /opt/aws/cfn-bootstrap/bin/pip install -q https://s3.amazonaws.com/cloudformation-examples/aws-cfn-bootstrap-py3-latest.tar.gz &&
  mkdir -p /opt/aws/bin && ln -sf /opt/aws/cfn-bootstrap/bin/cfn-* /opt/aws/bin/ &&
  curl -fsSLo /tmp/amazon-ssm-agent.deb "https://s3.${REGION}.amazonaws.com/amazon-ssm-${REGION}/latest/debian_amd64/amazon-ssm-agent.deb" &&
  curl -fsSLo /tmp/amazon-cloudwatch-agent.deb "https://amazoncloudwatch-agent-${REGION}.s3.${REGION}.amazonaws.com/debian/amd64/latest/amazon-cloudwatch-agent.deb" &&
  dpkg -i /tmp/amazon-ssm-agent.deb /tmp/amazon-cloudwatch-agent.deb &&
  systemctl enable --now amazon-ssm-agent
}
cpaas_preamble || echo "cpaas: bootstrap preamble failed" >&2
