import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { TierSize } from '../config/deployment-config.js';
import { DrainHook } from './drain-hook.js';
import type { ElasticIpPool } from './elastic-ip-pool.js';

/** Repository root (this file is lib/constructs/node-service-host.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Bootstrap templates, units and scripts shipped to instances. */
export const BOOTSTRAP_DIR = path.join(REPO_ROOT, 'assets', 'bootstrap');

/** Public SSM parameter of the official Debian 12 (bookworm) amd64 AMI. */
export const DEBIAN_12_AMI_PARAMETER = '/aws/service/debian/release/12/latest/amd64';
/** Namespace of the platform's custom metrics (EMF from the runtimes, CloudWatch agent). */
export const METRICS_NAMESPACE = 'CPaaS';

/** Reads a bootstrap file and replaces `{{KEY}}` placeholders; values may be CDK tokens. */
export function renderTemplate(relativePath: string, values: Record<string, string | number> = {}): string {
  let text = fs.readFileSync(path.join(BOOTSTRAP_DIR, relativePath), 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.split(`{{${key}}}`).join(String(value));
  const left = /\{\{([A-Z_]+)\}\}/.exec(text);
  if (left) throw new Error(`bootstrap template ${relativePath}: no value for {{${left[1]}}}`);
  return text;
}

/** A `KEY=value` environment file for systemd `EnvironmentFile=`; values may be tokens. */
export function envFile(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/** A Node.js service bundled from `runtime/<name>/main.ts` by local esbuild at synth. */
export interface NodeServiceSpec {
  /** Service name: bundle dir `/opt/cpaas/<name>`, unit `cpaas-<name>`, config `/etc/cpaas/<name>.json`. */
  readonly name: string;
  /** Entry file relative to the repository root, e.g. `runtime/signalling/main.ts`. */
  readonly entry: string;
  /** The JSON config the process reads from `CPAAS_CONFIG` (tokens allowed; secrets as ARNs only). */
  readonly config: object;
  /** Units that must be up first (e.g. `drachtio.service`). @default none */
  readonly after?: readonly string[];
  /** Extra `[Service]` lines of the unit. @default none */
  readonly unitExtra?: string;
}

export interface NodeServiceHostProps {
  readonly vpc: ec2.IVpc;
  /** Tier name: log group, tags, instance names. */
  readonly tier: string;
  readonly size: TierSize;
  readonly subnetType: ec2.SubnetType;
  readonly logRetention: logs.RetentionDays;
  /** Log group name prefix, e.g. `/cpaas`. */
  readonly logGroupPrefix: string;
  /** Our Node.js process on this host, if any. */
  readonly service?: NodeServiceSpec;
  /** Debian packages installed by cfn-init (after the NodeSource repo is configured). @default none */
  readonly packages?: readonly string[];
  /** Install Node.js 20 from NodeSource's apt repo. @default true when `service` is set */
  readonly installNode?: boolean;
  /** Tier-specific cfn-init elements (files, commands, services), run after the packages and the bundle. */
  readonly tierInit?: readonly ec2.InitElement[];
  /** Log files under /var/log/cpaas (without `.log`) shipped as streams of the tier's log group. */
  readonly logFiles?: readonly string[];
  /** Prometheus scrape config (YAML) for the CloudWatch agent, if any. */
  readonly prometheusConfig?: string;
  /** Whether changing the cfn-init config replaces instances (rolling update) instead of cfn-hup applying it in place. */
  readonly configChangeReplacesInstances: boolean;
  /** Stop timeout of the service (SIGTERM drain budget). @default 30 seconds */
  readonly stopTimeout?: Duration;
  /** Receives Auto Scaling launch/terminate failures (AS3). */
  readonly notificationsTopic: sns.ITopic;
  /** How long a boot may take before the deploy fails. @default 20 minutes */
  readonly bootTimeout?: Duration;
  /** Elastic IPs the instances take at boot (before the tier's services start). @default none */
  readonly elasticIpPool?: ElasticIpPool;
  /** Scale-in draining (termination lifecycle hook + on-box watcher). @default none */
  readonly drain?: { readonly timeout: Duration; readonly units: readonly string[]; readonly activeCallsCommand: string };
  /** Public IPv4 on the primary interface. @default true in public subnets */
  readonly associatePublicIp?: boolean;
}

/**
 * The only construct that knows cfn-init, systemd, the CloudWatch agent and IMDSv2: an Auto Scaling group of
 * Debian 12 instances (IMDSv2 only, no key pair, SSM instead of SSH, encrypted gp3 root), bootstrapped by
 * cfn-init with a resource signal, so a failed boot fails the deploy.
 */
export class NodeServiceHost extends Construct implements ec2.IConnectable {
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly role: iam.Role;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly connections: ec2.Connections;
  public readonly logGroup: logs.LogGroup;
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The bundle asset of the Node.js service, if any. */
  public readonly bundle?: s3assets.Asset;

  constructor(scope: Construct, id: string, props: NodeServiceHostProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const tier = props.tier;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `${props.logGroupPrefix}/${tier}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `CPaaS ${tier} instances`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'Session Manager replaces SSH: the AWS-maintained core policy is the documented minimum for the SSM agent.',
    });
    this.logGroup.grantWrite(this.role);
    // CloudWatch agent host/Prometheus metrics and runtime EMF: PutMetricData has no resource-level scoping,
    // so limit it to our namespaces with a condition.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': [METRICS_NAMESPACE, 'CWAgent'] } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ec2:DescribeTags', 'ec2:DescribeVolumes'], resources: ['*'] }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData (conditioned to the CPaaS/CWAgent namespaces) and ec2:DescribeTags/DescribeVolumes ' +
        '(CloudWatch agent dimensions) do not support resource-level permissions.',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `CPaaS ${tier} instances`,
      allowAllOutbound: true,
    });
    this.connections = this.securityGroup.connections;

    const userData = ec2.UserData.forLinux();
    userData.addCommands(fs.readFileSync(path.join(BOOTSTRAP_DIR, 'preamble.sh'), 'utf8'));

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: ec2.MachineImage.fromSsmParameter(DEBIAN_12_AMI_PARAMETER, { os: ec2.OperatingSystemType.LINUX }),
      instanceType: new ec2.InstanceType(props.size.instanceType),
      role: this.role,
      securityGroup: this.securityGroup,
      userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 2,
      instanceMetadataTags: true,
      detailedMonitoring: true,
      associatePublicIpAddress: props.associatePublicIp ?? props.subnetType === ec2.SubnetType.PUBLIC,
      blockDevices: [
        {
          deviceName: '/dev/xvda',
          volume: ec2.BlockDeviceVolume.ebs(20, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
        },
      ],
    });

    const elements: ec2.InitElement[] = [];
    if (props.service) {
      this.bundle = bundleService(this, props.service);
      this.bundle.grantRead(this.role);
    }

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: props.subnetType },
      launchTemplate: this.launchTemplate,
      minCapacity: props.size.minCapacity,
      maxCapacity: props.size.maxCapacity,
      ...(props.size.desiredCapacity !== undefined ? { desiredCapacity: props.size.desiredCapacity } : {}),
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(10) }),
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: props.bootTimeout ?? Duration.minutes(20) }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: props.size.minCapacity > 1 ? props.size.minCapacity - 1 : 0,
        waitOnResourceSignals: true,
        pauseTime: props.bootTimeout ?? Duration.minutes(20),
      }),
      notifications: [{ topic: props.notificationsTopic }],
      groupMetrics: [autoscaling.GroupMetrics.all()],
      defaultInstanceWarmup: Duration.minutes(5),
    });
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const groupLogicalId = stack.getLogicalId(cfnGroup);

    // ---- cfn-init: base (agents, logs, cfn-hup), node, bundle, tier ----
    const logFiles = [...(props.service ? [props.service.name] : []), ...(props.logFiles ?? []), 'journal', 'bootstrap'];
    const agentConfig = cloudWatchAgentConfig(this.logGroup.logGroupName, logFiles, !!props.prometheusConfig);
    const restartAgent = new ec2.InitServiceRestartHandle();
    elements.push(
      ec2.InitGroup.fromName('cpaas'),
      ec2.InitUser.fromName('cpaas', { groups: ['cpaas'] }),
      ec2.InitCommand.shellCommand('mkdir -p /var/log/cpaas /etc/cpaas /usr/local/lib/cpaas /run/cpaas && chown cpaas:cpaas /var/log/cpaas', { key: '00-dirs' }),
      ec2.InitFile.fromFileInline('/usr/local/lib/cpaas/imds.sh', path.join(BOOTSTRAP_DIR, 'common/imds.sh'), { mode: '000644' }),
      ec2.InitFile.fromFileInline('/etc/logrotate.d/cpaas', path.join(BOOTSTRAP_DIR, 'common/logrotate.conf'), { mode: '000644' }),
      ec2.InitFile.fromFileInline('/etc/systemd/system/cpaas-journal-export.service', path.join(BOOTSTRAP_DIR, 'systemd/cpaas-journal-export.service')),
      ec2.InitFile.fromObject('/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json', agentConfig, { serviceRestartHandles: [restartAgent] }),
      ...(props.prometheusConfig
        ? [ec2.InitFile.fromString('/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml', props.prometheusConfig, { serviceRestartHandles: [restartAgent] })]
        : []),
      ec2.InitFile.fromString('/etc/cfn/cfn-hup.conf', `[main]\nstack=${Aws.STACK_ID}\nregion=${Aws.REGION}\ninterval=5\n`, { mode: '000400' }),
      ec2.InitFile.fromString(
        '/etc/cfn/hooks.d/cfn-auto-reloader.conf',
        `[cfn-auto-reloader-hook]\ntriggers=post.update\npath=Resources.${groupLogicalId}.Metadata.AWS::CloudFormation::Init\n` +
          `action=/opt/aws/bin/cfn-init -v --region ${Aws.REGION} --stack ${Aws.STACK_NAME} --resource ${groupLogicalId} -c default\nrunas=root\n`,
        { mode: '000400' },
      ),
      ec2.InitFile.fromFileInline('/etc/systemd/system/cfn-hup.service', path.join(BOOTSTRAP_DIR, 'systemd/cfn-hup.service')),
      ec2.InitCommand.shellCommand('systemctl daemon-reload', { key: '10-reload' }),
      ec2.InitService.enable('cpaas-journal-export', { serviceManager: ec2.ServiceManager.SYSTEMD }),
      ec2.InitService.enable('cfn-hup', { serviceManager: ec2.ServiceManager.SYSTEMD }),
      ec2.InitService.enable('amazon-cloudwatch-agent', { serviceManager: ec2.ServiceManager.SYSTEMD, serviceRestartHandle: restartAgent }),
    );

    const nodeElements: ec2.InitElement[] = [];
    if (props.installNode ?? !!props.service) {
      nodeElements.push(
        ec2.InitFile.fromFileInline('/etc/apt/keyrings/nodesource.asc', path.join(BOOTSTRAP_DIR, 'apt/nodesource.asc'), { mode: '000644' }),
        ec2.InitFile.fromFileInline('/etc/apt/sources.list.d/nodesource.sources', path.join(BOOTSTRAP_DIR, 'apt/nodesource.sources'), { mode: '000644' }),
        ec2.InitFile.fromFileInline('/etc/apt/preferences.d/nodejs', path.join(BOOTSTRAP_DIR, 'apt/nodejs.pref'), { mode: '000644' }),
      );
    }
    const packages = [...(props.installNode ?? !!props.service ? ['nodejs'] : []), ...(props.packages ?? [])];
    if (packages.length > 0) {
      nodeElements.push(
        ec2.InitCommand.shellCommand(
          'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends ' +
            packages.join(' '),
          { key: '20-packages' },
        ),
      );
    }

    const appElements: ec2.InitElement[] = [];
    if (props.service && this.bundle) {
      const svc = props.service;
      const restart = new ec2.InitServiceRestartHandle();
      appElements.push(
        ec2.InitSource.fromExistingAsset(`/opt/cpaas/${svc.name}`, this.bundle, { serviceRestartHandles: [restart] }),
        ec2.InitFile.fromObject(`/etc/cpaas/${svc.name}.json`, svc.config as Record<string, unknown>, {
          mode: '000640',
          owner: 'root',
          group: 'cpaas',
          serviceRestartHandles: [restart],
        }),
        ec2.InitFile.fromString(
          `/etc/systemd/system/cpaas-${svc.name}.service`,
          renderTemplate('systemd/cpaas-node.service.tmpl', {
            SERVICE: svc.name,
            AFTER: (svc.after ?? []).join(' '),
            STOP_TIMEOUT: Math.round((props.stopTimeout ?? Duration.seconds(30)).toSeconds()),
            EXTRA: svc.unitExtra ?? '',
          }),
          { serviceRestartHandles: [restart] },
        ),
        ec2.InitCommand.shellCommand('systemctl daemon-reload', { key: '10-reload' }),
        ec2.InitService.enable(`cpaas-${svc.name}`, { serviceManager: ec2.ServiceManager.SYSTEMD, serviceRestartHandle: restart }),
      );
    }

    const tierElements: ec2.InitElement[] = [];
    if (props.elasticIpPool) {
      tierElements.push(...props.elasticIpPool.bind(this.role), ec2.InitCommand.shellCommand('systemctl daemon-reload', { key: '00-reload' }),
        ec2.InitService.enable('cpaas-eip', { serviceManager: ec2.ServiceManager.SYSTEMD }));
    }
    tierElements.push(...(props.tierInit ?? []));
    if (props.drain) {
      const drain = new DrainHook(this, 'Drain', {
        autoScalingGroup: this.autoScalingGroup,
        role: this.role,
        drainTimeout: props.drain.timeout,
        units: props.drain.units,
        activeCallsCommand: props.drain.activeCallsCommand,
      });
      appElements.push(...drain.initElements);
    }

    const init = ec2.CloudFormationInit.fromConfigSets({
      configSets: { default: ['base', 'packages', 'tier', 'app'] },
      configs: {
        base: new ec2.InitConfig(elements),
        packages: new ec2.InitConfig(nodeElements),
        tier: new ec2.InitConfig(tierElements),
        app: new ec2.InitConfig(appElements),
      },
    });
    this.autoScalingGroup.applyCloudFormationInit(init, {
      configSets: ['default'],
      // Deliberate: with a fingerprint, a config change alters the user data → new launch template version →
      // rolling replacement. Without, cfn-hup applies the change in place (tiers that carry calls).
      embedFingerprint: props.configChangeReplacesInstances,
      printLog: true,
    });

    // grant*() on the table (index/*), buckets (bucket/*, s3:GetObject*/List*/Abort*/DeleteObject*) and the CDK asset
    // bucket (cfn-init downloads the bundle) produce these wildcards; each tier names its grants in its construct.
    if (this.bundle) {
      this.acknowledgeGrantWildcards(
        ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', 'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*'],
        'bundle.grantRead: cfn-init downloads the service bundle from the CDK asset bucket.',
      );
    }
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-EC26',
      reason: 'The root volume is encrypted in the launch template (blockDevices encrypted: true).',
    });
  }

  /** Acknowledges the IAM5 findings a grant produces, one id each, with the grant named in the reason. */
  acknowledgeGrantWildcards(findings: readonly string[], reason: string): void {
    for (const f of findings) Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[${f}]`, reason });
  }
}

