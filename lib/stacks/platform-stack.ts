import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config.js';
import { MediaNode } from '../constructs/media-node.js';
import { Operations } from '../constructs/operations.js';
import { SignallingService } from '../constructs/signalling-service.js';
import { SipBorderController } from '../constructs/sip-border-controller.js';
import { TurnServer } from '../constructs/turn-server.js';
import { defaultWebSources, WebEdge, type WebSources } from '../constructs/web-edge.js';
import { SIGNALLING_INTERNAL_PORT, SIP_PORT, SIP_TLS_PORT } from '../ports.js';
import { dataNames, type DataStack } from './data-stack.js';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';

export interface PlatformStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly data: DataStack;
  /** SDK and demo sources. @default the real builds (assets/sdk/dist, assets/demo) */
  readonly webSources?: WebSources;
}

/** Everything replaceable: the four instance tiers, the ALB, CloudFront, dashboards and alarms. Wiring only. */
export class PlatformStack extends Stack {
  public readonly signalling: SignallingService;
  public readonly sbc: SipBorderController;
  public readonly media: MediaNode;
  public readonly turn: TurnServer;
  public readonly edge: WebEdge;
  public readonly operations: Operations;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const vpc = data.network.vpc;
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const logGroupPrefix = `/${config.prefix}`;
    const drainTimeout = Duration.minutes(config.drainMinutes);
    const names = dataNames(config.prefix);
    const table = dynamodb.TableV2.fromTableAttributes(this, 'Table', { tableName: names.tableName, grantIndexPermissions: true });
    const recordings = s3.Bucket.fromBucketName(this, 'Recordings', names.recordingsBucketName);
    const recordingsNagName = names.recordingsBucketNagName;

    this.operations = new Operations(this, 'Operations', { prefix: config.prefix, ...(config.adminEmail ? { alarmEmail: config.adminEmail } : {}) });
    const topic = this.operations.topic;

    const logs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // CloudFront standard logging writes with ACLs.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(logs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket (ALB, NLB, CloudFront, site bucket); logging it would recurse.' });

