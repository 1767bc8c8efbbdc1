#!/usr/bin/env node
// CDK app entry: read and validate context, create the stacks, register cdk-nag. Nothing else.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeploymentConfig } from '../lib/config/deployment-config.js';
import { DataStack } from '../lib/stacks/data-stack.js';
import { PlatformStack } from '../lib/stacks/platform-stack.js';

const app = new App();
const config = loadDeploymentConfig(app.node);
// Env-agnostic on purpose: synth needs no credentials; account/region come from the CLI profile at deploy.
const data = new DataStack(app, `${config.prefix}-data`, { config, description: 'CPaaS stateful resources (retained)' });
const platform = new PlatformStack(app, `${config.prefix}-platform`, { config, data, description: 'CPaaS instance tiers, edge and operations' });
platform.addStackDependency(data);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: false }));
app.synth();
