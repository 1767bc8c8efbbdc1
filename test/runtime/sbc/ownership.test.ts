/**
 * Several SBC instances (docs/sbc.md § Several SBC instances): two control servers with the ownership forwarding
 * layer and fake local call maps, sharing one dynalite table. A request about a call or a conference that the other
 * instance owns is proxied there (method, query, secret header, body); unknown → CALL_NOT_FOUND; owner down →
 * SERVICE_UNAVAILABLE (retryable); the hop header stops loops; release deletes the item.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIns, type StandIns } from '../../../runtime/local/stand-ins.js';
import { createAwsClients, type AwsClients } from '../../../runtime/core/aws/clients.js';
import { ensureTable } from '../../../runtime/core/storage/table.js';
import { Db } from '../../../runtime/core/storage/db.js';
import { CallOwnerRepository } from '../../../runtime/core/storage/call-owners.js';
import { AppError } from '../../../runtime/core/errors.js';
import { silentLogger } from '../../../runtime/core/logging.js';
import { systemClock } from '../../../runtime/core/clock.js';
import { ControlServer } from '../../../runtime/sbc/control/server.js';
import { CallOwnership, FORWARDED_HEADER, mountOwnershipForwarding, resolveAdvertiseUrl } from '../../../runtime/sbc/ownership.js';

const TABLE = 'cpaas-sbc-ownership-test';
const HOST_A = '127.0.22.1';
const HOST_B = '127.0.22.2';
const PORT_A = 30300;
const PORT_B = 30301;
const DEAD = 'http://127.0.22.3:30309';

interface Node { name: string; control: ControlServer; ownership: CallOwnership; calls: Set<string>; confs: Set<string>; url: string }

describe('SBC call ownership: forwarding between instances', () => {
  let standIns: StandIns;
  let aws: AwsClients;
  let repo: CallOwnerRepository;
  let a: Node;
  let b: Node;

  async function node(name: string, host: string, port: number): Promise<Node> {
    const control = new ControlServer(silentLogger);
    const url = `http://${host}:${port}`;
    const ownership = new CallOwnership({ repo, instanceId: `sbc-${name}`, controlUrl: url, log: silentLogger, forwardTimeoutMs: 3000 });
    const n: Node = { name, control, ownership, calls: new Set(), confs: new Set(), url };
    const call = (id: string) => {
      if (!n.calls.has(id)) throw new AppError('CALL_NOT_FOUND', `call ${id} not found`);
    };
    control.addRoute('POST', '/v1/gateway/calls/:callId/control', (r) => {
      call(r.params.callId!);
      return { status: 200, body: { handledBy: name, body: r.body, secret: r.headers['x-cpaas-gateway-secret'], forwarded: r.headers[FORWARDED_HEADER] ?? null } };
    });
    control.addRoute('GET', '/v1/voice/calls/:callId', (r) => {
      call(r.params.callId!);
      return { status: 200, body: { handledBy: name, tenantId: r.query.get('tenantId') } };
    });
    control.addRoute('POST', '/v1/calls/:callId/play', (r) => {
      call(r.params.callId!);
      return { status: 202, body: { handledBy: name } };
    });
    control.addRoute('DELETE', '/v1/conferences/:name', (r) => {
      if (!n.confs.has(`${r.query.get('tenantId')}/${r.params.name}`)) throw AppError.notFound('conference', r.params.name!);
      return { status: 204, body: '' };
    });
    control.addRoute('GET', '/v1/conferences/:name', (r) => {
      if (!n.confs.has(`${r.query.get('tenantId')}/${r.params.name}`)) throw AppError.notFound('conference', r.params.name!);
      return { status: 200, body: { handledBy: name } };
    });
    mountOwnershipForwarding(control, ownership);
    await control.listen(host, port);
    return n;
  }

  beforeAll(async () => {
    standIns = await startStandIns({ host: HOST_A });
    aws = createAwsClients({ region: 'us-east-1', endpoints: standIns.endpoints, localCredentials: true });
    await ensureTable(aws.ddb, TABLE);
    repo = new CallOwnerRepository(new Db(aws.doc, TABLE, systemClock));
    a = await node('a', HOST_A, PORT_A);
    b = await node('b', HOST_B, PORT_B);
  }, 60_000);

  afterAll(async () => {
    for (const n of [a, b]) {
      n?.ownership.close();
      await n?.control.close();
    }
    aws?.destroy();
    await standIns?.close();
  });

  const post = (n: Node, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${n.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cpaas-gateway-secret': 's3cret', ...headers }, body: JSON.stringify(body) });

  it('forwards a control request about a call owned by the other instance (method, body, secret, query)', async () => {
    a.calls.add('ca_one');
    await a.ownership.claim('ca_one', 't1');
    expect(await repo.get('call', 'ca_one')).toMatchObject({ tenantId: 't1', ownerId: 'sbc-a', controlUrl: a.url });

    const res = await post(b, '/v1/gateway/calls/ca_one/control', { tenantId: 't1', identity: 'alice', action: 'hold' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ handledBy: 'a', body: { tenantId: 't1', identity: 'alice', action: 'hold' }, secret: 's3cret', forwarded: '1' });

    const get = await fetch(`${b.url}/v1/voice/calls/ca_one?tenantId=t1`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ handledBy: 'a', tenantId: 't1' });

    const play = await post(b, '/v1/calls/ca_one/play', { tenantId: 't1', source: 'tone:440' });
    expect(play.status).toBe(202);
    expect(await play.json()).toEqual({ handledBy: 'a' });

    // The owner itself answers without a lookup.
    const local = await post(a, '/v1/gateway/calls/ca_one/control', { action: 'hold' });
    expect(await local.json()).toMatchObject({ handledBy: 'a', forwarded: null });
  });

  it('an unknown call is the normal CALL_NOT_FOUND', async () => {
    const res = await post(b, '/v1/gateway/calls/ca_nobody/control', { action: 'hangup' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'CALL_NOT_FOUND' });
  });

  it('owner unreachable → SERVICE_UNAVAILABLE (retryable)', async () => {
    await repo.put('call', 'ca_dead', { tenantId: 't1', ownerId: 'sbc-c', controlUrl: DEAD });
    const res = await post(b, '/v1/gateway/calls/ca_dead/control', { action: 'hangup' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true });
  });

  it('a forwarded request is never forwarded again (hop header)', async () => {
    // The registry says A, but the request already went through a hop: B answers for itself.
    const res = await post(b, '/v1/gateway/calls/ca_one/control', { action: 'hold' }, { [FORWARDED_HEADER]: '1' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'CALL_NOT_FOUND' });
    // A registry entry naming B itself (stale) is handled locally, not sent to itself.
    await repo.put('call', 'ca_self', { tenantId: 't1', ownerId: 'sbc-b', controlUrl: b.url });
    const self = await post(b, '/v1/gateway/calls/ca_self/control', { action: 'hold' });
    expect(self.status).toBe(404);
  });

  it('ownership is released at the call end (item gone, requests no longer forwarded)', async () => {
    a.calls.delete('ca_one');
    a.ownership.release('ca_one');
    await expect.poll(() => repo.get('call', 'ca_one'), { timeout: 5000 }).toBeUndefined();
    const res = await post(b, '/v1/gateway/calls/ca_one/control', { action: 'hangup' });
    expect(res.status).toBe(404);
    expect(a.ownership.size).toBe(0);
  });

  it('conferences: the name is owned per tenant', async () => {
    a.confs.add('t1/standup');
    await a.ownership.claimConference('t1', 'standup');
    const got = await fetch(`${b.url}/v1/conferences/standup?tenantId=t1`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ handledBy: 'a' });
    // Another tenant's conference of the same name is not A's.
    const other = await fetch(`${b.url}/v1/conferences/standup?tenantId=t2`);
    expect(other.status).toBe(404);
    const del = await fetch(`${b.url}/v1/conferences/standup?tenantId=t1`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    a.ownership.releaseConference('t1', 'standup');
    await expect.poll(() => repo.get('conference', 'standup', 't1'), { timeout: 5000 }).toBeUndefined();
  });

  it('release does not delete an item another instance took over; refresh re-writes live items', async () => {
    await a.ownership.claimConference('t1', 'moved');
    const before = (await repo.get('conference', 'moved', 't1'))!.expiresAt;
    await b.ownership.claimConference('t1', 'moved');
    a.ownership.releaseConference('t1', 'moved');
    await new Promise((r) => setTimeout(r, 200));
    expect(await repo.get('conference', 'moved', 't1')).toMatchObject({ ownerId: 'sbc-b' });
    await new Promise((r) => setTimeout(r, 1100));
    await b.ownership.refresh();
    expect((await repo.get('conference', 'moved', 't1'))!.expiresAt).toBeGreaterThan(before);
    b.ownership.releaseConference('t1', 'moved');
  });

  it('control.advertiseUrl: auto → the private address and control port', () => {
    expect(resolveAdvertiseUrl('auto', 8090, '10.0.1.23')).toBe('http://10.0.1.23:8090');
    expect(resolveAdvertiseUrl('http://sbc-1.internal:8090', 8090, '10.0.1.23')).toBe('http://sbc-1.internal:8090');
  });
});
