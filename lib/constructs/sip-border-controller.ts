import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ses from 'aws-cdk-lib/aws-ses';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierSize } from '../config/deployment-config.js';
import {
  DRACHTIO_ADMIN_PORT, DRACHTIO_PROMETHEUS_PORT, RTPENGINE_NG_PORT, SBC_CONTROL_PORT, SIP_PORT, SIP_TLS_PORT, SIP_WSS_PORT,
  VOICE_RTP_PORT_MAX, VOICE_RTP_PORT_MIN,
} from '../ports.js';
import { ElasticIpPool } from './elastic-ip-pool.js';
import { BOOTSTRAP_DIR, envFile, NodeServiceHost } from './node-service-host.js';
import type { SbcConfig } from './runtime-configs.js';

export interface SipBorderControllerProps {
  readonly vpc: ec2.IVpc;
  readonly size: TierSize;
  readonly logLevel: SbcConfig['logLevel'];
  readonly logRetention: logs.RetentionDays;
  readonly logGroupPrefix: string;
  readonly table: dynamodb.ITableV2;
  readonly recordings: s3.IBucket;
  /** Recordings bucket name as cdk-nag prints it (pseudo parameters as <AWS::…>), for grant acknowledgements. */
  readonly recordingsNagName: string;
  readonly drachtioSecret: secretsmanager.ISecret;
  /** Pinned drachtio-server image. */
  readonly drachtioImage: string;
  /** Sources allowed to SIP (carriers, PBXs, softphones). */
  readonly sipAllowedCidrs: readonly string[];
  readonly elasticIps: number;
  readonly drainTimeout: Duration;
  readonly accessLogsBucket: s3.IBucket;
  readonly notificationsTopic: sns.ITopic;
  /** WebRTC ⇄ SIP gateway: shared secret with signalling and signalling's private URL for call events. */
  readonly gateway?: { readonly secret: secretsmanager.ISecret; readonly signallingUrl: string };
  /** SES sender for voicemail notification mails (docs/voicemail.md); without an identity no mail is sent. */
  readonly mail?: { readonly configurationSet: ses.IConfigurationSet; readonly identity?: ses.IEmailIdentity; readonly fromAddress?: string };
}

/** Writable directories of the SBC runtime (voice WAVs until S3 confirms them, greeting and media caches). */
const VOICE_SPOOL_DIR = '/var/spool/cpaas/voice';
const VOICEMAIL_CACHE_DIR = '/var/cache/cpaas/voicemail';
const MEDIA_CACHE_DIR = '/var/cache/cpaas/media';
const PLAY_TMP_DIR = '/var/tmp/cpaas-play';

/**
 * The SIP edge: drachtio-server (official image, host networking) plus the drachtio-srf SBC runtime on each
 * instance, in public subnets with an Elastic IP from a fixed pool. The control API is reachable only through
 * an internal NLB from the signalling tier.
 */
export class SipBorderController extends Construct implements ec2.IConnectable {
  public readonly host: NodeServiceHost;
  public readonly elasticIps: ElasticIpPool;
  public readonly controlLoadBalancer: elbv2.NetworkLoadBalancer;
  public readonly connections: ec2.Connections;
  /** `http://<internal NLB>:8090` for the signalling tier. */
  public readonly controlUrl: string;
  public readonly config: SbcConfig;

