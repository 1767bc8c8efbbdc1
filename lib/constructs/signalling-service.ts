import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierSize } from '../config/deployment-config.js';
import { ALB_HTTP_PORT, CACHE_PORT, SIGNALLING_HTTP_PORT, SIGNALLING_INTERNAL_PORT } from '../ports.js';
import type { SignallingConfig } from '../../runtime/signalling/config.js';
import { NodeServiceHost } from './node-service-host.js';

/** Header CloudFront adds to every origin request; the ALB forwards only requests that carry the secret. */
export const ORIGIN_VERIFY_HEADER = 'x-cpaas-origin-verify';

/** Target of the scaling policy: connected sockets per signalling instance (benchmarked: docs/benchmarks.md). */
export const SOCKETS_PER_INSTANCE_TARGET = 2_000;

export interface SignallingServiceProps {
  readonly vpc: ec2.IVpc;
  readonly size: TierSize;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logRetention: logs.RetentionDays;
  readonly logGroupPrefix: string;
  readonly table: dynamodb.ITableV2;
  readonly recordings: s3.IBucket;
  /** Recordings bucket name as cdk-nag prints it (pseudo parameters as <AWS::…>), for grant acknowledgements. */
  readonly recordingsNagName: string;
  readonly adminKey: secretsmanager.ISecret;
  readonly jwtSigningKey: secretsmanager.ISecret;
  readonly turnSecret: secretsmanager.ISecret;
  /** Value CloudFront sends in {@link ORIGIN_VERIFY_HEADER}. */
  readonly originVerifySecret: secretsmanager.ISecret;
  /** The socket.io adapter's cache. */
  readonly cache: { readonly url: string; readonly securityGroup: ec2.ISecurityGroup };
  readonly mail: { readonly configurationSet: ses.IConfigurationSet; readonly identity?: ses.IEmailIdentity; readonly fromAddress?: string };
  /** ICE server URLs handed to clients. */
  readonly turnUrls: string[];
  /** Public base URL (CloudFront or custom domain). */
  readonly publicUrl?: string;
  /** Private SBC control API, if the SBC tier exists. */
  readonly sbcControlUrl?: string;
  /** CloudFront origin-facing managed prefix list; without it the ALB accepts any source and relies on the header. */
  readonly cloudFrontPrefixListId?: string;
  /** Access logs of the ALB. */
  readonly accessLogsBucket: s3.IBucket;
  readonly notificationsTopic: sns.ITopic;
  /** WebRTC ⇄ SIP gateway secret shared with the SBC (dial requests one way, call events the other). */
  readonly gatewaySecret?: secretsmanager.ISecret;
  /** Internal ALB on which signalling serves `/internal/*` to the SBC (created by the stack, shared by both tiers). */
  readonly internalLoadBalancer?: elbv2.IApplicationLoadBalancer & ec2.IConnectable;
}

/**
 * REST API + socket.io: instances in private subnets behind an internet-facing ALB that only CloudFront may use
 * (secret origin header, optionally the CloudFront prefix list). Scales on CPU and on connected sockets per instance. The SBC reaches `/internal/*` through a private ALB.
 */
export class SignallingService extends Construct {
  public readonly host: NodeServiceHost;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly config: SignallingConfig;

