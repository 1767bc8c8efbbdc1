import { Template, Match } from 'aws-cdk-lib/assertions';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ALB_HTTP_PORT, DRACHTIO_ADMIN_PORT, RTP_PORT_MAX, RTP_PORT_MIN, RTPENGINE_NG_PORT, SBC_CONTROL_PORT, SIP_PORT, SIP_TLS_PORT,
  SIP_WSS_PORT, TURN_PORT, TURN_TLS_PORT,
  SIGNALLING_INTERNAL_PORT, VOICE_RTP_PORT_MAX, VOICE_RTP_PORT_MIN, // aws-wiring
} from '../../lib/ports.js';
import { DataStack } from '../../lib/stacks/data-stack.js';
import { PlatformStack } from '../../lib/stacks/platform-stack.js';
import { ORIGIN_VERIFY_HEADER } from '../../lib/constructs/signalling-service.js';
import { MEDIA_AGENT_PLAY_PORT } from '../../lib/constructs/media-node.js'; // media-services
import { nagErrors, testApp, testConfig } from './support.js';

let stack: PlatformStack;
let t: Template;
let json: string;
const CARRIER = '203.0.113.0/24';
beforeAll(() => {
  const app = testApp();
  const config = testConfig({ sipAllowedCidrs: [CARRIER] });
  const data = new DataStack(app, 'Data', { config });
  const webSources = { sdk: s3deploy.Source.data('cpaas.js', 'sdk'), demo: s3deploy.Source.data('index.html', 'demo') };
  stack = new PlatformStack(app, 'Platform', { config, data, webSources });
  t = Template.fromStack(stack);
  json = JSON.stringify(t.toJSON());
});

const ingress = () =>
  Object.values(t.findResources('AWS::EC2::SecurityGroup')).flatMap((r) => (r.Properties.SecurityGroupIngress ?? []) as Record<string, unknown>[])
    .concat(Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties as Record<string, unknown>));

describe('instances', () => {
  it('launch templates require IMDSv2, have no key pair, encrypt the root volume and use the Debian 12 SSM parameter', () => {
    const lts = Object.values(t.findResources('AWS::EC2::LaunchTemplate'));
    expect(lts).toHaveLength(4);
    for (const lt of lts) {
      const d = lt.Properties.LaunchTemplateData;
      expect(d.MetadataOptions).toMatchObject({ HttpTokens: 'required', InstanceMetadataTags: 'enabled' });
      expect(d.KeyName).toBeUndefined();
      expect(d.BlockDeviceMappings[0].Ebs).toMatchObject({ Encrypted: true, VolumeType: 'gp3' });
    }
    expect(json).toContain('/aws/service/debian/release/12/latest/amd64');
  });

  it('never opens SSH or the drachtio admin port', () => {
    for (const rule of ingress()) {
      for (const port of [22, DRACHTIO_ADMIN_PORT]) {
        const from = rule.FromPort as number, to = rule.ToPort as number;
        expect(from <= port && port <= to, `rule ${JSON.stringify(rule)} covers ${port}`).toBe(false);
      }
    }
  });

  it('fails the deploy when bootstrap fails (creation policy with resource signals) and rolls with signals', () => {
    const groups = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(groups).toHaveLength(4);
    for (const g of groups) {
      expect(g.CreationPolicy.ResourceSignal.Count).toBeGreaterThanOrEqual(1);
      expect(g.UpdatePolicy.AutoScalingRollingUpdate.WaitOnResourceSignals).toBe(true);
      expect(g.Metadata['AWS::CloudFormation::Init']).toBeDefined();
    }
  });

  it('delivers the signalling bundle, config file and unit through cfn-init, with CPAAS_CONFIG', () => {
    expect(json).toContain('/etc/cpaas/signalling.json');
    expect(json).toContain('/opt/cpaas/signalling');
    expect(json).toContain('CPAAS_CONFIG=/etc/cpaas/signalling.json');
    expect(json).toContain('/etc/systemd/system/cpaas-signalling.service');
    expect(json).not.toMatch(/curl[^"]*\|\s*(sudo\s+)?(ba)?sh/);
    expect(json).not.toContain('git clone');
    expect(json).not.toContain('npm install');
  });

  it('puts secrets into config files as ARNs only', () => {
    const g = Object.entries(t.findResources('AWS::AutoScaling::AutoScalingGroup')).find(([id]) => id.startsWith('Signalling'))!;
    const files = g[1].Metadata['AWS::CloudFormation::Init'].app.files;
    const cfg = JSON.stringify(files['/etc/cpaas/signalling.json'].content);
    expect(cfg).toContain('"adminKey":{"arn"');
    expect(cfg).not.toContain('resolve:secretsmanager');
  });

  it('has lifecycle hooks on the SBC and media groups so scale-in drains calls', () => {
    t.resourceCountIs('AWS::AutoScaling::LifecycleHook', 2);
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', DefaultResult: 'CONTINUE' });
  });

  it('scales signalling on CPU and on connected sockets per instance, media on rtpengine streams', () => {
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ASGAverageCPUUtilization' }) }),
    });
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ CustomizedMetricSpecification: Match.objectLike({ MetricName: 'cpaas_sockets_connected', Namespace: 'CPaaS', Statistic: 'Average' }) }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'rtpengine_mediastreams' });
  });
});