  constructor(scope: Construct, id: string, props: SipBorderControllerProps) {
    super(scope, id);
    this.elasticIps = new ElasticIpPool(this, 'ElasticIps', { size: props.elasticIps, poolName: 'sbc' });
    this.config = {
      logLevel: props.logLevel,
      aws: { region: Stack.of(this).region },
      tableName: props.table.tableName,
      recordingsBucket: props.recordings.bucketName,
      drachtio: { host: '127.0.0.1', port: DRACHTIO_ADMIN_PORT, secret: { arn: props.drachtioSecret.secretArn } },
      rtpengine: { ngPort: RTPENGINE_NG_PORT, interfaces: { external: 'public', internal: 'private' } }, // rtpengine-start.sh names
      control: { host: '0.0.0.0', port: SBC_CONTROL_PORT, advertiseUrl: 'auto' /* sbc-cluster: forwarding between SBC instances */ },
      sip: { port: SIP_PORT, tlsPort: SIP_TLS_PORT, wssPort: SIP_WSS_PORT, publicIps: this.elasticIps.publicIps },
      ...(props.gateway
        ? {
            gateway: {
              secret: { arn: props.gateway.secret.secretArn },
              signallingUrl: props.gateway.signallingUrl,
              ringTimeoutSeconds: 30,
              transcode: 'prefer-opus' as const,
              allowExternalSipUris: false,
            },
          }
        : {}),
      voice: { rtpHost: 'auto', rtpMinPort: VOICE_RTP_PORT_MIN, rtpMaxPort: VOICE_RTP_PORT_MAX, hookTimeoutMs: 5_000, allowPrivateHookUrls: false },
      voiceStorage: {
        recordDir: VOICE_SPOOL_DIR,
        uploadRecordings: true,
        voicemail: true,
        greetingCacheDir: VOICEMAIL_CACHE_DIR,
        ...(props.mail?.identity && props.mail.fromAddress
          ? { mail: { from: props.mail.fromAddress, configurationSet: props.mail.configurationSet.configurationSetName } }
          : {}),
      },
      mediaServices: {
        cacheDir: MEDIA_CACHE_DIR, tmpDir: PLAY_TMP_DIR, maxUrlBytes: 10 * 1024 * 1024, allowPrivateUrls: false,
        // rtpengine runs on the media tier: its media agent resolves play sources (x-cpaas-gateway-secret = the gateway secret).
        ...(props.gateway ? { resolveOn: 'media-node' as const } : {}),
      },
    };
    const tierInit: ec2.InitElement[] = [
      ec2.InitFile.fromString(
        '/etc/cpaas/drachtio.env',
        envFile({
          DRACHTIO_IMAGE: props.drachtioImage,
          DRACHTIO_SECRET_ARN: props.drachtioSecret.secretArn,
          LOG_LEVEL: props.logLevel === 'debug' ? 'debug' : 'info',
          SIP_PORT, SIP_TLS_PORT, SIP_WSS_PORT,
          ADMIN_PORT: DRACHTIO_ADMIN_PORT,
          PROMETHEUS_PORT: DRACHTIO_PROMETHEUS_PORT,
          VPC_CIDR: props.vpc.vpcCidrBlock,
        }),
      ),
      ec2.InitFile.fromFileInline('/usr/local/lib/cpaas/drachtio-start.sh', `${BOOTSTRAP_DIR}/sbc/drachtio-start.sh`, { mode: '000755' }),
      ec2.InitFile.fromFileInline('/etc/systemd/system/drachtio.service', `${BOOTSTRAP_DIR}/sbc/drachtio.service`),
      ec2.InitCommand.shellCommand('systemctl daemon-reload', { key: '50-reload' }),
      ec2.InitService.enable('docker', { serviceManager: ec2.ServiceManager.SYSTEMD }),
      ec2.InitService.enable('drachtio', { serviceManager: ec2.ServiceManager.SYSTEMD }),
    ];
    this.host = new NodeServiceHost(this, 'Host', {
      vpc: props.vpc,
      tier: 'sbc',
      size: props.size,
      subnetType: ec2.SubnetType.PUBLIC,
      logRetention: props.logRetention,
      logGroupPrefix: props.logGroupPrefix,
      packages: ['docker.io', 'openssl'],
      service: {
        name: 'sbc', entry: 'runtime/sbc/main.ts', config: this.config, after: ['drachtio.service'],
        // The runtime (user cpaas) writes voice WAVs and caches; '+' runs the mkdir with full privileges.
        unitExtra: `ExecStartPre=+/usr/bin/install -d -o cpaas -g cpaas -m 0750 ${VOICE_SPOOL_DIR} ${VOICEMAIL_CACHE_DIR} ${MEDIA_CACHE_DIR}`,
      },
      elasticIpPool: this.elasticIps,
      tierInit,
      logFiles: ['drachtio'],
      // Calls live on these hosts: config changes go through cfn-hup in place, not an instance roll.
      configChangeReplacesInstances: false,
      stopTimeout: props.drainTimeout,
      drain: {
        timeout: props.drainTimeout,
        units: ['cpaas-sbc'],
        activeCallsCommand: `curl -sf http://127.0.0.1:${SBC_CONTROL_PORT}/v1/status | jq -r .activeCalls`,
      },
      notificationsTopic: props.notificationsTopic,
    });
    this.connections = this.host.connections;
    const role = this.host.role;
    props.table.grantReadWriteData(role);
    props.drachtioSecret.grantRead(role);
    props.gateway?.secret.grantRead(role);
    this.host.acknowledgeGrantWildcards([`Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${props.table.tableName}/index/*`], 'table.grantReadWriteData: media-node registry and call records via gsi1.');
    // Recordings bucket, by prefix (docs/deploy.md § IAM): media library reads (media/), voicemail messages and
    // greetings (voicemail/), `record` verb recordings (recordings/). GetObject also authorizes the HeadObject checks
    // before and after each upload; PutObject covers lib-storage's multipart calls, AbortMultipartUpload its cleanup.
    const bucketArn = props.recordings.bucketArn;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RecordingsBucketRead',
      actions: ['s3:GetObject'],
      resources: [`${bucketArn}/media/*`, `${bucketArn}/voicemail/*`, `${bucketArn}/recordings/*`],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RecordingsBucketWrite',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [`${bucketArn}/voicemail/*`, `${bucketArn}/recordings/*`],
    }));
    // Without ListBucket S3 answers 403 instead of 404 to a HeadObject of a missing key (the pre-upload check and
    // library lookups would fail). Bucket-level and without a prefix condition: HeadObject requests carry no s3:prefix.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'RecordingsBucketList', actions: ['s3:ListBucket'], resources: [bucketArn] }));
    this.host.acknowledgeGrantWildcards(
      [`Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/media/*`, `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/voicemail/*`, `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/recordings/*`],
      'Programmable voice: per-prefix object access (media library, voicemail, record verb recordings); object keys embed tenant and message/recording ids created at run time.',
    );
    if (props.mail?.identity) {
      props.mail.identity.grantSendEmail(role); // voicemail notification mail
      // SendEmail with ConfigurationSetName is also authorized against the configuration set.
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [Stack.of(this).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.mail.configurationSet.configurationSetName })],
      }));
    }

    for (const cidr of props.sipAllowedCidrs) {
      const peer = ec2.Peer.ipv4(cidr);
      this.connections.allowFrom(peer, ec2.Port.udp(SIP_PORT), `SIP over UDP from ${cidr}`);
      this.connections.allowFrom(peer, ec2.Port.tcp(SIP_PORT), `SIP over TCP from ${cidr}`);
      this.connections.allowFrom(peer, ec2.Port.tcp(SIP_TLS_PORT), `SIP over TLS from ${cidr}`);
      this.connections.allowFrom(peer, ec2.Port.tcp(SIP_WSS_PORT), `SIP over secure WebSocket from ${cidr}`);
    }
    if (props.sipAllowedCidrs.includes('0.0.0.0/0')) {
      Validations.of(this.host.securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'Public SIP edge by design (cpaas:sipAllowedCidrs defaults to 0.0.0.0/0 for softphones): the SBC authenticates ' +
          '(digest or carrier source address) and rate-limits every request. Narrow it to carrier CIDRs with -c.',
      });
    }

    this.controlLoadBalancer = new elbv2.NetworkLoadBalancer(this, 'ControlLoadBalancer', {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });
    Validations.of(this.controlLoadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason: 'Internal TCP pass-through for the control API; ELB access logging needs a fixed region (ELB account) and the stacks are env-agnostic. The SBC logs each control request.',
    });
    this.controlLoadBalancer.addListener('Control', { port: SBC_CONTROL_PORT }).addTargets('Sbc', {
      port: SBC_CONTROL_PORT,
      targets: [this.host.autoScalingGroup],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: { protocol: elbv2.Protocol.TCP, interval: Duration.seconds(10) },
    });
    this.host.connections.allowFrom(this.controlLoadBalancer, ec2.Port.tcp(SBC_CONTROL_PORT), 'SBC control API from its internal NLB');
    // --- sbc-cluster: an SBC forwards control requests about its peers' live calls to them (docs/sbc.md) ---
    this.host.securityGroup.addIngressRule(this.host.securityGroup, ec2.Port.tcp(SBC_CONTROL_PORT), 'SBC control API between SBC instances (call-owner forwarding)');
    // --- end sbc-cluster ---
    this.controlUrl = `http://${this.controlLoadBalancer.loadBalancerDnsName}:${SBC_CONTROL_PORT}`;
    this.host.autoScalingGroup.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 50 });
  }

  /**
   * Lets rtpengine on the media tier reach the voice engine's RTP endpoints (private addresses, VPC only): every
   * programmable-voice party is anchored by rtpengine, which relays to the endpoint on this SBC.
   */
  allowVoiceRtpFrom(peer: ec2.IConnectable): void {
    this.connections.allowFrom(peer, ec2.Port.udpRange(VOICE_RTP_PORT_MIN, VOICE_RTP_PORT_MAX), 'Voice RTP endpoints from rtpengine (media tier)');
  }

  /** Lets the signalling tier call the control API. */
  allowControlFrom(peer: ec2.IConnectable): void {
    this.controlLoadBalancer.connections.allowFrom(peer, ec2.Port.tcp(SBC_CONTROL_PORT), 'SBC control API from signalling');
  }
}
