import { Arn, Aws, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { renderTemplate } from './node-service-host.js';

export interface ElasticIpPoolProps {
  /** Number of addresses; at least the group's max capacity. */
  readonly size: number;
  /** Tag value identifying the pool. */
  readonly poolName: string;
}

/**
 * A fixed pool of Elastic IPs. Instances take a free one at boot (`cpaas-eip.service`), so the public SIP/TURN
 * addresses carriers and clients use stay stable across instance replacement.
 */
export class ElasticIpPool extends Construct {
  public readonly addresses: ec2.CfnEIP[];

  constructor(scope: Construct, id: string, props: ElasticIpPoolProps) {
    super(scope, id);
    this.addresses = Array.from({ length: props.size }, (_, i) => {
      const eip = new ec2.CfnEIP(this, `Address${i + 1}`, { domain: 'vpc' });
      Tags.of(eip).add('cpaas:pool', props.poolName);
      return eip;
    });
  }

  /** Public IPs (tokens). */
  get publicIps(): string[] {
    return this.addresses.map((a) => a.attrPublicIp);
  }

  /** Lets instances of `role` associate these addresses with themselves; returns the boot files. */
  bind(role: iam.IRole): ec2.InitElement[] {
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:AssociateAddress'],
        resources: [
          ...this.addresses.map((a) => stack.formatArn({ service: 'ec2', resource: 'elastic-ip', resourceName: a.attrAllocationId })),
          Arn.format({ partition: Aws.PARTITION, service: 'ec2', region: Aws.REGION, account: Aws.ACCOUNT_ID, resource: 'instance', resourceName: '*' }),
          Arn.format({ partition: Aws.PARTITION, service: 'ec2', region: Aws.REGION, account: Aws.ACCOUNT_ID, resource: 'network-interface', resourceName: '*' }),
        ],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeAddresses'], resources: ['*'] }));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]',
      reason: 'ec2:AssociateAddress must name the instance, which does not exist yet; the addresses themselves are listed one by one.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
      reason: 'ec2:AssociateAddress authorizes the instance primary network interface, unknown until launch.',
    });
    return [
      ec2.InitFile.fromString('/etc/cpaas/eip.env', `EIP_ALLOCATION_IDS="${this.addresses.map((a) => a.attrAllocationId).join(' ')}"\n`),
      ec2.InitFile.fromString('/usr/local/lib/cpaas/eip-assign.sh', renderTemplate('common/eip-assign.sh'), { mode: '000755' }),
      ec2.InitFile.fromString('/etc/systemd/system/cpaas-eip.service', renderTemplate('systemd/cpaas-eip.service')),
    ];
  }
}
