/**
 * In-page helpers (plain JS, injected into the harness page). Every field the tests poll exists before any async
 * work starts (FACTS §8.5). Uses only the public SDK global `Cpaas`.
 */
export const HARNESS_SCRIPT = String.raw`
window.E2E = {
  errors: [], clientEvents: [], ended: null, held: [], callMessages: [], offers: [], transfers: [], roomEvents: [],
  client: null, media: null, room: null, call: null, incoming: null, connectedAt: null, t0: 0, errorAt: null,
  async connect(token, extra) {
    extra = extra || {};
    const opts = { token, relayOnly: true, qualityIntervalMs: 0, debug: !!extra.debug };
    if (extra.badCredential) opts.iceServers = (servers) => servers.map((s) => ({ ...s, ...extra.badCredential }));
    E2E.t0 = performance.now();
    E2E.client = await Cpaas.connect(opts);
    const c = E2E.client;
    c.on('error', (e) => E2E.errors.push({ where: 'client', ...e.toJSON() }));
    c.on('state', (s) => E2E.clientEvents.push('state:' + s));
    c.on('reconnected', () => E2E.clientEvents.push('reconnected'));
    c.on('incoming-call', (call) => { E2E.incoming = call; E2E.watchCall(call); });
    return c.identity;
  },
  async makeMedia() {
    E2E.media = await Cpaas.LocalMedia.create({ audio: true, video: true });
    return E2E.media.stream.getTracks().length;
  },
  watchCall(call) {
    E2E.call = call;
    call.on('connected', () => { E2E.connectedAt = performance.now(); });
    call.on('ended', (reason, byRemote) => { E2E.ended = { reason, byRemote }; });
    call.on('hold', (held, byRemote) => E2E.held.push({ held, byRemote }));
    call.on('message', (m) => E2E.callMessages.push(m.text));
    call.on('file-offer', (t) => E2E.offers.push(t));
    call.on('error', (e) => { E2E.errorAt ??= performance.now(); E2E.errors.push({ where: 'call', ...e.toJSON() }); });
  },
  async dial(identity) {
    const call = await E2E.client.call(identity, { media: E2E.media });
    E2E.watchCall(call);
    return call.id;
  },
  async join(roomId) {
    const room = await E2E.client.joinRoom(roomId, { media: E2E.media, displayName: E2E.client.identity });
    E2E.room = room;
    room.on('error', (e) => { E2E.errorAt ??= performance.now(); E2E.errors.push({ where: 'room', ...e.toJSON() }); });
    room.on('resumed', (r) => E2E.roomEvents.push('resumed:' + r));
    room.on('participant-joined', (p) => E2E.roomEvents.push('joined:' + p.identity));
    room.on('participant-left', (p, why) => E2E.roomEvents.push('left:' + p.identity + ':' + why));
    room.on('message', (m) => E2E.roomEvents.push('msg:' + m.from.identity + ':' + m.text));
    return room.participantId;
  },
  peers() {
    if (E2E.room) return [...E2E.room.participants.values()].map((p) => ({ key: p.identity, peer: E2E.room.peer(p.id) })).filter((x) => x.peer);
    return E2E.call && E2E.call.peer ? [{ key: E2E.call.remoteIdentity, peer: E2E.call.peer }] : [];
  },
  async pcStats(pc) {
    const r = await pc.getStats();
    const s = new Map();
    r.forEach((x) => s.set(x.id, x));
    const all = [...s.values()];
    const tr = all.find((x) => x.type === 'transport');
    const pair = tr && s.get(tr.selectedCandidatePairId);
    const local = pair && s.get(pair.localCandidateId);
    const remote = pair && s.get(pair.remoteCandidateId);
    const sum = (kind, f) => all.filter((x) => x.type === 'inbound-rtp' && x.kind === kind).reduce((n, x) => n + (x[f] || 0), 0);
    return { state: pc.connectionState, local: local ? local.candidateType : null, remote: remote ? remote.candidateType : null,
      framesDecoded: sum('video', 'framesDecoded'), videoPackets: sum('video', 'packetsReceived'), audioPackets: sum('audio', 'packetsReceived') };
  },
  async allStats() {
    const out = {};
    for (const { key, peer } of E2E.peers()) out[key] = await E2E.pcStats(peer.pc);
    return out;
  },
  randomBlob(size) {
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(buf.subarray(i, Math.min(size, i + 65536)));
    return new Blob([buf], { type: 'application/octet-stream' });
  },
  async sha(blob) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
  },
};
`;