/** Bundles `runtime/<svc>/main.ts` into one ESM file with local esbuild (no Docker) as an S3 asset. */
function bundleService(scope: Construct, spec: NodeServiceSpec): s3assets.Asset {
  const entry = path.join(REPO_ROOT, spec.entry);
  return new s3assets.Asset(scope, 'Bundle', {
    path: path.join(REPO_ROOT, 'runtime'),
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('docker-unavailable-use-local-esbuild'),
      local: {
        tryBundle(outputDir: string): boolean {
          if (!fs.existsSync(entry)) {
            throw new Error(`Runtime entry ${spec.entry} does not exist: the ${spec.name} bundle cannot be built (it is written in runtime/, not lib/).`);
          }
          buildSync({
            entryPoints: [entry],
            outfile: path.join(outputDir, 'main.mjs'),
            bundle: true,
            platform: 'node',
            format: 'esm',
            target: 'node20',
            sourcemap: true,
            legalComments: 'none',
            logLevel: 'error',
            // CommonJS dependencies call require(); give the ESM bundle one.
            banner: { js: "import { createRequire as __cpaasCreateRequire } from 'node:module'; const require = __cpaasCreateRequire(import.meta.url);" },
          });
          fs.writeFileSync(path.join(outputDir, 'package.json'), JSON.stringify({ type: 'module' }));
          return true;
        },
      },
    },
  });
}

