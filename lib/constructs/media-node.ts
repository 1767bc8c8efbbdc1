import { Stack, Validations, type Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierSize } from '../config/deployment-config.js';
import { RTP_PORT_MAX, RTP_PORT_MIN, RTPENGINE_CLI_PORT, RTPENGINE_HTTP_PORT, RTPENGINE_NG_PORT } from '../ports.js';
import { BOOTSTRAP_DIR, envFile, METRICS_NAMESPACE, NodeServiceHost, renderTemplate } from './node-service-host.js';
import type { MediaAgentConfig } from './runtime-configs.js';

/** rtpengine's kernel forwarding table id (matches the iptables RTPENGINE rule). */
export const RTPENGINE_TABLE = 0;
const SPOOL_DIR = '/var/spool/cpaas/recordings';
/** The media agent's own spool (WAVs and journals until S3 confirms); on the instance's persistent root volume. */
const AGENT_SPOOL_DIR = '/var/spool/cpaas/agent';
/** The agent's play-source files (library cache, tones, fetched URLs) that rtpengine (root) opens for playMedia. */
const PLAY_DIR = '/var/spool/cpaas/play';
/** The media agent's private play-source endpoint (docs/recordings.md § Playback on AWS), reachable only from the SBC tier. */
export const MEDIA_AGENT_PLAY_PORT = 9470;

export interface MediaNodeProps {
  readonly vpc: ec2.IVpc;
  readonly size: TierSize;
  readonly logLevel: MediaAgentConfig['logLevel'];
  readonly logRetention: logs.RetentionDays;
  readonly logGroupPrefix: string;
  readonly table: dynamodb.ITableV2;
  readonly recordings: s3.IBucket;
  /** Recordings bucket name as cdk-nag prints it (pseudo parameters as <AWS::…>), for grant acknowledgements. */
  readonly recordingsNagName: string;
  readonly drainTimeout: Duration;
  readonly notificationsTopic: sns.ITopic;
  /**
   * Shared secret of the agent's play-source endpoint (the gateway secret: the SBC already sends it in
   * x-cpaas-gateway-secret). Without it the endpoint is off and SBCs could not play into calls.
   */
  readonly playSourcesSecret?: secretsmanager.ISecret;
}

/**
 * Media relays: rtpengine from Debian packages with the kernel module (DKMS), public/private interfaces from
 * IMDSv2, the RTP range open to the internet, ng control only from the SBC tier; the media agent beside it.
 * Scales on media streams per node (rtpengine's Prometheus metrics via the CloudWatch agent).
 */
