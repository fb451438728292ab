import { useEffect, useRef, useState } from 'preact/hooks';

import { api } from './api.js';
import { useLiveReload } from './hooks.js';
import { StatusBadge, Time, formatMoney } from './format.jsx';

/** What each state allows (the server decides; this only hides buttons that cannot work). */
const ALLOWED = {
  Pending: ['process', 'cancel'],
  Processing: ['complete', 'cancel'],
  Completed: [],
  Cancelled: [],
};

const EVENT_TEXT = {
  OrderCreated: 'Created',
  OrderProcessing: 'Processing started',
  OrderCompleted: 'Completed',
  OrderCancelled: 'Cancelled',
};

function Timeline({ events }) {
  return (
    <ol class="timeline" aria-label="Event timeline">
      {events.map((e) => (
        <li key={e.eventId}>
          <strong>{EVENT_TEXT[e.type] || e.type}</strong> <Time iso={e.occurredAt} />
          <div class="muted small">
            version {e.version} · node {e.nodeId}
            {e.metadata && e.metadata.actor ? ` · by ${e.metadata.actor}` : ''}
            {e.type === 'OrderCancelled' && e.data && e.data.reason ? ` · reason: ${e.data.reason}` : ''}
          </div>
        </li>
      ))}
    </ol>
  );
}

function Commands({ order, onDone }) {
  const [busy, setBusy] = useState(false);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState(null);
  useEffect(() => setMessage(null), [order.id]);
  const allowed = ALLOWED[order.status] || [];

  const run = async (command) => {
    setBusy(true);
    setMessage(null);
    const q = command === 'cancel' ? `?reason=${encodeURIComponent(reason)}` : '';
    try {
      const after = await api(`/api/orders/${order.id}/${command}${q}`, { method: 'POST' });
      setMessage({ ok: true, text: `Order ${after.orderNumber} is now ${after.status}.` });
      setReason('');
    } catch (e) {
      setMessage({ ok: false, text: e.message, errors: e.errors });
    } finally {
      setBusy(false);
      onDone();
    }
  };

  return (
    <div class="commands">
      {allowed.length === 0 && <p class="muted">No commands: the order is {order.status.toLowerCase()}.</p>}
      <div class="buttons">
        {allowed.includes('process') && (
          <button type="button" disabled={busy} onClick={() => run('process')}>
            Process
          </button>
        )}
        {allowed.includes('complete') && (
          <button type="button" disabled={busy} onClick={() => run('complete')}>
            Complete
          </button>
        )}
      </div>
      {allowed.includes('cancel') && (
        <form
          class="cancel"
          onSubmit={(e) => {
            e.preventDefault();
            run('cancel');
          }}
        >
          <label for="cancel-reason">Cancel reason</label>
          <input
            id="cancel-reason"
            type="text"
            value={reason}
            required
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <button type="submit" class="danger" disabled={busy}>
            Cancel order
          </button>
        </form>
      )}
      <div aria-live="polite" data-testid="command-message">
        {message && (
          <div class={message.ok ? 'success' : 'error'} role={message.ok ? 'status' : 'alert'}>
            {message.text}
            {message.errors && message.errors.length > 0 && (
              <ul>
                {message.errors.map((t) => (
                  <li key={t}>{t}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </div>
  );
}

export function OrderDetail({ id, changes }) {
  const [order, setOrder] = useState(null);
  const [events, setEvents] = useState([]);
  const [error, setError] = useState('');
  const heading = useRef(null);

  const load = async () => {
    try {
      const [o, ev] = await Promise.all([api(`/api/orders/${id}`), api(`/api/orders/${id}/events`)]);
      setOrder(o);
      setEvents(ev || []);
      setError('');
    } catch (e) {
      setError(e.message);
    }
  };
  const mine = changes.last ? (changes.last.orderId === id ? changes.seq : 0) : changes.seq;
  useLiveReload(load, mine, [id]);
  useEffect(() => {
    if (heading.current) heading.current.focus({ preventScroll: false });
  }, [id, order === null]);

  return (
    <section class="card detail" aria-labelledby="detail-title" data-testid="order-detail">
      <a class="back" href="#/orders">
        ← All orders
      </a>
      <h2 id="detail-title" tabIndex={-1} ref={heading}>
        {order ? order.orderNumber : `Order ${id}`}
      </h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {order && order.id === id && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={order.status} />
            </dd>
            <dt>Customer</dt>
            <dd>{order.customerName}</dd>
            <dt>Total</dt>
            <dd>{formatMoney(order.totalAmount)}</dd>
            <dt>Version</dt>
            <dd>{order.version}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={order.createdAt} />
            </dd>
            {order.processedAt && <dt>Processing since</dt>}
            {order.processedAt && (
              <dd>
                <Time iso={order.processedAt} />
              </dd>
            )}
            {order.completedAt && <dt>Completed</dt>}
            {order.completedAt && (
              <dd>
                <Time iso={order.completedAt} />
              </dd>
            )}
            {order.cancelledAt && <dt>Cancelled</dt>}
            {order.cancelledAt && (
              <dd>
                <Time iso={order.cancelledAt} /> ({order.cancelReason})
              </dd>
            )}
          </dl>
          <Commands order={order} onDone={load} />
          <h3>Items</h3>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col" class="num">
                    Quantity
                  </th>
                  <th scope="col" class="num">
                    Price
                  </th>
                  <th scope="col" class="num">
                    Line total
                  </th>
                </tr>
              </thead>
              <tbody>
                {order.items.map((it, i) => (
                  <tr key={i}>
                    <td>{it.productName}</td>
                    <td class="num">{it.quantity}</td>
                    <td class="num">{formatMoney(it.price)}</td>
                    <td class="num">{formatMoney(Math.round(it.price * it.quantity * 100) / 100)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h3>Timeline</h3>
          <Timeline events={events} />
        </>
      )}
    </section>
  );
}