/** CloudWatch agent config: log files → streams of the tier's log group, host metrics, optional Prometheus. */
function cloudWatchAgentConfig(logGroupName: string, files: readonly string[], prometheus: boolean): Record<string, unknown> {
  return {
    agent: { metrics_collection_interval: 60, logfile: '/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log' },
    metrics: {
      namespace: 'CWAgent',
      append_dimensions: { AutoScalingGroupName: '${aws:AutoScalingGroupName}', InstanceId: '${aws:InstanceId}' },
      aggregation_dimensions: [['AutoScalingGroupName']],
      metrics_collected: {
        mem: { measurement: ['mem_used_percent'] },
        disk: { measurement: ['used_percent'], resources: ['/'], drop_device: true },
        netstat: { measurement: ['tcp_established'] },
      },
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: files.map((f) => ({
            file_path: f === 'bootstrap' ? '/var/log/cpaas-bootstrap.log' : `/var/log/cpaas/${f}.log`,
            log_group_name: logGroupName,
            log_stream_name: `{instance_id}/${f}`,
            retention_in_days: -1,
          })),
        },
      },
      ...(prometheus
        ? {
            metrics_collected: {
              prometheus: {
                prometheus_config_path: '/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml',
                log_group_name: logGroupName,
                emf_processor: {
                  metric_namespace: METRICS_NAMESPACE,
                  metric_declaration: [
                    {
                      source_labels: ['job'],
                      label_matcher: '^rtpengine$',
                      dimensions: [['job']],
                      metric_selectors: ['^rtpengine_.*'],
                    },
                  ],
                },
              },
            },
          }
        : {}),
    },
  };
}
