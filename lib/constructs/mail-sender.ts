import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface MailSenderProps {
  /** Sender address verified as an SES email identity; none = no identity (invites fail until one exists). */
  readonly fromAddress?: string;
}

/** SES configuration set (reputation metrics, TLS required) and, when an address is given, its identity. */
export class MailSender extends Construct {
  public readonly configurationSet: ses.ConfigurationSet;
  public readonly identity?: ses.EmailIdentity;
  public readonly fromAddress?: string;

  constructor(scope: Construct, id: string, props: MailSenderProps = {}) {
    super(scope, id);
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      sendingEnabled: true,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    if (props.fromAddress) {
      this.fromAddress = props.fromAddress;
      this.identity = new ses.EmailIdentity(this, 'Identity', {
        identity: ses.Identity.email(props.fromAddress),
        configurationSet: this.configurationSet,
      });
    }
  }
}