export class MediaNode extends Construct implements ec2.IConnectable {
  public readonly host: NodeServiceHost;
  public readonly connections: ec2.Connections;
  public readonly config: MediaAgentConfig;
  /** Average rtpengine media streams per node. */
  public readonly streamsMetric: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: MediaNodeProps) {
    super(scope, id);
    this.config = {
      logLevel: props.logLevel,
      aws: { region: Stack.of(this).region },
      tableName: props.table.tableName,
      recordingsBucket: props.recordings.bucketName,
      // rtpengine-start.sh binds ng to the instance's private address (not loopback): 'auto' = that address.
      rtpengine: { ngHost: 'auto', ngPort: RTPENGINE_NG_PORT, httpUrl: `http://127.0.0.1:${RTPENGINE_HTTP_PORT}`, spoolDir: SPOOL_DIR },
      heartbeatSeconds: 5,
      // The same pcap pipeline as on one machine (rtpengine --recording-method=pcap; see docs/recordings.md).
      recordings: { dir: SPOOL_DIR, spoolDir: AGENT_SPOOL_DIR, bucket: props.recordings.bucketName },
      // Play sources resolved beside rtpengine (tones, URLs, media library `media/`), advertised in the heartbeat.
      ...(props.playSourcesSecret
        ? { playSources: { port: MEDIA_AGENT_PLAY_PORT, secret: { arn: props.playSourcesSecret.secretArn }, cacheDir: `${PLAY_DIR}/media-cache`, tmpDir: `${PLAY_DIR}/tmp`, maxUrlBytes: 10 * 1024 * 1024, allowPrivateUrls: false } }
        : {}),
    };
    const tierInit: ec2.InitElement[] = [
      ec2.InitFile.fromString(
        '/etc/cpaas/rtpengine.env',
        envFile({
          NG_PORT: RTPENGINE_NG_PORT, CLI_PORT: RTPENGINE_CLI_PORT, HTTP_PORT: RTPENGINE_HTTP_PORT,
          PORT_MIN: RTP_PORT_MIN, PORT_MAX: RTP_PORT_MAX, TABLE: RTPENGINE_TABLE,
          LOG_LEVEL: props.logLevel === 'debug' ? 7 : 6, SPOOL_DIR,
        }),
      ),
      ec2.InitFile.fromFileInline('/usr/local/lib/cpaas/rtpengine-start.sh', `${BOOTSTRAP_DIR}/media/rtpengine-start.sh`, { mode: '000755' }),
      ec2.InitFile.fromFileInline('/etc/systemd/system/rtpengine-cpaas.service', `${BOOTSTRAP_DIR}/media/rtpengine-cpaas.service`),
      // The packaged unit would start with /etc/rtpengine/rtpengine.conf; ours passes everything explicitly.
      ec2.InitCommand.shellCommand('systemctl disable --now rtpengine-daemon.service || true; systemctl daemon-reload', { key: '50-units' }),
      ec2.InitService.enable('rtpengine-cpaas', { serviceManager: ec2.ServiceManager.SYSTEMD }),
    ];
    this.host = new NodeServiceHost(this, 'Host', {
      vpc: props.vpc,
      tier: 'media',
      size: props.size,
      subnetType: ec2.SubnetType.PUBLIC,
      logRetention: props.logRetention,
      logGroupPrefix: props.logGroupPrefix,
      // opus-tools: `opusenc` for the agent's `recordings.format: "ogg"` (runtime/media-agent/recordings/opus.ts)
      packages: ['linux-headers-cloud-amd64', 'rtpengine-daemon', 'rtpengine-kernel-dkms', 'rtpengine-iptables', 'iptables', 'opus-tools'],
      service: {
        name: 'media-agent',
        entry: 'runtime/media-agent/main.ts',
        config: this.config,
        after: ['rtpengine-cpaas.service'],
        // rtpengine (started first) creates both spool directories; ReadWritePaths needs them to exist.
        unitExtra: `ExecStartPre=+/usr/bin/install -d -o cpaas -g cpaas -m 0750 ${PLAY_DIR}\nReadWritePaths=${SPOOL_DIR} ${AGENT_SPOOL_DIR} -${PLAY_DIR}\nSupplementaryGroups=root`,
      },
      tierInit,
      logFiles: ['rtpengine'],
      prometheusConfig: renderTemplate('cloudwatch/prometheus-rtpengine.yaml', { RTPENGINE_HTTP_PORT }),
      configChangeReplacesInstances: false,
      stopTimeout: props.drainTimeout,
      drain: {
        timeout: props.drainTimeout,
        units: ['cpaas-media-agent'],
        activeCallsCommand: `curl -sf http://127.0.0.1:${RTPENGINE_HTTP_PORT}/cli/list%20numsessions | grep -oE "[0-9]+" | head -1`,
      },
      notificationsTopic: props.notificationsTopic,
    });
    this.connections = this.host.connections;
    props.table.grantReadWriteData(this.host.role);
    props.recordings.grantPut(this.host.role);
    // HeadObject before and after an upload (size + checksum) and the start-up sweep of stale multipart uploads
    // (recordings/), and the tenants' media library (media/) for play sources: read by prefix only.
    props.recordings.grantRead(this.host.role, 'recordings/*');
    props.recordings.grantRead(this.host.role, 'media/*');
    props.playSourcesSecret?.grantRead(this.host.role);
    this.host.acknowledgeGrantWildcards([`Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${props.table.tableName}/index/*`], 'table.grantReadWriteData: media-node registry heartbeats via gsi1.');
    this.host.acknowledgeGrantWildcards(
      ['Action::s3:Abort*', `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/*`],
      'recordings.grantPut: multipart uploads (and aborts) of new recording object keys.',
    );
    this.host.acknowledgeGrantWildcards(
      ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*'],
      'recordings.grantRead: HeadObject checks of uploaded recordings and ListMultipartUploads for the stale-upload sweep; GetObject of media-library files (play sources).',
    );
    this.host.acknowledgeGrantWildcards(
      [`Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/recordings/*`, `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/media/*`],
      'recordings.grantRead by prefix: recording objects (recordings/) and media-library files (media/) are keyed per tenant and id.',
    );

    this.connections.allowFrom(ec2.Peer.anyIpv4(), ec2.Port.udpRange(RTP_PORT_MIN, RTP_PORT_MAX), 'RTP/RTCP media from any peer (carriers, phones, browsers)');
    Validations.of(this.host.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'RTP media arrives from arbitrary carrier, phone and browser addresses negotiated in SDP; rtpengine only relays ports it allocated for a call.',
    });

    this.streamsMetric = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'rtpengine_mediastreams',
      dimensionsMap: { job: 'rtpengine' },
      statistic: 'Average',
    });
    this.host.autoScalingGroup.scaleOnMetric('Streams', {
      metric: this.streamsMetric,
      scalingSteps: [
        { upper: 200, change: -1 },
        { lower: 1500, change: +1 },
        { lower: 3000, change: +2 },
      ],
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    });
    this.host.autoScalingGroup.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
  }

  /** Lets the SBC tier drive rtpengine over ng (and reach the agent's play-source endpoint). */
  allowControlFrom(peer: ec2.IConnectable): void {
    this.connections.allowFrom(peer, ec2.Port.udp(RTPENGINE_NG_PORT), 'rtpengine ng control from the SBC');
    // Play sources resolved on this node (docs/recordings.md § Playback on AWS); only when the endpoint is on.
    if (this.config.playSources) this.connections.allowFrom(peer, ec2.Port.tcp(MEDIA_AGENT_PLAY_PORT), 'media agent play-source endpoint from the SBC');
  }
}
