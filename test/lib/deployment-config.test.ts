import { describe, expect, it } from 'vitest';
import { DeploymentConfigError, loadDeploymentConfig, parseDeploymentConfig, SIZE_PRESETS } from '../../lib/config/deployment-config.js';
import { testApp } from './support.js';

describe('deployment config', () => {
  it('cdk.json alone gives a valid small deployment with defaults', () => {
    const c = loadDeploymentConfig(testApp().node);
    expect(c).toMatchObject({ prefix: 'cpaas', size: 'small', maxAzs: 2, logRetentionDays: 30, statefulRemovalPolicy: 'retain', sipAllowedCidrs: ['0.0.0.0/0'] });
    expect(c.tiers.media).toEqual(SIZE_PRESETS.small.media);
    expect(c.sbcElasticIps).toBe(SIZE_PRESETS.small.sbc.maxCapacity);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('coerces -c strings (numbers, comma lists, JSON arrays) and applies tier overrides over the preset', () => {
    const c = loadDeploymentConfig(
      testApp({ 'cpaas:size': 'medium', 'cpaas:maxAzs': '3', 'cpaas:mediaMaxCapacity': '9', 'cpaas:sipAllowedCidrs': '203.0.113.0/24, 198.51.100.7/32' }).node,
    );
    expect(c.maxAzs).toBe(3);
    expect(c.tiers.media).toMatchObject({ instanceType: SIZE_PRESETS.medium.media.instanceType, maxCapacity: 9 });
    expect(c.sipAllowedCidrs).toEqual(['203.0.113.0/24', '198.51.100.7/32']);
    expect(parseDeploymentConfig({ sipAllowedCidrs: '["192.0.2.0/24"]' }).sipAllowedCidrs).toEqual(['192.0.2.0/24']);
  });

  it('reports every bad key in one error', () => {
    let err: unknown;
    try {
      parseDeploymentConfig({ size: 'huge', maxAzs: '7', sipAllowedCidrs: 'nope', typo: 1, drachtioImage: 'drachtio/drachtio-server:latest', logRetentionDays: '8' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeploymentConfigError);
    const problems = (err as DeploymentConfigError).problems.join('\n');
    for (const key of ['size', 'maxAzs', 'sipAllowedCidrs', 'typo', 'drachtioImage', 'logRetentionDays']) expect(problems).toContain(`cpaas:${key}:`);
    expect((err as Error).message).toMatch(/^Invalid cdk.json context/);
    expect(problems).toContain('is not a known key');
  });

  it('checks cross-field rules', () => {
    expect(() => parseDeploymentConfig({ domainName: 'rtc.example.com' })).toThrow(/certificateArn: required/);
    expect(() => parseDeploymentConfig({ sbcMinCapacity: 5, sbcMaxCapacity: 2 })).toThrow(/sbcMinCapacity: must not exceed/);
    expect(() => parseDeploymentConfig({ sbcElasticIps: 1, sbcMaxCapacity: 3 })).toThrow(/sbcElasticIps/);
  });
});
