// Text chat with history and peer-to-peer file transfer in a room, without audio or video.
import { $, h, connectAs, setupJoinForm, status, showError } from './common.js';
import { mountChat } from './chat-panel.js';

async function start({ identity, room: roomName }) {
  status('connecting…');
  const { client, roomId } = await connectAs(identity, roomName);
  const room = await client.joinRoom(roomId, { displayName: identity });
  window.demo = { client, room };
  status(`in ${roomId} as ${identity}`);
  client.on('error', showError);
  room.on('error', showError);
  const people = () => $('#people').replaceChildren(h('li', {}, h('span', { class: 'dot online' }), `${identity} (you)`), ...[...room.participants.values()].map((p) => h('li', {}, h('span', { class: `dot ${p.state.connection === 'connected' ? 'online' : 'away'}` }), p.displayName || p.identity)));
  for (const ev of ['participant-joined', 'participant-left', 'participant-updated']) room.on(ev, people);
  people();
  mountChat($('#side'), room);
}

setupJoinForm(start);
