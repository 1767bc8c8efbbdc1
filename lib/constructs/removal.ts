import { RemovalPolicy } from 'aws-cdk-lib';

/** Maps the `cpaas:statefulRemovalPolicy` setting to CDK's removal policy. */
export const toRemovalPolicy = (p: 'retain' | 'destroy'): RemovalPolicy =>
  p === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
