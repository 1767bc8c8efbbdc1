import { Template, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CACHE_PORT } from '../../lib/ports.js';
import { DataStack } from '../../lib/stacks/data-stack.js';
import { nagErrors, testApp, testConfig } from './support.js';

let stack: DataStack;
let t: Template;
beforeAll(() => {
  stack = new DataStack(testApp(), 'Data', { config: testConfig() });
  t = Template.fromStack(stack);
});

describe('DataStack', () => {
  it('has one on-demand table with PITR, TTL on expiresAt and gsi1, retained', () => {
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    t.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1', Projection: { ProjectionType: 'ALL' } })],
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
      }),
    });
  });

  it('keeps recordings encrypted, versioned, private, logged, with a lifecycle', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'recordings/' }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] })] },
    });
  });

  // aws-wiring: browsers PUT client-side room recordings to presigned URLs
  it('lets CloudFront-served pages PUT presigned client recordings (CORS: PUT + content-type only)', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: { CorsRules: [{ AllowedMethods: ['PUT'], AllowedOrigins: ['https://*.cloudfront.net'], AllowedHeaders: ['content-type'], MaxAge: 3000 }] },
    });
  });

  it('denies non-TLS access to the buckets', () => {
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('generates four retained secrets', () => {
    expect(Object.values(t.findResources('AWS::SecretsManager::Secret')).filter((r) => r.DeletionPolicy === 'Retain')).toHaveLength(4);
  });

  it('creates the SES identity and configuration set', () => {
    t.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'ops@example.com' });
    t.resourceCountIs('AWS::SES::ConfigurationSet', 1);
  });

  it('runs Valkey multi-AZ with TLS and encryption at rest on a non-default port, no open ingress', () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey', MultiAZEnabled: true, AutomaticFailoverEnabled: true, NumCacheClusters: 2,
      TransitEncryptionEnabled: true, AtRestEncryptionEnabled: true, Port: CACHE_PORT,
    });
    expect(JSON.stringify(t.findResources('AWS::EC2::SecurityGroup'))).not.toContain('0.0.0.0/0');
  });

  it('spans 2 AZs with flow logs and S3/DynamoDB gateway endpoints', () => {
    t.resourceCountIs('AWS::EC2::Subnet', 4);
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
  });

  it('has no unacknowledged cdk-nag findings', () => {
    expect(nagErrors(stack)).toEqual([]);
  });
});
