import { Type, type Static } from 'typebox';

/** A secret given inline (local use) or by Secrets Manager ARN (AWS). Never logged. */
export const SecretRef = Type.Object(
  {
    value: Type.Optional(Type.String({ minLength: 16 })),
    arn: Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:secretsmanager:' })),
  },
  { additionalProperties: false },
);
export type SecretRef = Static<typeof SecretRef>;

export const LogLevel = Type.Union(
  [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
  { default: 'info' },
);

/** Where the AWS SDK clients point: real AWS (no endpoints) or the embedded stand-ins. */
export const AwsConfig = Type.Object(
  {
    region: Type.String({ default: 'us-east-1' }),
    endpoints: Type.Object(
      {
        dynamodb: Type.Optional(Type.String()),
        s3: Type.Optional(Type.String()),
        ses: Type.Optional(Type.String()),
        secretsManager: Type.Optional(Type.String()),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Static credentials for the stand-ins only; on AWS the instance role is used. */
    localCredentials: Type.Optional(Type.Boolean()),
  },
  { default: {}, additionalProperties: false },
);
export type AwsConfig = Static<typeof AwsConfig>;
