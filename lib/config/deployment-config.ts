import type { Node } from 'constructs';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** Every context key of the app starts with this prefix (`cdk.json` "context", or `-c cpaas:<key>=<value>`). */
export const CONTEXT_PREFIX = 'cpaas:';

/** Deployment sizes; each fixes defaults for every tier (see docs/costs.md for what each is sized for). */
export const SIZES = ['small', 'medium', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** The four instance tiers. */
export const TIERS = ['signalling', 'sbc', 'media', 'turn'] as const;
export type Tier = (typeof TIERS)[number];

/** Retention values CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const literals = <T extends readonly (string | number)[]>(values: T, options: Record<string, unknown> = {}) =>
  Type.Union(values.map((v) => Type.Literal(v)), options);

const CIDR = '^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}/(3[0-2]|[12]?\\d)$';
const INSTANCE_TYPE = '^[a-z][a-z0-9-]*\\.[a-z0-9]+$';

/** Per-tier overrides; absent keys take the size preset. */
const tierKeys = Object.fromEntries(
  TIERS.flatMap((t) => [
    [`${t}InstanceType`, Type.Optional(Type.String({ pattern: INSTANCE_TYPE, description: `EC2 instance type of the ${t} tier` }))],
    [`${t}MinCapacity`, Type.Optional(Type.Integer({ minimum: 0, maximum: 100 }))],
    [`${t}MaxCapacity`, Type.Optional(Type.Integer({ minimum: 1, maximum: 100 }))],
    [`${t}DesiredCapacity`, Type.Optional(Type.Integer({ minimum: 0, maximum: 100 }))],
  ]),
) as Record<string, TSchema>;

/**
 * The raw context schema (keys without the `cpaas:` prefix). Every key has a default or is optional, so
 * `npx cdk synth` works with nothing but `cdk.json`.
 */
export const DeploymentContext = Type.Object(
  {
    /** Prefix of stack names and of the few physical names (log groups, SSM-visible tags). */
    prefix: Type.String({ pattern: '^[a-z][a-z0-9-]{1,20}$', default: 'cpaas' }),
    size: literals(SIZES, { default: 'small' }),
    maxAzs: Type.Integer({ minimum: 2, maximum: 3, default: 2 }),
    natGateways: Type.Integer({ minimum: 1, maximum: 3, default: 1 }),
    vpcCidr: Type.String({ pattern: CIDR, default: '10.40.0.0/16' }),
    /** Optional custom domain for CloudFront; needs `certificateArn` (ACM, us-east-1). */
    domainName: Type.Optional(Type.String({ pattern: '^([a-z0-9-]+\\.)+[a-z]{2,}$' })),
    certificateArn: Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:acm:us-east-1:\\d{12}:certificate/[0-9a-f-]+$' })),
    /** Sources allowed to reach SIP (5060 udp/tcp, 5061 tls, 8443 wss). Comma-separated with `-c`. */
    sipAllowedCidrs: Type.Array(Type.String({ pattern: CIDR }), { default: ['0.0.0.0/0'] }),
    /** Verified as the SES sender identity and subscribed to alarms; none = no identity, no subscription. */
    adminEmail: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$' })),
    logRetentionDays: literals(LOG_RETENTION_DAYS, { default: 30 }),
    /** What `cdk destroy` does with the table, buckets, secrets and cache. */
    statefulRemovalPolicy: literals(['retain', 'destroy'] as const, { default: 'retain' }),
    logLevel: literals(['debug', 'info', 'warn', 'error'] as const, { default: 'info' }),
    /** drachtio-server image, pinned by tag or digest (never `latest`). */
    drachtioImage: Type.String({ pattern: '^[a-z0-9./_-]+(:(?!latest$)[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$', default: 'drachtio/drachtio-server:0.9.10' }),
    /** Managed prefix list `com.amazonaws.global.cloudfront.origin-facing` of the target region (`pl-…`). */
    cloudFrontPrefixListId: Type.Optional(Type.String({ pattern: '^pl-[0-9a-f]{8,17}$' })),
    /** Elastic IPs in the SBC pool; default: the SBC tier's max capacity. */
    sbcElasticIps: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Days before recordings move to S3 Glacier Instant Retrieval. */
    recordingsTransitionDays: Type.Integer({ minimum: 1, default: 30 }),
    /** Days before recordings are deleted (0 = never). */
    recordingsExpirationDays: Type.Integer({ minimum: 0, default: 0 }),
    cacheNodeType: Type.Optional(Type.String({ pattern: '^cache\\.[a-z0-9]+\\.[a-z0-9]+$' })),
    /** Minutes a terminating SBC/media instance may keep serving calls (lifecycle hook heartbeat). */
    drainMinutes: Type.Integer({ minimum: 1, maximum: 120, default: 15 }),
    ...tierKeys,
  },
  { additionalProperties: false },
);
/** Validated context (keys without the prefix); typed loosely because the tier keys are generated. */
type RawContext = Omit<Static<typeof DeploymentContext>, 'size' | 'logRetentionDays' | 'statefulRemovalPolicy' | 'logLevel'> & {
  size: Size;
  logRetentionDays: number;
  statefulRemovalPolicy: 'retain' | 'destroy';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
} & Record<string, unknown>;

export interface TierSize {
  readonly instanceType: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Only set when given explicitly: a fixed desired capacity resets the group on every deploy. */
  readonly desiredCapacity?: number;
}

/** Sizing presets; docs/costs.md explains the capacity each is sized for. Keep the two in step. */
export const SIZE_PRESETS: Readonly<Record<Size, Readonly<Record<Tier, TierSize>> & { cacheNodeType: string }>> = {
  small: {
    signalling: { instanceType: 't3.small', minCapacity: 1, maxCapacity: 2 },
    sbc: { instanceType: 't3.small', minCapacity: 1, maxCapacity: 2 },
    media: { instanceType: 'c6i.large', minCapacity: 1, maxCapacity: 2 },
    turn: { instanceType: 't3.small', minCapacity: 1, maxCapacity: 2 },
    cacheNodeType: 'cache.t4g.micro',
  },
  medium: {
    signalling: { instanceType: 'c6i.large', minCapacity: 2, maxCapacity: 4 },
    sbc: { instanceType: 'c6i.large', minCapacity: 2, maxCapacity: 4 },
    media: { instanceType: 'c6in.xlarge', minCapacity: 2, maxCapacity: 6 },
    turn: { instanceType: 'c6in.large', minCapacity: 2, maxCapacity: 4 },
    cacheNodeType: 'cache.t4g.small',
  },
  large: {
    signalling: { instanceType: 'c6i.xlarge', minCapacity: 3, maxCapacity: 12 },
    sbc: { instanceType: 'c6i.xlarge', minCapacity: 2, maxCapacity: 6 },
    media: { instanceType: 'c6in.2xlarge', minCapacity: 4, maxCapacity: 20 },
    turn: { instanceType: 'c6in.xlarge', minCapacity: 3, maxCapacity: 12 },
    cacheNodeType: 'cache.m7g.large',
  },
};

/** The validated, resolved configuration handed to the stacks. Contains no secrets. */
export interface DeploymentConfig {
  readonly prefix: string;
  readonly size: Size;
  readonly maxAzs: number;
  readonly natGateways: number;
  readonly vpcCidr: string;
  readonly domainName?: string;
  readonly certificateArn?: string;
  readonly sipAllowedCidrs: readonly string[];
  readonly adminEmail?: string;
  readonly logRetentionDays: number;
  readonly statefulRemovalPolicy: 'retain' | 'destroy';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly drachtioImage: string;
  readonly cloudFrontPrefixListId?: string;
  readonly sbcElasticIps: number;
  readonly recordingsTransitionDays: number;
  readonly recordingsExpirationDays: number;
  readonly cacheNodeType: string;
  readonly drainMinutes: number;
  readonly tiers: Readonly<Record<Tier, TierSize>>;
}

/** Thrown at synth when context is invalid; the message lists every bad key. */
export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid cdk.json context (fix these keys or override them with -c):\n  ${problems.join('\n  ')}`);
  }
}

const ARRAY_KEYS = new Set(['sipAllowedCidrs']);

/** `-c` values arrive as strings; arrays may come as JSON or as a comma-separated list. */
function coerceArrays(raw: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  for (const key of ARRAY_KEYS) {
    const v = out[key];
    if (typeof v !== 'string') continue;
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        out[key] = JSON.parse(s);
      } catch {
        out[key] = s; // left as a string: reported as "must be array"
      }
    } else {
      out[key] = s === '' ? [] : s.split(',').map((x) => x.trim());
    }
  }
  return out;
}

/**
 * One readable line per bad key. Each key is checked against its own schema, so every bad key is reported
 * (typebox caps one `Value.Errors` call at a few errors) and a failed union reads as "must be one of …".
 */
function describeErrors(value: Record<string, unknown>): string[] {
  const properties = DeploymentContext.properties as Record<string, TSchema>;
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const schema = properties[key];
    const got = ` (got ${JSON.stringify(v)})`;
    if (!schema) {
      problems.push(`${CONTEXT_PREFIX}${key}: is not a known key${got}`);
      continue;
    }
    if (v === undefined || Value.Check(schema, v)) continue;
    const anyOf = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
    if (anyOf) {
      problems.push(`${CONTEXT_PREFIX}${key}: must be one of ${anyOf.map((b) => JSON.stringify(b.const)).join(', ')}${got}`);
      continue;
    }
    const [first] = Value.Errors(schema, v);
    const where = first?.instancePath ? ` at ${first.instancePath}` : '';
    problems.push(`${CONTEXT_PREFIX}${key}: ${first?.message ?? 'is invalid'}${where}${got}`);
  }
  return problems;
}

/**
 * Validates context and resolves presets. Pure: `raw` holds the context keys without the prefix.
 * Applies defaults, converts `-c` strings ("3" → 3), and throws ONE error listing every bad key.
 */
export function parseDeploymentConfig(raw: Record<string, unknown>): Readonly<DeploymentConfig> {
  const withDefaults = Value.Default(DeploymentContext, coerceArrays(raw)) as Record<string, unknown>;
  const value = Value.Convert(DeploymentContext, withDefaults) as unknown as RawContext;
  const problems = describeErrors(value);
  if (problems.length > 0) throw new DeploymentConfigError(problems);

  const preset = SIZE_PRESETS[value.size];
  const tiers = {} as Record<Tier, TierSize>;
  for (const tier of TIERS) {
    const get = (suffix: string) => value[`${tier}${suffix}`] as number | undefined;
    const size: TierSize = {
      instanceType: (value[`${tier}InstanceType`] as string | undefined) ?? preset[tier].instanceType,
      minCapacity: get('MinCapacity') ?? preset[tier].minCapacity,
      maxCapacity: get('MaxCapacity') ?? preset[tier].maxCapacity,
      ...(get('DesiredCapacity') !== undefined ? { desiredCapacity: get('DesiredCapacity') } : {}),
    };
    if (size.minCapacity > size.maxCapacity) {
      problems.push(`${CONTEXT_PREFIX}${tier}MinCapacity: must not exceed ${tier}MaxCapacity (${size.minCapacity} > ${size.maxCapacity})`);
    }
    if (size.desiredCapacity !== undefined && (size.desiredCapacity < size.minCapacity || size.desiredCapacity > size.maxCapacity)) {
      problems.push(`${CONTEXT_PREFIX}${tier}DesiredCapacity: must be between min and max (${size.minCapacity}..${size.maxCapacity})`);
    }
    tiers[tier] = size;
  }
  if (value.domainName && !value.certificateArn) {
    problems.push(`${CONTEXT_PREFIX}certificateArn: required when ${CONTEXT_PREFIX}domainName is set (ACM certificate in us-east-1)`);
  }
  if (value.certificateArn && !value.domainName) {
    problems.push(`${CONTEXT_PREFIX}domainName: required when ${CONTEXT_PREFIX}certificateArn is set`);
  }
  if (value.recordingsExpirationDays !== 0 && value.recordingsExpirationDays <= value.recordingsTransitionDays) {
    problems.push(`${CONTEXT_PREFIX}recordingsExpirationDays: must be 0 (never) or greater than recordingsTransitionDays`);
  }
  const sbcElasticIps = value.sbcElasticIps ?? tiers.sbc.maxCapacity;
  if (sbcElasticIps < tiers.sbc.maxCapacity) {
    problems.push(`${CONTEXT_PREFIX}sbcElasticIps: must be at least sbcMaxCapacity (${tiers.sbc.maxCapacity}); every SBC needs an address`);
  }
  if (problems.length > 0) throw new DeploymentConfigError(problems);

  const config: DeploymentConfig = {
    prefix: value.prefix,
    size: value.size,
    maxAzs: value.maxAzs,
    natGateways: Math.min(value.natGateways, value.maxAzs),
    vpcCidr: value.vpcCidr,
    ...(value.domainName ? { domainName: value.domainName } : {}),
    ...(value.certificateArn ? { certificateArn: value.certificateArn } : {}),
    sipAllowedCidrs: Object.freeze([...new Set(value.sipAllowedCidrs)]),
    ...(value.adminEmail ? { adminEmail: value.adminEmail } : {}),
    logRetentionDays: value.logRetentionDays,
    statefulRemovalPolicy: value.statefulRemovalPolicy,
    logLevel: value.logLevel,
    drachtioImage: value.drachtioImage,
    ...(value.cloudFrontPrefixListId ? { cloudFrontPrefixListId: value.cloudFrontPrefixListId } : {}),
    sbcElasticIps,
    recordingsTransitionDays: value.recordingsTransitionDays,
    recordingsExpirationDays: value.recordingsExpirationDays,
    cacheNodeType: value.cacheNodeType ?? preset.cacheNodeType,
    drainMinutes: value.drainMinutes,
    tiers: Object.freeze(tiers),
  };
  return Object.freeze(config);
}

/** Reads every `cpaas:*` context key of the app (cdk.json + `-c`); the only context reader of the app. */
export function loadDeploymentConfig(node: Node): Readonly<DeploymentConfig> {
  const all = node.getAllContext() as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(all)) {
    if (key.startsWith(CONTEXT_PREFIX)) raw[key.slice(CONTEXT_PREFIX.length)] = v;
  }
  return parseDeploymentConfig(raw);
}