describe('security groups', () => {
  it('opens SIP UDP/TCP 5060, TLS 5061 and WSS only to the allowed CIDRs', () => {
    const sip = ingress().filter((r) => [SIP_PORT, SIP_TLS_PORT, SIP_WSS_PORT].includes(r.FromPort as number));
    expect(sip.length).toBe(4);
    for (const r of sip) {
      expect(r.CidrIp).toBe(CARRIER);
      expect(r.Description).toEqual(expect.any(String));
    }
  });

  it('opens the RTP range and TURN ports to the internet, ng and control only to their peers', () => {
    const rules = ingress();
    expect(rules).toContainEqual(expect.objectContaining({ IpProtocol: 'udp', FromPort: RTP_PORT_MIN, ToPort: RTP_PORT_MAX, CidrIp: '0.0.0.0/0' }));
    expect(rules).toContainEqual(expect.objectContaining({ IpProtocol: 'udp', FromPort: TURN_PORT, CidrIp: '0.0.0.0/0' }));
    expect(rules).toContainEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: TURN_TLS_PORT, CidrIp: '0.0.0.0/0' }));
    const ng = rules.filter((r) => r.FromPort === RTPENGINE_NG_PORT);
    expect(ng).toHaveLength(1);
    expect(ng[0]!.CidrIp).toBeUndefined();
    for (const r of rules.filter((x) => x.FromPort === SBC_CONTROL_PORT)) expect(r.CidrIp).toBeUndefined();
  });

  // --- sbc-cluster: SBC instances forward control requests about each other's live calls (docs/sbc.md) ---
  it('lets SBC instances reach each other\'s control port (security group self-rule)', () => {
    const self = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties as Record<string, unknown>)
      .filter((r) => r.FromPort === SBC_CONTROL_PORT && r.ToPort === SBC_CONTROL_PORT && JSON.stringify(r.GroupId) === JSON.stringify(r.SourceSecurityGroupId));
    expect(self).toHaveLength(1);
    expect(self[0]!.IpProtocol).toBe('tcp');
  });
  // --- end sbc-cluster ---
});

