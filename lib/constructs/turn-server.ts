import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TierSize } from '../config/deployment-config.js';
import { TURN_PORT, TURN_RELAY_PORT_MAX, TURN_RELAY_PORT_MIN, TURN_TLS_ALT_PORT, TURN_TLS_PORT } from '../ports.js';
import { ElasticIpPool } from './elastic-ip-pool.js';
import { BOOTSTRAP_DIR, envFile, NodeServiceHost } from './node-service-host.js';

export interface TurnServerProps {
  readonly vpc: ec2.IVpc;
  readonly size: TierSize;
  readonly logRetention: logs.RetentionDays;
  readonly logGroupPrefix: string;
  readonly turnSecret: secretsmanager.ISecret;
  readonly realm: string;
  readonly elasticIps: number;
  readonly notificationsTopic: sns.ITopic;
}

/**
 * coturn from Debian packages with TURN REST auth (shared secret read from Secrets Manager at boot), external IP
 * from the Elastic IP pool, UDP/TCP 3478, TLS 5349 and 443, relay range. Relays to private ranges are denied.
 */
export class TurnServer extends Construct implements ec2.IConnectable {
  public readonly host: NodeServiceHost;
  public readonly elasticIps: ElasticIpPool;
  public readonly connections: ec2.Connections;
  /** ICE server URLs of every pooled address. */
  public readonly urls: string[];

  constructor(scope: Construct, id: string, props: TurnServerProps) {
    super(scope, id);
    this.elasticIps = new ElasticIpPool(this, 'ElasticIps', { size: props.elasticIps, poolName: 'turn' });
    this.urls = this.elasticIps.publicIps.flatMap((ip) => [
      `stun:${ip}:${TURN_PORT}`,
      `turn:${ip}:${TURN_PORT}?transport=udp`,
      `turn:${ip}:${TURN_PORT}?transport=tcp`,
      `turns:${ip}:${TURN_TLS_ALT_PORT}?transport=tcp`,
    ]);
    const tierInit: ec2.InitElement[] = [
      ec2.InitFile.fromString(
        '/etc/cpaas/coturn.env',
        envFile({
          TURN_SECRET_ARN: props.turnSecret.secretArn, REALM: props.realm,
          TURN_PORT, TURN_TLS_PORT, TURN_TLS_ALT_PORT, RELAY_MIN: TURN_RELAY_PORT_MIN, RELAY_MAX: TURN_RELAY_PORT_MAX,
        }),
      ),
      ec2.InitFile.fromFileInline('/usr/local/lib/cpaas/turnserver.conf.tmpl', `${BOOTSTRAP_DIR}/turn/turnserver.conf.tmpl`, { mode: '000644' }),
      ec2.InitFile.fromFileInline('/usr/local/lib/cpaas/coturn-start.sh', `${BOOTSTRAP_DIR}/turn/coturn-start.sh`, { mode: '000755' }),
      ec2.InitFile.fromFileInline('/etc/systemd/system/coturn-cpaas.service', `${BOOTSTRAP_DIR}/turn/coturn-cpaas.service`),
      ec2.InitCommand.shellCommand('systemctl disable --now coturn.service || true; systemctl daemon-reload', { key: '50-units' }),
      ec2.InitService.enable('coturn-cpaas', { serviceManager: ec2.ServiceManager.SYSTEMD }),
    ];
    this.host = new NodeServiceHost(this, 'Host', {
      vpc: props.vpc,
      tier: 'turn',
      size: props.size,
      subnetType: ec2.SubnetType.PUBLIC,
      logRetention: props.logRetention,
      logGroupPrefix: props.logGroupPrefix,
      packages: ['coturn', 'openssl'],
      installNode: false,
      elasticIpPool: this.elasticIps,
      tierInit,
      logFiles: ['coturn'],
      // Allocations are short-lived and clients retry other servers: rolling replacement is fine.
      configChangeReplacesInstances: true,
      notificationsTopic: props.notificationsTopic,
    });
    this.connections = this.host.connections;
    props.turnSecret.grantRead(this.host.role);
    const any = ec2.Peer.anyIpv4();
    this.connections.allowFrom(any, ec2.Port.udp(TURN_PORT), 'STUN/TURN over UDP');
    this.connections.allowFrom(any, ec2.Port.tcp(TURN_PORT), 'STUN/TURN over TCP');
    this.connections.allowFrom(any, ec2.Port.tcp(TURN_TLS_PORT), 'TURN over TLS');
    this.connections.allowFrom(any, ec2.Port.udp(TURN_TLS_PORT), 'TURN over DTLS');
    this.connections.allowFrom(any, ec2.Port.tcp(TURN_TLS_ALT_PORT), 'TURN over TLS on 443 (restrictive firewalls)');
    this.connections.allowFrom(any, ec2.Port.udpRange(TURN_RELAY_PORT_MIN, TURN_RELAY_PORT_MAX), 'TURN relayed media from peers');
    Validations.of(this.host.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'TURN is a public service by design: clients behind NATs connect from anywhere and authenticate with short-lived HMAC credentials.',
    });
    this.host.autoScalingGroup.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
  }
}
