import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface RecordingsBucketProps {
  /** Physical name (globally unique; IAM acknowledgements refer to it). */
  readonly bucketName: string;
  /** Days before objects move to Glacier Instant Retrieval. @default 30 */
  readonly transitionAfterDays?: number;
  /** Days before objects are deleted; 0 keeps them. @default 0 */
  readonly expireAfterDays?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Origins whose pages PUT client-side room recordings to presigned URLs (docs/recordings.md § Client-side
   * recording). @default CloudFront distributions (`https://*.cloudfront.net`)
   */
  readonly uploadOrigins?: readonly string[];
}

/**
 * Recordings and exports: SSE-S3, versioned, TLS-only, public access blocked, lifecycle to cheaper storage,
 * server access logs to a sibling bucket.
 */
export class RecordingsBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: RecordingsBucketProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the server-access-log destination of the recordings bucket; logging it would recurse.',
    });
    const expire = props.expireAfterDays ?? 0;
    this.bucket = new s3.Bucket(this, 'Resource', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'recordings/',
      removalPolicy,
      // Browsers PUT presigned client recordings (the URL authorizes; CORS only lets the page read the answer).
      cors: [{ allowedMethods: [s3.HttpMethods.PUT], allowedOrigins: [...(props.uploadOrigins ?? ['https://*.cloudfront.net'])], allowedHeaders: ['content-type'], maxAge: 3000 }],
      lifecycleRules: [
        {
          id: 'cheaper-storage',
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(props.transitionAfterDays ?? 30) },
          ],
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          ...(expire > 0 ? { expiration: Duration.days(expire) } : {}),
        },
      ],
    });
  }
}
