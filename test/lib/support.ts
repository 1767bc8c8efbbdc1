import * as fs from 'node:fs';
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { parseDeploymentConfig, type DeploymentConfig } from '../../lib/config/deployment-config.js';

/** The cdk.json context, so feature flags match a real synth. */
export const cdkContext = JSON.parse(fs.readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context as Record<string, unknown>;

/** A test App: cdk.json context, no asset bundling (never runs esbuild), plus any extra context. */
export const testApp = (extra: Record<string, unknown> = {}) =>
  new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [], ...extra } });

export const testConfig = (overrides: Record<string, unknown> = {}): DeploymentConfig =>
  parseDeploymentConfig({ adminEmail: 'ops@example.com', ...overrides });

/** Unacknowledged cdk-nag errors (rule + construct path) for a scope. */
export function nagErrors(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations
    .filter((v) => v.severity === 'error')
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
}
