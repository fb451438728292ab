import { useEffect, useState } from 'preact/hooks';

import { api, authHeaders } from './api.js';
import { Time, ago } from './format.jsx';

const REFRESH_MS = 5000;

/** /health/ready answers 503 with the same document when a dependency is down. */
async function readiness() {
  const res = await fetch('/health/ready', { headers: { Accept: 'application/json', ...authHeaders() } });
  const body = await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, body };
}

export function ClusterView() {
  const [nodes, setNodes] = useState(null);
  const [ready, setReady] = useState(null);
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    let alive = true;
    const load = async () => {
      const [n, r] = await Promise.allSettled([api('/api/cluster/nodes'), readiness()]);
      if (!alive) return;
      if (n.status === 'fulfilled') setNodes(n.value);
      setReady(r.status === 'fulfilled' ? r.value : { ok: false, status: 0, body: null });
      setError(n.status === 'rejected' ? n.reason.message : '');
      setNow(Date.now());
    };
    load();
    const timer = setInterval(() => document.visibilityState === 'visible' && load(), REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);

  return (
    <div class="cluster">
      <section class="card" aria-labelledby="nodes-title">
        <h2 id="nodes-title">Nodes</h2>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="table-wrap">
          <table data-testid="nodes">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Mode</th>
                <th scope="col">Address</th>
                <th scope="col">Last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {(nodes || []).map((n) => (
                <tr key={n.nodeId}>
                  <th scope="row">{n.nodeId}</th>
                  <td>{n.mode}</td>
                  <td>{n.address}</td>
                  <td>
                    <Time iso={n.lastSeen} /> <span class="muted">({ago(n.lastSeen, now)})</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="ready-title" data-testid="readiness">
        <h2 id="ready-title">This node</h2>
        {ready && ready.body && (
          <>
            <p>
              <span class={`badge ${ready.ok ? 'badge-completed' : 'badge-cancelled'}`}>
                {ready.ok ? 'Ready' : 'Not ready'}
              </span>{' '}
              {ready.body.nodeId} · {ready.body.mode}
            </p>
            <ul class="checks">
              {(ready.body.checks || []).map((c) => (
                <li key={c.name}>
                  <strong>{c.name}</strong>: {c.status}
                  {c.detail ? ` (${c.detail})` : ''}
                </li>
              ))}
            </ul>
          </>
        )}
        {ready && !ready.body && (
          <p class="error" role="alert">
            /health/ready did not answer (HTTP {ready.status || 'error'}).
          </p>
        )}
      </section>
    </div>
  );
}
