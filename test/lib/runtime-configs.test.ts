/**
 * The instance config files the CDK app writes (/etc/cpaas/<svc>.json) must pass the runtime's own schema, or
 * the process would refuse to start on the instance. Deploy-time tokens are replaced by plausible values.
 */
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataStack } from '../../lib/stacks/data-stack.js';
import { PlatformStack } from '../../lib/stacks/platform-stack.js';
import { parseConfig } from '../../runtime/core/config/load.js';
import { SignallingConfig } from '../../runtime/signalling/config.js';
import { SbcConfig } from '../../runtime/sbc/config.js';
import { MediaAgentConfig } from '../../runtime/media-agent/config.js';
import { testApp, testConfig } from './support.js';
// --- aws-wiring ---
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { silentLogger } from '../../runtime/core/logging.js';
import { systemClock } from '../../runtime/core/clock.js';
import { buildVoiceFeatures, resolveRtpHost } from '../../runtime/sbc/features.js';
import { resolveAdvertiseUrl } from '../../runtime/sbc/ownership.js'; // sbc-cluster
// --- end aws-wiring ---

/** Replaces CloudFormation intrinsics (`{Ref}`, `{Fn::…}`) by a value of the right kind for their place. */
function detoken(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => detoken(x, key));
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'Fn::Join') {
      const [delim, parts] = (v as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return parts.map((x) => (typeof x === 'string' ? x : String(detoken(x, '')).replace(/^token-value$/, 'x'))).join(delim);
    }
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) {
      if (/arn$/i.test(key)) return 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cpaas-x';
      if (/url$/i.test(key)) return 'https://example.invalid';
      return 'token-value';
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, detoken(x, k)]));
  }
  return v;
}

let stack: PlatformStack;
beforeAll(() => {
  const app = testApp();
  const config = testConfig({});
  const data = new DataStack(app, 'Data', { config });
  const webSources = { sdk: s3deploy.Source.data('cpaas.js', 'sdk'), demo: s3deploy.Source.data('index.html', 'demo') };
  stack = new PlatformStack(app, 'Platform', { config, data, webSources });
});

describe('instance configs written by the CDK app', () => {
  it('signalling.json passes the signalling schema', () => {
    expect(() => parseConfig(SignallingConfig, detoken(stack.resolve(stack.signalling.config)), 'signalling.json')).not.toThrow();
  });
  it('sbc.json passes the SBC schema', () => {
    expect(() => parseConfig(SbcConfig, detoken(stack.resolve(stack.sbc.config)), 'sbc.json')).not.toThrow();
    // --- sbc-cluster: every instance advertises its private control URL (call-owner forwarding) ---
    const sbc = parseConfig(SbcConfig, detoken(stack.resolve(stack.sbc.config)), 'sbc.json');
    expect(sbc.control.advertiseUrl).toBe('auto');
    expect(resolveAdvertiseUrl(sbc.control.advertiseUrl!, sbc.control.port, resolveRtpHost('auto', '10.0.1.23:5060'))).toBe('http://10.0.1.23:8090');
    // --- end sbc-cluster ---
  });
  it('media-agent.json passes the media agent schema', () => {
    expect(() => parseConfig(MediaAgentConfig, detoken(stack.resolve(stack.media.config)), 'media-agent.json')).not.toThrow();
  });
  // --- media-services: play sources resolved on the media node (docs/recordings.md § Playback on AWS) ---
  it('media-agent.json turns the play-source endpoint on (secret by ARN, dirs rtpengine reads) and sbc.json resolves there', () => {
    const agent = parseConfig(MediaAgentConfig, detoken(stack.resolve(stack.media.config)), 'media-agent.json');
    expect(agent.playSources).toMatchObject({ port: 9470, secret: { arn: expect.stringMatching(/^arn:aws:secretsmanager:/) }, ttlSeconds: 900, allowPrivateUrls: false });
    expect(agent.playSources!.secret.value).toBeUndefined();
    expect(agent.rtpengine.ngHost).toBe('auto');
    const sbc = parseConfig(SbcConfig, detoken(stack.resolve(stack.sbc.config)), 'sbc.json');
    expect(sbc.mediaServices?.resolveOn).toBe('media-node');
    expect(sbc.gateway?.secret.arn).toBeTruthy(); // the header secret the SBC sends to the agent
  });
  // --- end media-services ---
  // --- aws-wiring ---
  it('sbc.json turns programmable voice on with prefix storage, and main.ts can build the voice features from it', () => {
    const sbc = parseConfig(SbcConfig, detoken(stack.resolve(stack.sbc.config)), 'sbc.json');
    expect(sbc.voice).toMatchObject({ rtpHost: 'auto', allowPrivateHookUrls: false });
    expect(sbc.voiceStorage).toMatchObject({ recordDir: '/var/spool/cpaas/voice', uploadRecordings: true, voicemail: true, mail: { from: 'ops@example.com' } });
    expect(sbc.recordingsBucket).toBeTruthy();
    // the same construction as runtime/sbc/main.ts (no network: clients are only built)
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const s3 = new S3Client({ region: 'us-east-1' });
    const f = buildVoiceFeatures({
      doc, tableName: sbc.tableName, clock: systemClock, log: silentLogger, nodeId: 'i-test',
      rtp: { host: resolveRtpHost(sbc.voice!.rtpHost, '10.0.1.23:5060'), minPort: sbc.voice!.rtpMinPort, maxPort: sbc.voice!.rtpMaxPort },
      storage: { s3, bucket: sbc.recordingsBucket! }, recordDir: sbc.voiceStorage!.recordDir, uploadRecordings: sbc.voiceStorage!.uploadRecordings,
    });
    expect(f.voice.rtp.host).toBe('10.0.1.23');
    expect(f.voice.recordings).toBeDefined();
    expect(f.voice.applications).toBeDefined();
    expect(f.library).toBeDefined();
    f.close();
    doc.destroy();
    s3.destroy();
  });
  // --- end aws-wiring ---
});