describe('edge', () => {
  it('serves /sdk/* and /demo/* from S3 via OAC and the API paths from the ALB without caching', () => {
    t.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const dist = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0]!.Properties.DistributionConfig;
    const byPath = Object.fromEntries(dist.CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    for (const p of ['/sdk/*', '/demo/*', '/v1/*', '/socket.io/*', '/docs']) expect(byPath[p], p).toBeDefined();
    expect(byPath['/socket.io/*'].CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
    expect(byPath['/v1/*'].AllowedMethods).toContain('POST');
    expect(byPath['/v1/*'].ViewerProtocolPolicy).toBe('https-only');
    const alb = dist.Origins.find((o: { CustomOriginConfig?: unknown }) => o.CustomOriginConfig);
    expect(alb.OriginCustomHeaders[0].HeaderName).toBe(ORIGIN_VERIFY_HEADER);
  });

  it('forwards to signalling only with the origin secret header; default action is 403', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: ALB_HTTP_PORT,
      DefaultActions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) })],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [Match.objectLike({ Field: 'http-header', HttpHeaderConfig: Match.objectLike({ HttpHeaderName: ORIGIN_VERIFY_HEADER }) })],
    });
  });

  it('tells the API its public host through a CloudFront function on the API behaviours', () => {
    t.hasResourceProperties('AWS::CloudFront::Function', { FunctionCode: Match.stringLikeRegexp('x-cpaas-public-host') });
  });

  it('deploys the SDK, and the demo with its config.json under demo/ (where the pages read it)', () => {
    t.resourceCountIs('Custom::CDKBucketDeployment', 2);
    const demo = Object.values(t.findResources('Custom::CDKBucketDeployment', { Properties: { DestinationBucketKeyPrefix: 'demo/' } }));
    expect(demo).toHaveLength(1);
    expect(demo[0]!.Properties.SourceObjectKeys).toHaveLength(2); // the demo files + config.json
    expect(demo[0]!.Properties.DistributionPaths).toEqual(['/*']);
    t.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'sdk/' });
  });
});

describe('operations', () => {
  it('has a dashboard per tier and alarms to an encrypted topic', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 4);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    for (const metric of ['UnHealthyHostCount', 'HTTPCode_Target_5XX_Count', 'CPUUtilization', 'CallsFailed', 'VoiceAppErrors', 'disk_used_percent']) {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric, AlarmActions: Match.anyValue() });
    }
  });

  it('gives every tier a log group with retention', () => {
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup')).filter((g) => String(g.Properties.LogGroupName).startsWith('/cpaas/'));
    expect(groups).toHaveLength(4);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('emits the outputs operators need', () => {
    for (const o of ['BaseUrl', 'SdkUrl', 'SocketUrl', 'AdminKeySecretArn', 'SbcElasticIps', 'SipUris', 'TurnUrls', 'DashboardUrl']) {
      expect(Object.keys(t.findOutputs('*'))).toContain(o);
    }
  });
});

describe('IAM', () => {
  it('uses no action wildcards like svc:*', () => {
    for (const p of Object.values(t.findResources('AWS::IAM::Policy'))) {
      for (const s of p.Properties.PolicyDocument.Statement) {
        for (const a of [s.Action].flat()) expect(String(a)).not.toMatch(/^[a-z0-9-]+:\*$|^\*$/);
      }
    }
  });

  it('has no unacknowledged cdk-nag findings', () => {
    expect(nagErrors(stack)).toEqual([]);
  });
});

describe('WebRTC ⇄ SIP gateway wiring', () => {
  it('puts a private ALB in front of signalling for the SBC, serving only /internal/*', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: Match.arrayWith([Match.objectLike({ Field: 'path-pattern', PathPatternConfig: { Values: ['/internal/*'] } })]),
    });
  });
  it('gives both tiers the gateway secret by ARN and the SBC the private signalling URL', () => {
    const resolved = JSON.stringify(stack.resolve({ sbc: stack.sbc.config.gateway, sig: stack.signalling.config.gateway }));
    expect(resolved).toContain('GatewaySecret');
    expect(resolved).toContain('InternalApi');
    expect(resolved).not.toMatch(/SecretString|secretValue/);
  });
});

