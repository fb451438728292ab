import { useState } from 'preact/hooks';

import { api } from './api.js';
import { useLiveReload } from './hooks.js';
import { STATUSES, StatusBadge, Time, formatMoney, lastChange } from './format.jsx';
import { OrderDetail } from './OrderDetail.jsx';

const PAGE_SIZE = 20;

function Filters({ filters, onChange }) {
  const [customer, setCustomer] = useState(filters.customer);
  return (
    <form
      class="filters"
      role="search"
      aria-label="Filter orders"
      onSubmit={(e) => {
        e.preventDefault();
        onChange({ ...filters, customer: customer.trim() });
      }}
    >
      <div>
        <label for="f-status">Status</label>
        <select
          id="f-status"
          value={filters.status}
          onChange={(e) => onChange({ ...filters, status: e.currentTarget.value })}
        >
          <option value="">All</option>
          {STATUSES.map((s) => (
            <option value={s} key={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="f-customer">Customer (exact name)</label>
        <input id="f-customer" type="search" value={customer} onInput={(e) => setCustomer(e.currentTarget.value)} />
      </div>
      <button type="submit">Filter</button>
    </form>
  );
}

function OrderRow({ order, open }) {
  const href = `#/orders/${order.id}`;
  return (
    <tr class={open ? 'open' : undefined} onClick={() => (location.hash = href)} data-order-id={order.id}>
      <th scope="row" class="c-order">
        <a href={href} aria-current={open ? 'true' : undefined}>
          {order.orderNumber}
        </a>
      </th>
      <td class="c-customer">{order.customerName}</td>
      <td class="c-status">
        <StatusBadge status={order.status} />
      </td>
      <td class="num c-total">{formatMoney(order.totalAmount)}</td>
      <td class="wide-only">
        <Time iso={order.createdAt} short />
      </td>
      <td class="wide-only beside-detail-hidden">
        <Time iso={lastChange(order)} short />
      </td>
    </tr>
  );
}

export function OrdersView({ openId, changes }) {
  const [filters, setFilters] = useState({ status: '', customer: '' });
  // cursors[i] opens page i (null: the first page).
  const [cursors, setCursors] = useState([null]);
  const [page, setPage] = useState({ items: [], nextCursor: null, loaded: false });
  const [error, setError] = useState('');
  const cursor = cursors[cursors.length - 1];

  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filters.status) q.set('status', filters.status);
    if (filters.customer) q.set('customer', filters.customer);
    if (cursor) q.set('cursor', cursor);
    try {
      const body = await api(`/api/orders?${q}`);
      setPage({ items: body.items || [], nextCursor: body.nextCursor || null, loaded: true });
      setError('');
    } catch (e) {
      setError(e.message);
    }
  };
  useLiveReload(load, changes.seq, [filters, cursor]);

  const applyFilters = (f) => {
    setFilters(f);
    setCursors([null]);
  };

  return (
    <div class={`orders ${openId ? 'with-detail' : ''}`}>
      <section class="card list" aria-labelledby="orders-title">
        <h2 id="orders-title">Orders</h2>
        <Filters filters={filters} onChange={applyFilters} />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="table-wrap">
          <table class="orders-table">
            <caption class="sr-only">
              Orders, oldest first{filters.status ? `, status ${filters.status}` : ''}
              {filters.customer ? `, customer ${filters.customer}` : ''}, page {cursors.length}
            </caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Customer</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col" class="wide-only">
                  Created
                </th>
                <th scope="col" class="wide-only beside-detail-hidden">
                  Last change
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((o) => (
                <OrderRow order={o} open={o.id === openId} key={o.id} />
              ))}
            </tbody>
          </table>
        </div>
        {page.loaded && page.items.length === 0 && <p class="muted">No orders match.</p>}
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <span>Page {cursors.length}</span>
          <button
            type="button"
            disabled={!page.nextCursor}
            onClick={() => setCursors([...cursors, page.nextCursor])}
          >
            Next
          </button>
        </nav>
      </section>
      {openId && <OrderDetail id={openId} changes={changes} />}
    </div>
  );
}
