import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../runtime/core/errors.js';
import { deepMerge, loadConfig, parseConfig } from '../../../runtime/core/config/load.js';
import { SignallingConfig } from '../../../runtime/signalling/config.js';

const minimal = {
  tableName: 'cpaas-test',
  secrets: { adminKey: { value: 'a'.repeat(16) }, jwtSigningKey: { value: 'j'.repeat(16) }, turnSecret: { value: 't'.repeat(16) } },
};

function configError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('config loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpaas-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies defaults to a minimal config', () => {
    const cfg = parseConfig(SignallingConfig, minimal);
    expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: 8080, trustProxy: false });
    expect(cfg.limits).toMatchObject({
      restRequestsPerMinutePerTenant: 6000,
      socketEventsPerSecond: 50,
      socketEventBurst: 100,
      maxSocketPayloadBytes: 65536,
      maxChatMessageLength: 4000,
      maxRoomParticipants: 50,
    });
    expect(cfg.tokens).toEqual({ issuer: 'cpaas', defaultTtlSeconds: 3600, maxTtlSeconds: 86400 });
    expect(cfg.turn).toEqual({ urls: [], ttlMinutes: 60 });
    expect(cfg.logLevel).toBe('info');
    expect(cfg.aws.region).toBe('us-east-1');
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('converts strings from the environment to numbers and booleans', () => {
    const cfg = parseConfig(SignallingConfig, { ...minimal, http: { port: '9090', trustProxy: 'true' }, limits: { maxRoomParticipants: '12' } });
    expect(cfg.http.port).toBe(9090);
    expect(cfg.http.trustProxy).toBe(true);
    expect(cfg.limits.maxRoomParticipants).toBe(12);
  });

  it('fails with one error that lists every bad field', () => {
    const err = configError(() =>
      parseConfig(
        SignallingConfig,
        { ...minimal, http: { port: 'eighty' }, limits: { maxRoomParticipants: 1 }, redisUrl: 'http://not-redis', tableName: 'x', tpyo: true },
        'signalling.json',
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/^Invalid signalling\.json:/);
    for (const field of ['/http/port', '/limits/maxRoomParticipants', '/redisUrl', '/tableName']) expect(err.message).toContain(field);
    expect(err.message).toMatch(/tpyo|additional/i);
    // one line per problem, no duplicates
    const lines = err.message.split('\n').slice(1);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBeGreaterThanOrEqual(5);
  });

  it('reports missing required fields', () => {
    const err = configError(() => parseConfig(SignallingConfig, {}));
    expect(err.message).toContain('tableName');
    expect(err.message).toContain('secrets');
  });

  it('reads a file, merges overrides, and tolerates a missing optional file', () => {
    const file = join(dir, 'signalling.json');
    writeFileSync(file, JSON.stringify({ ...minimal, http: { port: 7000, host: '127.0.0.1' } }));
    const cfg = loadConfig(SignallingConfig, { file, overrides: { http: { port: '7001' }, logLevel: 'debug' } });
    expect(cfg.http).toMatchObject({ port: 7001, host: '127.0.0.1' });
    expect(cfg.logLevel).toBe('debug');

    const schema = Type.Object({ port: Type.Integer({ default: 1 }) });
    expect(loadConfig(schema, { file: join(dir, 'absent.json') })).toEqual({ port: 1 });
    expect(configError(() => loadConfig(schema, { file: join(dir, 'absent.json'), required: true })).code).toBe('CONFIG_INVALID');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ not json');
    expect(configError(() => loadConfig(schema, { file: broken })).message).toContain('broken.json');
  });

  it('deep-merges objects and replaces arrays and scalars', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: undefined, e: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });
});