// --- aws-wiring: programmable voice on AWS (voicemail, record → recordings, media library, voice RTP, SES) ---
describe('programmable voice wiring', () => {
  const sbcStatements = () =>
    Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('SbcHostRole'))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .map((s) => ({ actions: ([] as string[]).concat(s.Action), resources: ([] as unknown[]).concat(s.Resource).map((x) => JSON.stringify(x)) }));
  const s3Statements = () => sbcStatements().filter((s) => s.actions.some((a) => a.startsWith('s3:')) && s.resources.some((r) => r.includes('-recordings-')));
  const suffix = (r: string) => (/"(\/[^"]*)"\]\]\}$/.exec(r)?.[1] ?? '');

  it('gives the SBC the recordings bucket by prefix only: read media/ voicemail/ recordings/, write voicemail/ recordings/', () => {
    const st = s3Statements();
    const read = st.filter((s) => s.actions.includes('s3:GetObject'));
    expect(read.flatMap((s) => s.resources.map(suffix)).sort()).toEqual(['/media/*', '/recordings/*', '/voicemail/*']);
    const write = st.filter((s) => s.actions.includes('s3:PutObject'));
    expect(write.flatMap((s) => s.actions).sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
    expect(write.flatMap((s) => s.resources.map(suffix)).sort()).toEqual(['/recordings/*', '/voicemail/*']);
    const list = st.filter((s) => s.actions.includes('s3:ListBucket'));
    expect(list).toHaveLength(1);
    expect(list[0]!.actions).toEqual(['s3:ListBucket']);
    expect(list[0]!.resources.map(suffix)).toEqual(['']);
    // nothing on the whole bucket's objects, no delete, no wildcard actions
    for (const s of st) {
      expect(s.resources.map(suffix)).not.toContain('/*');
      expect(s.actions.some((a) => a.includes('*') || a.startsWith('s3:Delete'))).toBe(false);
    }
  });

  it('lets the SBC send voicemail mail through SES (a sender identity exists) and writes the sender into sbc.json', () => {
    const ses = sbcStatements().filter((s) => s.actions.includes('ses:SendEmail'));
    // the identity (grantSendEmail) and the configuration set the runtime names in SendEmail
    expect(ses.some((s) => s.resources.some((r) => r.includes(':configuration-set/')))).toBe(true);
    expect(stack.sbc.config.voiceStorage.mail?.from).toBe('ops@example.com');
  });

  it('opens the voice RTP endpoints only to the media tier (rtpengine), never to the internet', () => {
    const rules = ingress().filter((r) => r.IpProtocol === 'udp' && r.FromPort === VOICE_RTP_PORT_MIN);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ ToPort: VOICE_RTP_PORT_MAX });
    expect(rules[0]!.CidrIp).toBeUndefined();
    expect(JSON.stringify(rules[0]!.SourceSecurityGroupId)).toContain('MediaHostSecurityGroup');
    expect(stack.sbc.config.voice).toMatchObject({ rtpHost: 'auto', rtpMinPort: VOICE_RTP_PORT_MIN, rtpMaxPort: VOICE_RTP_PORT_MAX, allowPrivateHookUrls: false });
  });

  it('reaches /internal/voicemail/events through the internal ALB rule (/internal/*) from the SBC', () => {
    const rule = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'))
      .map((r) => r.Properties.Conditions as Array<{ Field: string; PathPatternConfig?: { Values: string[] } }>)
      .flatMap((c) => c.filter((x) => x.Field === 'path-pattern').flatMap((x) => x.PathPatternConfig!.Values));
    const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    expect(rule.some((p) => glob(p).test('/internal/voicemail/events'))).toBe(true);
    expect(ingress()).toContainEqual(expect.objectContaining({ IpProtocol: 'tcp', FromPort: SIGNALLING_INTERNAL_PORT, SourceSecurityGroupId: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^SbcHostSecurityGroup/), 'GroupId'] }) }));
  });

  it('creates the SBC runtime writable dirs (voice spool, greeting and media caches) before it starts', () => {
    expect(json).toContain('ExecStartPre=+/usr/bin/install -d -o cpaas -g cpaas -m 0750 /var/spool/cpaas/voice /var/cache/cpaas/voicemail /var/cache/cpaas/media');
    expect(stack.sbc.config.voiceStorage).toMatchObject({ recordDir: '/var/spool/cpaas/voice', greetingCacheDir: '/var/cache/cpaas/voicemail', uploadRecordings: true, voicemail: true });
  });

  it('gives signalling the real recordings bucket and REST writes by prefix only (media library, greetings, client uploads)', () => {
    expect(JSON.stringify(stack.resolve(stack.signalling.config.recordings))).toContain('-recordings-');
    const st = Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('SignallingHostRole'))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((x) => ([] as string[]).concat(x.Action).includes('s3:PutObject'));
    expect(st).toHaveLength(1);
    expect(([] as unknown[]).concat(st[0]!.Resource).map((r) => suffix(JSON.stringify(r))).sort()).toEqual(['/media/*', '/recordings/*', '/voicemail/*']);
  });
});
// --- end aws-wiring ---

