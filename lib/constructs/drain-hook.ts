import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { envFile, renderTemplate } from './node-service-host.js';

export interface DrainHookProps {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly role: iam.IRole;
  /** How long an instance may keep serving calls after scale-in picked it. */
  readonly drainTimeout: Duration;
  /** systemd units that get SIGTERM (stop taking calls) when the drain starts. */
  readonly units: readonly string[];
  /** Shell command printing the number of active calls on this host. */
  readonly activeCallsCommand: string;
}

/** Name of the termination lifecycle hook (unique per group). */
export const DRAIN_HOOK_NAME = 'cpaas-drain';

/**
 * Scale-in drains calls: a termination lifecycle hook holds the instance in Terminating:Wait while the on-box
 * `cpaas-drain` watcher (IMDS target lifecycle state) drains the services and completes the action.
 */
export class DrainHook extends Construct {
  public readonly hook: autoscaling.LifecycleHook;
  public readonly initElements: ec2.InitElement[];

  constructor(scope: Construct, id: string, props: DrainHookProps) {
    super(scope, id);
    this.hook = props.autoScalingGroup.addLifecycleHook('Drain', {
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: props.drainTimeout.plus(Duration.minutes(2)),
      defaultResult: autoscaling.DefaultResult.CONTINUE,
      // Literal name: the instance's own metadata cannot reference the group or the hook (circular).
      lifecycleHookName: DRAIN_HOOK_NAME,
    });
    const groupArn = Stack.of(this).formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `*:autoScalingGroupName/${props.autoScalingGroup.autoScalingGroupName}`,
    });
    // A separate policy: the group must not depend on a statement that names the group.
    const policy = new iam.Policy(this, 'Policy', {
      statements: [new iam.PolicyStatement({ actions: ['autoscaling:CompleteLifecycleAction'], resources: [groupArn] })],
    });
    policy.attachToRole(props.role);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${Stack.of(this).getLogicalId(props.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup)}>]`,
      reason: 'Auto Scaling group ARNs contain a generated UUID; the statement is scoped to this group by name.',
    });
    this.initElements = [
      ec2.InitFile.fromString(
        '/etc/cpaas/drain.env',
        envFile({
          HOOK_NAME: DRAIN_HOOK_NAME,
          DRAIN_SECONDS: Math.round(props.drainTimeout.toSeconds()),
          DRAIN_UNITS: `"${props.units.join(' ')}"`,
          ACTIVE_CALLS_CMD: `'${props.activeCallsCommand}'`,
        }),
      ),
      ec2.InitFile.fromString('/usr/local/lib/cpaas/drain.sh', renderTemplate('common/drain.sh'), { mode: '000755' }),
      ec2.InitFile.fromString('/etc/systemd/system/cpaas-drain.service', renderTemplate('systemd/cpaas-drain.service')),
      ec2.InitCommand.shellCommand('systemctl daemon-reload', { key: '90-reload' }),
      ec2.InitService.enable('cpaas-drain', { serviceManager: ec2.ServiceManager.SYSTEMD }),
    ];
  }
}
