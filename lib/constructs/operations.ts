import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './node-service-host.js';

export interface OperationsProps {
  readonly prefix: string;
  /** Subscribed to the alarm topic by email. @default none */
  readonly alarmEmail?: string;
}

export interface TierMonitoring {
  readonly tier: string;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Extra graphs of the tier. */
  readonly widgets?: cloudwatch.IWidget[];
  /** Extra alarms of the tier. */
  readonly alarms?: cloudwatch.Alarm[];
}

/**
 * Alarm topic (KMS-encrypted, TLS-only), one dashboard per tier and the standard alarms: CPU, disk, and whatever
 * the tier adds (unhealthy hosts and 5xx for signalling, call failures for the SBC).
 */
export class Operations extends Construct {
  public readonly topic: sns.Topic;
  public readonly dashboards: cloudwatch.Dashboard[] = [];
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    const key = new kms.Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'CPaaS alarm topic',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const service of ['cloudwatch.amazonaws.com', 'autoscaling.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true, displayName: 'CPaaS alarms' });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }

  /** Dashboard + CPU/disk alarms for one tier. */
  monitorTier(t: TierMonitoring): cloudwatch.Dashboard {
    const asgName = t.autoScalingGroup.autoScalingGroupName;
    const cpu = new cloudwatch.Metric({
      namespace: 'AWS/EC2', metricName: 'CPUUtilization', dimensionsMap: { AutoScalingGroupName: asgName }, statistic: 'Average', period: Duration.minutes(1),
    });
    const disk = new cloudwatch.Metric({
      namespace: 'CWAgent', metricName: 'disk_used_percent', dimensionsMap: { AutoScalingGroupName: asgName }, statistic: 'Maximum', period: Duration.minutes(5),
    });
    const inService = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling', metricName: 'GroupInServiceInstances', dimensionsMap: { AutoScalingGroupName: asgName }, statistic: 'Average', period: Duration.minutes(1),
    });
    const alarms = [
      cpu.createAlarm(this, `${t.tier}Cpu`, { threshold: 85, evaluationPeriods: 5, alarmDescription: `${t.tier}: CPU above 85% for 5 minutes` }),
      disk.createAlarm(this, `${t.tier}Disk`, { threshold: 85, evaluationPeriods: 1, alarmDescription: `${t.tier}: root disk above 85%` }),
      ...(t.alarms ?? []),
    ];
    for (const a of alarms) a.addAlarmAction(new actions.SnsAction(this.topic));
    const dashboard = new cloudwatch.Dashboard(this, `${t.tier}Dashboard`, {
      dashboardName: `${this.prefix}-${t.tier}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'CPU %', left: [cpu], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Disk used %', left: [disk], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Instances in service', left: [inService], width: 8 }),
        ],
        ...(t.widgets ? [t.widgets] : []),
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 })],
      ],
    });
    this.dashboards.push(dashboard);
    return dashboard;
  }

  /** Signalling extras: unhealthy hosts and 5xx. */
  signallingExtras(lb: elbv2.ApplicationLoadBalancer, tg: elbv2.ApplicationTargetGroup): Pick<TierMonitoring, 'widgets' | 'alarms'> {
    const unhealthy = tg.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' });
    const target5xx = tg.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' });
    const elb5xx = lb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' });
    const requests = lb.metrics.requestCount({ period: Duration.minutes(1) });
    return {
      widgets: [
        new cloudwatch.GraphWidget({ title: 'Requests', left: [requests], width: 8 }),
        new cloudwatch.GraphWidget({ title: '5xx (target / ALB)', left: [target5xx, elb5xx], width: 8 }),
        new cloudwatch.GraphWidget({ title: 'Unhealthy hosts', left: [unhealthy], width: 8 }),
      ],
      alarms: [
        unhealthy.createAlarm(this, 'SignallingUnhealthy', { threshold: 1, evaluationPeriods: 3, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, alarmDescription: 'signalling: unhealthy targets behind the ALB' }),
        target5xx.createAlarm(this, 'Signalling5xx', { threshold: 10, evaluationPeriods: 3, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, alarmDescription: 'signalling: more than 10 target 5xx per minute' }),
        elb5xx.createAlarm(this, 'Alb5xx', { threshold: 10, evaluationPeriods: 3, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, alarmDescription: 'ALB: more than 10 5xx per minute' }),
      ],
    };
  }

  /** SBC extras: failed calls (EMF metric `CallsFailed` from the SBC runtime, namespace CPaaS). */
  sbcExtras(): Pick<TierMonitoring, 'widgets' | 'alarms'> {
    const failed = new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'CallsFailed', dimensionsMap: { service: 'sbc' }, statistic: 'Sum', period: Duration.minutes(5) });
    const started = new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'CallsStarted', dimensionsMap: { service: 'sbc' }, statistic: 'Sum', period: Duration.minutes(5) });
    const voiceErrors = new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'VoiceAppErrors', dimensionsMap: { service: 'sbc' }, statistic: 'Sum', period: Duration.minutes(5) });
    return {
      widgets: [new cloudwatch.GraphWidget({ title: 'Calls started / failed / voice application errors', left: [started, failed, voiceErrors], width: 24 })],
      alarms: [
        failed.createAlarm(this, 'SbcCallFailures', { threshold: 20, evaluationPeriods: 2, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, alarmDescription: 'SBC: more than 20 failed calls in 5 minutes' }),
        voiceErrors.createAlarm(this, 'VoiceAppErrors', { threshold: 10, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, alarmDescription: 'Programmable voice: more than 10 calls ended by a tenant application error (webhook timeout, invalid document, …) in 5 minutes; see cpaas_voice_app_errors_total{reason} and the SBC log' }),
      ],
    };
  }

  /** URL of a dashboard in the console. */
  static dashboardUrl(d: cloudwatch.Dashboard): string {
    return `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${d.dashboardName}`;
  }
}
