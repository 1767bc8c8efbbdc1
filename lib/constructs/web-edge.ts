import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { REPO_ROOT } from './node-service-host.js';
import { ORIGIN_VERIFY_HEADER } from './signalling-service.js';

/** Paths CloudFront forwards to the ALB (signalling); everything else comes from S3. */
export const API_PATHS = ['/v1/*', '/docs', '/docs/*', '/openapi.json', '/socket.io/*', '/healthz'] as const;

/** Sources of the built SDK (`/sdk/*`) and the demo pages (`/demo/*`). */
export interface WebSources {
  readonly sdk: s3deploy.ISource;
  readonly demo: s3deploy.ISource;
}

/** The real builds; tests inject their own sources instead. Fails synth if the SDK was not built. */
export function defaultWebSources(): WebSources {
  const sdkDist = path.join(REPO_ROOT, 'assets/sdk/dist');
  const demo = path.join(REPO_ROOT, 'assets/demo');
  if (!fs.existsSync(sdkDist)) throw new Error('Web assets: assets/sdk/dist does not exist: run `npm run build:sdk` before synth/deploy.');
  if (!fs.existsSync(demo)) throw new Error('Web assets: assets/demo does not exist.');
  return { sdk: s3deploy.Source.asset(sdkDist), demo: s3deploy.Source.asset(demo) };
}

export interface WebEdgeProps {
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly originVerifySecret: secretsmanager.ISecret;
  readonly domainName?: string;
  readonly certificateArn?: string;
  readonly accessLogsBucket: s3.IBucket;
}

/**
 * CloudFront in front of everything: S3 (Origin Access Control) for the SDK, demo and config.json; the ALB for
 * the API and socket.io (no caching, all headers/cookies/query strings, WebSockets, secret origin header).
 */
export class WebEdge extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  /** `https://<cloudfront or custom domain>` */
  public readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: WebEdgeProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Site', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'site/',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const s3Origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket);
    const apiOrigin = new origins.LoadBalancerV2Origin(props.loadBalancer, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerifySecret.secretValue.unsafeUnwrap() },
      readTimeout: Duration.seconds(60),
      keepaliveTimeout: Duration.seconds(60),
    });
    // The ALB sees its own Host; the API needs the public one (invite links, redirects): copy the viewer's Host into
    // a header the origin trusts (only CloudFront reaches it, through the secret header; the function overwrites
    // any value a client sends).
    const publicHost = new cloudfront.Function(this, 'PublicHost', {
      comment: 'Forward the viewer Host to the API as x-cpaas-public-host',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromInline(
        "function handler(event) { var r = event.request; r.headers['x-cpaas-public-host'] = { value: r.headers.host ? r.headers.host.value : '' }; return r; }",
      ),
    });
    const api: cloudfront.BehaviorOptions = {
      origin: apiOrigin,
      functionAssociations: [{ function: publicHost, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: false,
    };
    const site: cloudfront.BehaviorOptions = {
      origin: s3Origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
    };
    const custom = props.domainName && props.certificateArn;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'CPaaS: SDK, demo, REST API and socket.io',
      defaultBehavior: site,
      additionalBehaviors: {
        '/sdk/*': site,
        '/demo/*': site,
        ...Object.fromEntries(API_PATHS.map((p) => [p, api])),
      },
      defaultRootObject: 'demo/index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: props.accessLogsBucket,
      logFilePrefix: 'cloudfront/',
      ...(custom
        ? { minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021, domainNames: [props.domainName!], certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn!) }
        : {}),
    });
    this.baseUrl = `https://${custom ? props.domainName : this.distribution.distributionDomainName}`;
    Validations.of(this.distribution).acknowledge({ id: 'AwsSolutions-CFR1', reason: 'A communications platform serves callers worldwide; no geo restriction.' });
    Validations.of(this.distribution).acknowledge({ id: 'AwsSolutions-CFR2', reason: 'WAF is optional and billed per request; the API rate-limits per tenant. Attach a web ACL if required.' });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR5',
      reason: 'CloudFront → ALB is HTTP inside AWS because the ALB has no certificate without a custom domain; the origin is protected by the secret header (and the prefix list when set).',
    });
    if (!custom) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason: 'Without cpaas:domainName the default *.cloudfront.net certificate is used, whose TLS policy cannot be chosen.',
      });
    }
  }

  /**
   * Deploys the SDK and the demo with its runtime `config.json` (read by the pages as `/demo/config.json`, next to
   * them; in the demo's own deployment so that pruning never removes it) and invalidates CloudFront.
   */
  deployAssets(sources: WebSources, config: Record<string, unknown>): s3deploy.BucketDeployment[] {
    const deploy = (id: string, source: s3deploy.ISource | s3deploy.ISource[], prefix?: string, invalidate = false) => {
      const d = new s3deploy.BucketDeployment(this, id, {
        destinationBucket: this.bucket,
        sources: Array.isArray(source) ? source : [source],
        ...(prefix ? { destinationKeyPrefix: prefix } : {}),
        prune: prefix !== undefined,
        memoryLimit: 512,
        ...(invalidate ? { distribution: this.distribution, distributionPaths: ['/*'] } : {}),
      });
      return d;
    };
    const sdk = deploy('Sdk', sources.sdk, 'sdk/');
    const demo = deploy('Demo', [sources.demo, s3deploy.Source.jsonData('config.json', config)], 'demo/', true);
    demo.node.addDependency(sdk);
    // All BucketDeployments share one stack-level singleton handler: acknowledge on it.
    const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const scope of handler ? [this, handler] : [this]) this.acknowledgeHandler(scope);
    return [sdk, demo];
  }

  private acknowledgeHandler(scope: Construct): void {
    const handler = 'CDK BucketDeployment handler (aws-cdk-lib)';
    Validations.of(scope).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: `${handler}: basic execution role for its own logs.`,
    });
    const siteArn = `<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>`;
    for (const f of ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', 'Action::s3:Abort*', 'Action::s3:DeleteObject*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*', `Resource::${siteArn}/*`, 'Resource::*']) {
      Validations.of(scope).acknowledge({
        id: `AwsSolutions-IAM5[${f}]`,
        reason: `${handler}: grants read of the CDK asset bucket and write/prune of the site bucket objects (prune deletes stale files).`,
      });
    }
    Validations.of(scope).acknowledge({ id: 'AwsSolutions-L1', reason: 'Runtime of the BucketDeployment handler is chosen by aws-cdk-lib.' });
  }
}
