import { Aws, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config.js';
import { MailSender } from '../constructs/mail-sender.js';
import { Network } from '../constructs/network.js';
import { PlatformSecrets } from '../constructs/platform-secrets.js';
import { PlatformTable } from '../constructs/platform-table.js';
import { RecordingsBucket } from '../constructs/recordings-bucket.js';
import { toRemovalPolicy } from '../constructs/removal.js';
import { SocketCache } from '../constructs/socket-cache.js';

/**
 * Physical names of the table and recordings bucket. Fixed so the platform stack imports them by name (no
 * cross-stack token inside IAM policies) and each grant's wildcard has a stable cdk-nag id.
 */
export function dataNames(prefix: string) {
  return {
    tableName: `${prefix}-data`,
    recordingsBucketName: `${prefix}-recordings-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
    /** The same bucket name as cdk-nag prints it. */
    recordingsBucketNagName: `${prefix}-recordings-<AWS::AccountId>-<AWS::Region>`,
  };
}

export interface DataStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/**
 * Everything stateful or long-lived: the network, the table, the recordings bucket, secrets, SES and the cache.
 * Retained on delete by default and termination-protected, so `cdk destroy` of the platform never loses data.
 */
export class DataStack extends Stack {
  public readonly network: Network;
  public readonly table: PlatformTable;
  public readonly recordings: RecordingsBucket;
  public readonly secrets: PlatformSecrets;
  public readonly mail: MailSender;
  public readonly cache: SocketCache;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { terminationProtection: props.config.statefulRemovalPolicy === 'retain', ...props });
    const { config } = props;
    const removalPolicy = toRemovalPolicy(config.statefulRemovalPolicy);
    this.network = new Network(this, 'Network', {
      cidr: config.vpcCidr,
      maxAzs: config.maxAzs,
      natGateways: config.natGateways,
      logRetention: config.logRetentionDays as logs.RetentionDays,
    });
    this.table = new PlatformTable(this, 'Table', { tableName: dataNames(config.prefix).tableName, removalPolicy });
    this.recordings = new RecordingsBucket(this, 'Recordings', {
      bucketName: dataNames(config.prefix).recordingsBucketName,
      transitionAfterDays: config.recordingsTransitionDays,
      expireAfterDays: config.recordingsExpirationDays,
      removalPolicy,
      ...(config.domainName ? { uploadOrigins: [`https://${config.domainName}`] } : {}), // aws-wiring: client recording uploads
    });
    this.secrets = new PlatformSecrets(this, 'Secrets', { removalPolicy });
    this.mail = new MailSender(this, 'Mail', { ...(config.adminEmail ? { fromAddress: config.adminEmail } : {}) });
    this.cache = new SocketCache(this, 'Cache', { vpc: this.network.vpc, nodeType: config.cacheNodeType, removalPolicy });
  }
}