// --- media-services: play sources resolved on the media node (docs/recordings.md § Playback on AWS) ---
describe('media agent play-source endpoint', () => {
  const mediaStatements = () =>
    Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('MediaHostRole'))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .map((s) => ({ actions: ([] as string[]).concat(s.Action), resources: ([] as unknown[]).concat(s.Resource).map((x) => JSON.stringify(x)) }));
  const suffix = (r: string) => (/"(\/[^"]*)"\]\]\}$/.exec(r)?.[1] ?? '');

  it('opens the agent port to the SBC tier only, over TCP', () => {
    const rules = ingress().filter((r) => r.FromPort === MEDIA_AGENT_PLAY_PORT);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ IpProtocol: 'tcp', ToPort: MEDIA_AGENT_PLAY_PORT });
    expect(rules[0]!.CidrIp).toBeUndefined();
    expect(JSON.stringify(rules[0]!.SourceSecurityGroupId)).toContain('SbcHostSecurityGroup');
    expect(JSON.stringify(rules[0]!.GroupId)).toContain('MediaHostSecurityGroup');
  });

  it('configures the agent endpoint with the gateway secret and the SBC to resolve on the media node', () => {
    expect(stack.media.config.playSources).toMatchObject({ port: MEDIA_AGENT_PLAY_PORT, allowPrivateUrls: false, cacheDir: '/var/spool/cpaas/play/media-cache', tmpDir: '/var/spool/cpaas/play/tmp' });
    expect(stack.resolve(stack.media.config.playSources!.secret.arn)).toEqual(stack.resolve(stack.sbc.config.gateway!.secret.arn));
    expect(stack.media.config.rtpengine.ngHost).toBe('auto');
    expect(stack.sbc.config.mediaServices.resolveOn).toBe('media-node');
    expect(json).toContain('ExecStartPre=+/usr/bin/install -d -o cpaas -g cpaas -m 0750 /var/spool/cpaas/play');
  });

  it('lets the agent read the recordings bucket by prefix only (recordings/, media/) and the secret', () => {
    const s3 = mediaStatements().filter((s) => s.actions.some((a) => a.startsWith('s3:GetObject')));
    const objects = s3.flatMap((s) => s.resources.filter((r) => r.includes('-recordings-')).map(suffix)).filter(Boolean).sort();
    expect(objects).toEqual(['/media/*', '/recordings/*']); // never the whole bucket's objects
    const secrets = mediaStatements().filter((s) => s.actions.includes('secretsmanager:GetSecretValue'));
    expect(secrets.flatMap((s) => s.resources).some((r) => r.includes('GatewaySecret'))).toBe(true);
  });
});
// --- end media-services ---

// --- consent: the media node installs opus-tools (`opusenc`) for `recordings.format: "ogg"` ---
describe('media node packages', () => {
  it('installs rtpengine and opus-tools through cfn-init', () => {
    const g = Object.entries(t.findResources('AWS::AutoScaling::AutoScalingGroup')).find(([id]) => id.startsWith('Media'))!;
    const cmd = JSON.stringify(g[1].Metadata['AWS::CloudFormation::Init']);
    const install = /apt-get [^"]*install -y -q --no-install-recommends ([^"]*)"/.exec(cmd)?.[1]?.split(' ') ?? [];
    expect(install).toEqual(expect.arrayContaining(['rtpengine-daemon', 'opus-tools']));
  });
});
// --- end consent ---
