// GET /api/events/stream read with fetch (EventSource cannot send Authorization), parsed as
// Server-Sent Events, reconnecting by itself with Last-Event-ID so no event is missed or repeated.
import { authHeaders } from './api.js';

const MAX_LINE = 1 << 20; // an event document is far smaller; a longer line means a broken stream

function parseMessage(block) {
  const msg = { id: null, event: 'message', data: [] };
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') msg.id = value;
    else if (field === 'event') msg.event = value;
    else if (field === 'data') msg.data.push(value);
  }
  return msg.data.length ? { ...msg, data: msg.data.join('\n') } : null;
}

/**
 * Opens the stream and keeps it open until stop() is called.
 * onEvent(eventDocument, position); onState('connecting' | 'live' | 'offline', detail);
 * onReset() when the stream started afresh (first open, or the position was too old: 410), so
 * the caller reloads what it shows.
 */
export function openEventStream({ onEvent, onState, onReset }) {
  let stopped = false;
  let controller = null;
  let lastId = '';
  let delay = 1000;

  async function once() {
    controller = new AbortController();
    onState('connecting');
    const headers = { Accept: 'text/event-stream', ...authHeaders() };
    if (lastId) headers['Last-Event-ID'] = lastId;
    const res = await fetch('/api/events/stream', { headers, signal: controller.signal, cache: 'no-store' });
    if (res.status === 410) {
      lastId = '';
      throw new Error('the stream position is too old; reloading');
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const fresh = !lastId;
    onState('live');
    delay = 1000;
    if (fresh) onReset();
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const msg = parseMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!msg) continue;
        if (msg.id) lastId = msg.id;
        try {
          onEvent(JSON.parse(msg.data), msg.id);
        } catch (e) {
          console.warn('ignored an event that is not JSON', e);
        }
      }
      if (buffer.length > MAX_LINE) throw new Error('the stream sent an over-long message');
    }
    throw new Error('the stream ended');
  }

  async function loop() {
    while (!stopped) {
      try {
        await once();
      } catch (e) {
        if (stopped) return;
        onState('offline', String(e.message || e));
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  loop();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
