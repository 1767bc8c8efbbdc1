import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface PlatformSecretsProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Generated secrets. Values never appear in templates or instance config files: processes and boot scripts
 * read them by ARN at start.
 */
export class PlatformSecrets extends Construct {
  /** Bearer key of the admin API (`Authorization: Bearer <key>`), manages tenants. */
  public readonly adminKey: secretsmanager.Secret;
  /** HS256 key for client access tokens. */
  public readonly jwtSigningKey: secretsmanager.Secret;
  /** coturn `static-auth-secret` shared with signalling (TURN REST credentials). */
  public readonly turnSecret: secretsmanager.Secret;
  /** drachtio-server admin secret shared by drachtio-server and the SBC app on the same host. */
  public readonly drachtioSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: PlatformSecretsProps = {}) {
    super(scope, id);
    const make = (name: string, description: string) => {
      const secret = new secretsmanager.Secret(this, name, {
        description,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotation would need a rotation Lambda per consumer protocol (coturn, drachtio, JWT, API key) and a restart of ' +
          'long-lived calls; rotate by updating the secret and rolling the tier (docs/deploy.md).',
      });
      return secret;
    };
    this.adminKey = make('AdminKey', 'CPaaS admin API key (Bearer token that manages tenants)');
    this.jwtSigningKey = make('JwtSigningKey', 'CPaaS HS256 signing key of client access tokens');
    this.turnSecret = make('TurnSecret', 'coturn static-auth-secret (TURN REST credentials)');
    this.drachtioSecret = make('DrachtioSecret', 'drachtio-server admin secret (loopback admin port)');
  }
}