    const originVerify = new secretsmanager.Secret(this, 'OriginVerify', {
      description: 'Header value CloudFront sends to the ALB; requests without it get 403',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    Validations.of(originVerify).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Rotating needs CloudFront and the ALB rule updated together: redeploy after changing the value.' });

    // WebRTC ⇄ SIP gateway: one secret for both directions, and a private load balancer in front of signalling
    // for the SBC's call events (the public ALB only serves CloudFront).
    const gatewaySecret = new secretsmanager.Secret(this, 'GatewaySecret', {
      description: 'Shared by signalling and the SBC for the WebRTC ⇄ SIP gateway (x-cpaas-gateway-secret)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(gatewaySecret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Both tiers read it at start: rotate by updating the value and rolling signalling and the SBCs.' });
    const internalApi = new elbv2.ApplicationLoadBalancer(this, 'InternalApi', {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      dropInvalidHeaderFields: true,
    });
    Validations.of(internalApi).acknowledge({ id: 'AwsSolutions-ELB2', reason: 'Private SBC → signalling events only; access logging needs a fixed region and the stacks are env-agnostic.' });
    const signallingInternalUrl = `http://${internalApi.loadBalancerDnsName}:${SIGNALLING_INTERNAL_PORT}`;

    this.turn = new TurnServer(this, 'Turn', {
      vpc, size: config.tiers.turn, logRetention, logGroupPrefix, turnSecret: data.secrets.turnSecret,
      realm: config.domainName ?? 'cpaas', elasticIps: config.tiers.turn.maxCapacity, notificationsTopic: topic,
    });
    this.media = new MediaNode(this, 'Media', {
      vpc, size: config.tiers.media, logLevel: config.logLevel, logRetention, logGroupPrefix,
      table, recordings, recordingsNagName, drainTimeout, notificationsTopic: topic,
      playSourcesSecret: gatewaySecret, // media-services: the agent's play-source endpoint (docs/recordings.md § Playback on AWS)
    });
    this.sbc = new SipBorderController(this, 'Sbc', {
      vpc, size: config.tiers.sbc, logLevel: config.logLevel, logRetention, logGroupPrefix,
      table, recordings, recordingsNagName, drachtioSecret: data.secrets.drachtioSecret,
      drachtioImage: config.drachtioImage, sipAllowedCidrs: config.sipAllowedCidrs, elasticIps: config.sbcElasticIps,
      drainTimeout, accessLogsBucket: logs, notificationsTopic: topic,
      gateway: { secret: gatewaySecret, signallingUrl: signallingInternalUrl },
      mail: data.mail, // voicemail notification mail
    });
    this.media.allowControlFrom(this.sbc);
    this.sbc.allowVoiceRtpFrom(this.media);
    // /internal/* on the internal ALB: gateway events and voicemail:new (/internal/voicemail/events).
    internalApi.connections.allowFrom(this.sbc, ec2.Port.tcp(SIGNALLING_INTERNAL_PORT), 'SBC → signalling gateway events');

    this.signalling = new SignallingService(this, 'Signalling', {
      vpc, size: config.tiers.signalling, logLevel: config.logLevel, logRetention, logGroupPrefix,
      table, recordings, recordingsNagName,
      adminKey: data.secrets.adminKey, jwtSigningKey: data.secrets.jwtSigningKey, turnSecret: data.secrets.turnSecret,
      originVerifySecret: originVerify, cache: data.cache, mail: data.mail,
      turnUrls: this.turn.urls,
      // Without a custom domain the runtime derives its public URL from forwarded headers (trustProxy): the
      // CloudFront name cannot be rendered here, the cfn-init fingerprint is computed before the distribution exists.
      ...(config.domainName ? { publicUrl: `https://${config.domainName}` } : {}),
      sbcControlUrl: this.sbc.controlUrl,
      gatewaySecret,
      internalLoadBalancer: internalApi,
      ...(config.cloudFrontPrefixListId ? { cloudFrontPrefixListId: config.cloudFrontPrefixListId } : {}),
      accessLogsBucket: logs, notificationsTopic: topic,
    });
    this.sbc.allowControlFrom(this.signalling.host);

    this.edge = new WebEdge(this, 'Edge', {
      loadBalancer: this.signalling.loadBalancer, originVerifySecret: originVerify, accessLogsBucket: logs,
      ...(config.domainName && config.certificateArn ? { domainName: config.domainName, certificateArn: config.certificateArn } : {}),
    });
    const baseUrl = this.edge.baseUrl;
    this.edge.deployAssets(props.webSources ?? defaultWebSources(), {
      // Read by the demo pages (assets/demo/common.js) and by SDK users who want the deployment's URLs.
      apiBaseUrl: baseUrl,
      socketUrl: baseUrl,
      sdkUrl: `${baseUrl}/sdk/`,
    });

    const ops = this.operations;
    const sigDash = ops.monitorTier({ tier: 'signalling', autoScalingGroup: this.signalling.host.autoScalingGroup, ...ops.signallingExtras(this.signalling.loadBalancer, this.signalling.targetGroup) });
    ops.monitorTier({ tier: 'sbc', autoScalingGroup: this.sbc.host.autoScalingGroup, ...ops.sbcExtras() });
    ops.monitorTier({
      tier: 'media', autoScalingGroup: this.media.host.autoScalingGroup,
      widgets: [new cloudwatch.GraphWidget({ title: 'rtpengine media streams per node', left: [this.media.streamsMetric], width: 24 })],
    });
    ops.monitorTier({ tier: 'turn', autoScalingGroup: this.turn.host.autoScalingGroup });

    new CfnOutput(this, 'BaseUrl', { value: baseUrl, description: 'HTTPS base URL (REST API under /v1)' });
    new CfnOutput(this, 'SdkUrl', { value: `${baseUrl}/sdk/`, description: 'Browser SDK' });
    new CfnOutput(this, 'DemoUrl', { value: `${baseUrl}/demo/`, description: 'Demo pages' });
    new CfnOutput(this, 'SocketUrl', { value: baseUrl.replace(/^https/, 'wss') + '/socket.io/', description: 'socket.io endpoint (WSS)' });
    new CfnOutput(this, 'CloudFrontDomain', { value: this.edge.distribution.distributionDomainName, description: 'CNAME target for a custom domain' });
    new CfnOutput(this, 'AdminKeySecretArn', { value: data.secrets.adminKey.secretArn, description: 'Secrets Manager ARN of the admin API key' });
    new CfnOutput(this, 'SbcElasticIps', { value: this.sbc.elasticIps.publicIps.join(','), description: 'Public SIP addresses (give these to carriers)' });
    new CfnOutput(this, 'SipUris', {
      value: this.sbc.elasticIps.publicIps.map((ip) => `sip:${ip}:${SIP_PORT};transport=udp sips:${ip}:${SIP_TLS_PORT}`).join(' '),
      description: 'SIP URIs of the SBCs',
    });
    new CfnOutput(this, 'TurnUrls', { value: this.turn.urls.join(' '), description: 'STUN/TURN URLs handed to clients' });
    new CfnOutput(this, 'DashboardUrl', { value: Operations.dashboardUrl(sigDash), description: 'CloudWatch dashboard (signalling; sbc/media/turn beside it)' });
    new CfnOutput(this, 'AlarmTopicArn', { value: topic.topicArn });
  }
}
