import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';
import { CACHE_PORT } from '../ports.js';

export interface SocketCacheProps {
  readonly vpc: ec2.IVpc;
  /** @default 'cache.t4g.micro' */
  readonly nodeType?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Valkey replication group (primary + replica in two AZs, automatic failover, TLS in transit, encrypted at rest)
 * carrying the socket.io Redis adapter's pub/sub between signalling instances. Reachable only through
 * `connections` (the signalling tier is allowed in by its construct's wiring).
 */
export class SocketCache extends Construct implements ec2.IConnectable {
  public readonly connections: ec2.Connections;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** `rediss://<primary endpoint>:<port>` for the socket.io adapter. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: SocketCacheProps) {
    super(scope, id);
    const securityGroup = (this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Valkey for the socket.io adapter (signalling tier only)',
      allowAllOutbound: false,
    }));
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(CACHE_PORT) });
    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Private subnets of the socket.io cache',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupDescription: 'socket.io adapter pub/sub',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      port: CACHE_PORT,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [securityGroup.securityGroupId],
      autoMinorVersionUpgrade: true,
    });
    this.replicationGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.url = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${CACHE_PORT}`;
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        'Only ephemeral socket.io pub/sub passes through; access is limited to the signalling security group, in private ' +
        'subnets, with TLS in transit. The adapter URL carries no credentials, so AUTH/RBAC is left for a later change.',
    });
  }
}
