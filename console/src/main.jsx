import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { api, apiKey, onUnauthorized, setApiKey } from './api.js';
import { openEventStream } from './stream.js';
import { KeyPrompt } from './KeyPrompt.jsx';
import { OrdersView } from './Orders.jsx';
import { AnalyticsView } from './Analytics.jsx';
import { ClusterView } from './Cluster.jsx';
import './style.css';

const VIEWS = [
  { id: 'orders', label: 'Orders' },
  { id: 'analytics', label: 'Analytics' },
  { id: 'cluster', label: 'Cluster' },
];

/** #/orders, #/orders/12, #/analytics, #/cluster */
function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const view = VIEWS.some((v) => v.id === parts[0]) ? parts[0] : 'orders';
  const id = view === 'orders' && /^[1-9][0-9]{0,15}$/.test(parts[1] || '') ? Number(parts[1]) : null;
  return { view, id };
}

function useHashRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const onChange = () => setRoute(parseHash());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const STREAM_TEXT = { connecting: 'Connecting…', live: 'Live', offline: 'Offline, reconnecting…' };

function StreamIndicator({ state, detail }) {
  return (
    <p class={`stream stream-${state}`} role="status" title={detail || ''} data-testid="stream-state">
      <span class="dot" aria-hidden="true" />
      {STREAM_TEXT[state]}
    </p>
  );
}

/** The live feed: `changes` counts the events seen (or resets), `last` is the newest event. */
function useLiveChanges(enabled) {
  const [stream, setStream] = useState({ state: 'connecting', detail: '' });
  const [changes, setChanges] = useState({ seq: 0, last: null });
  useEffect(() => {
    if (!enabled) return undefined;
    return openEventStream({
      onState: (state, detail) => setStream({ state, detail }),
      onReset: () => setChanges((c) => ({ seq: c.seq + 1, last: null, reset: true })),
      onEvent: (event) => setChanges((c) => ({ seq: c.seq + 1, last: event })),
    });
  }, [enabled]);
  return { stream, changes };
}

function App() {
  const route = useHashRoute();
  // 'probing' until the first /api answer says whether a key is needed.
  const [access, setAccess] = useState('probing');
  const [keyError, setKeyError] = useState('');
  const [epoch, setEpoch] = useState(0);
  const main = useRef(null);

  const probe = useCallback(async () => {
    try {
      await api('/api/analytics');
      setAccess('ok');
      setKeyError('');
    } catch (e) {
      // A 401 is handled by the onUnauthorized listener below; other errors the views show.
      if (e.status !== 401) setAccess('ok');
    }
  }, []);
  useEffect(() => {
    probe();
  }, [probe]);
  useEffect(
    () =>
      onUnauthorized((problem) => {
        // No key yet: just ask. A key the server refused: say why.
        setKeyError(apiKey() ? problem.detail || problem.title : '');
        setApiKey('');
        setAccess('key');
      }),
    [],
  );

  const { stream, changes } = useLiveChanges(access === 'ok' ? `on-${epoch}` : '');

  const submitKey = async (key) => {
    setApiKey(key);
    setAccess('probing');
    setEpoch((n) => n + 1); // the views and the stream start over with the key
    await probe();
  };
  const forgetKey = () => {
    setApiKey('');
    setAccess('probing');
    probe();
  };

  useEffect(() => {
    if (main.current && access === 'ok') main.current.focus({ preventScroll: true });
  }, [route.view]);

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current && main.current.focus())}>
        Skip to content
      </a>
      <header class="top">
        <h1>
          <img src="/console/favicon.svg" alt="" width="24" height="24" /> Order System
        </h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a href={`#/${v.id}`} aria-current={route.view === v.id ? 'page' : undefined} key={v.id}>
              {v.label}
            </a>
          ))}
        </nav>
        <div class="top-right">
          {access === 'ok' && <StreamIndicator state={stream.state} detail={stream.detail} />}
          {access === 'ok' && apiKey() && (
            <button type="button" class="link" onClick={forgetKey}>
              Forget key
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        {access === 'probing' && <p class="muted">Loading…</p>}
        {access === 'key' && <KeyPrompt error={keyError} onSubmit={submitKey} />}
        {access === 'ok' && route.view === 'orders' && <OrdersView key={epoch} openId={route.id} changes={changes} />}
        {access === 'ok' && route.view === 'analytics' && <AnalyticsView key={epoch} changes={changes} />}
        {access === 'ok' && route.view === 'cluster' && <ClusterView key={epoch} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