  constructor(scope: Construct, id: string, props: SignallingServiceProps) {
    super(scope, id);
    // The runtime's schema type: a missing or misspelt field is a compile error here.
    this.config = {
      logLevel: props.logLevel,
      http: {
        host: '0.0.0.0',
        port: SIGNALLING_HTTP_PORT,
        ...(props.publicUrl ? { publicUrl: props.publicUrl } : {}),
        trustProxy: true,
        originSecretHeader: { name: ORIGIN_VERIFY_HEADER, secret: { arn: props.originVerifySecret.secretArn } },
      },
      aws: { region: Stack.of(this).region, endpoints: {} },
      tableName: props.table.tableName,
      secrets: {
        adminKey: { arn: props.adminKey.secretArn },
        jwtSigningKey: { arn: props.jwtSigningKey.secretArn },
        turnSecret: { arn: props.turnSecret.secretArn },
      },
      turn: { urls: props.turnUrls, ttlMinutes: 60 },
      tokens: { issuer: 'cpaas', defaultTtlSeconds: 3600, maxTtlSeconds: 86400 },
      mail: {
        from: props.mail.fromAddress ?? 'no-reply@cpaas.invalid',
        configurationSet: props.mail.configurationSet.configurationSetName,
      },
      redisUrl: props.cache.url,
      limits: {
        restRequestsPerMinutePerTenant: 6000,
        socketEventsPerSecond: 50,
        socketEventBurst: 100,
        maxSocketPayloadBytes: 65536,
        maxChatMessageLength: 4000,
        maxRoomParticipants: 50,
        reconnectGraceSeconds: 15,
      },
      ...(props.sbcControlUrl ? { sbcControlUrl: props.sbcControlUrl } : {}),
      ...(props.gatewaySecret ? { gateway: { secret: { arn: props.gatewaySecret.secretArn }, requestTimeoutMs: 5_000 } } : {}),
      emfIntervalSeconds: 60,
      // aws-wiring: the real bucket (the runtime default `cpaas-recordings` is npm start's s3rver bucket); recordings,
      // voicemail messages/greetings and the media library live in it by prefix.
      recordings: { bucket: props.recordings.bucketName, urlExpirySeconds: 300, maxUrlExpirySeconds: 3_600 },
    };

    this.host = new NodeServiceHost(this, 'Host', {
      vpc: props.vpc,
      tier: 'signalling',
      size: props.size,
      subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
      logRetention: props.logRetention,
      logGroupPrefix: props.logGroupPrefix,
      service: { name: 'signalling', entry: 'runtime/signalling/main.ts', config: this.config },
      // Stateless tier: a config change rolls the instances (clients reconnect and resume).
      configChangeReplacesInstances: true,
      stopTimeout: Duration.seconds(30),
      notificationsTopic: props.notificationsTopic,
    });
    const role = this.host.role;
    props.table.grantReadWriteData(role);
    props.recordings.grantRead(role);
    props.recordings.grantDelete(role);
    this.host.acknowledgeGrantWildcards([`Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${props.table.tableName}/index/*`], 'table.grantReadWriteData: queries on the table indexes (gsi1).');
    this.host.acknowledgeGrantWildcards(
      ['Action::s3:DeleteObject*', `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/*`],
      'recordings.grantRead/grantDelete: presigned downloads and deletion of any recording object key.',
    );
    // --- aws-wiring: REST writes by prefix: media library uploads (media/), voicemail greetings (voicemail/), presigned
    // client-side room recording PUTs (recordings/<tenant>/client/…; the URL is signed with this role). ---
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RecordingsBucketRestWrites',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [`${props.recordings.bucketArn}/media/*`, `${props.recordings.bucketArn}/voicemail/*`, `${props.recordings.bucketArn}/recordings/*`],
    }));
    this.host.acknowledgeGrantWildcards(
      [`Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/media/*`, `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/voicemail/*`, `Resource::arn:<AWS::Partition>:s3:::${props.recordingsNagName}/recordings/*`],
      'REST uploads by prefix (media library, voicemail greetings, presigned client recordings); keys embed tenant and ids created at run time.',
    );
    // --- end aws-wiring ---
    for (const s of [props.adminKey, props.jwtSigningKey, props.turnSecret, props.originVerifySecret, props.gatewaySecret]) s?.grantRead(role);
    if (props.mail.identity) {
      props.mail.identity.grantSendEmail(role);
      // aws-wiring: SendEmail with ConfigurationSetName is also authorized against the configuration set.
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [Stack.of(this).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.mail.configurationSet.configurationSetName })],
      }));
    }
    // Created here (platform stack), not on the cache's group (data stack): avoids a cross-stack cycle.
    new ec2.CfnSecurityGroupIngress(this, 'CacheIngress', {
      groupId: props.cache.securityGroup.securityGroupId,
      sourceSecurityGroupId: this.host.securityGroup.securityGroupId,
      ipProtocol: 'tcp',
      fromPort: CACHE_PORT,
      toPort: CACHE_PORT,
      description: 'socket.io adapter (Valkey) from signalling',
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      dropInvalidHeaderFields: true,
      idleTimeout: Duration.seconds(120),
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason: 'ELB access logging needs a fixed region (regional ELB account) and the stacks are env-agnostic; every request is logged by CloudFront standard logging in front of this ALB.',
    });
    const listener = this.loadBalancer.addListener('Http', {
      port: ALB_HTTP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'forbidden' }),
    });
    if (props.cloudFrontPrefixListId) {
      this.loadBalancer.connections.allowFrom(
        ec2.Peer.prefixList(props.cloudFrontPrefixListId),
        ec2.Port.tcp(ALB_HTTP_PORT),
        'HTTP from CloudFront origin-facing servers only',
      );
    } else {
      this.loadBalancer.connections.allowFrom(ec2.Peer.anyIpv4(), ec2.Port.tcp(ALB_HTTP_PORT), 'HTTP from CloudFront (origin verified by secret header)');
      Validations.of(this.loadBalancer).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'CloudFront reaches the ALB from its public ranges; without cpaas:cloudFrontPrefixListId the listener forwards only ' +
          'requests carrying the secret origin header and answers 403 otherwise.',
      });
    }
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      port: SIGNALLING_HTTP_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.host.autoScalingGroup],
      deregistrationDelay: Duration.seconds(30),
      stickinessCookieDuration: Duration.hours(1),
      healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
    });
    listener.addTargetGroups('Signalling', {
      priority: 10,
      conditions: [elbv2.ListenerCondition.httpHeader(ORIGIN_VERIFY_HEADER, [props.originVerifySecret.secretValue.unsafeUnwrap()])],
      targetGroups: [this.targetGroup],
    });
    this.host.connections.allowFrom(this.loadBalancer, ec2.Port.tcp(SIGNALLING_HTTP_PORT), 'HTTP from the ALB');

    if (props.internalLoadBalancer) {
      // Private path for the SBC: only /internal/* (authenticated by the gateway secret), never the public API.
      const internal = props.internalLoadBalancer;
      const internalListener = new elbv2.ApplicationListener(this, 'InternalListener', {
        loadBalancer: internal,
        port: SIGNALLING_INTERNAL_PORT,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'not found' }),
      });
      const internalTargets = new elbv2.ApplicationTargetGroup(this, 'InternalTargets', {
        vpc: props.vpc,
        port: SIGNALLING_HTTP_PORT,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targets: [this.host.autoScalingGroup],
        deregistrationDelay: Duration.seconds(30),
        healthCheck: { path: '/healthz', healthyHttpCodes: '200', interval: Duration.seconds(15) },
      });
      internalListener.addTargetGroups('Internal', { priority: 10, conditions: [elbv2.ListenerCondition.pathPatterns(['/internal/*'])], targetGroups: [internalTargets] });
      this.host.connections.allowFrom(internal, ec2.Port.tcp(SIGNALLING_HTTP_PORT), 'HTTP from the internal ALB (SBC → signalling)');
    }

    this.host.autoScalingGroup.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    // The load that matters for a signalling node is its connected sockets (EMF metric emitted by the process every
    // minute, one datapoint per instance: the Average is sockets per instance). Request-count scaling is not used:
    // it cannot be combined with the second (internal) target group.
    this.host.autoScalingGroup.scaleToTrackMetric('Sockets', {
      metric: new cloudwatch.Metric({ namespace: 'CPaaS', metricName: 'cpaas_sockets_connected', dimensionsMap: { service: 'signalling' }, statistic: 'Average', period: Duration.minutes(1) }),
      targetValue: SOCKETS_PER_INSTANCE_TARGET,
    });
  }
}
