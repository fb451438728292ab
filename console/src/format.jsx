// How the console writes money, times and statuses.
const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const STATUSES = ['Pending', 'Processing', 'Completed', 'Cancelled'];
export const STATUS_COLORS = {
  Pending: '#b45309',
  Processing: '#1d4ed8',
  Completed: '#15803d',
  Cancelled: '#b91c1c',
};

export function formatMoney(n) {
  return typeof n === 'number' ? money.format(n) : '';
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Today's times as the time of day only, older ones with their date: fits a table column. */
export function formatShort(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString();
  return d.toLocaleString([], { year: '2-digit', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function ago(iso, now = Date.now()) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function lastChange(order) {
  return order.cancelledAt || order.completedAt || order.processedAt || order.createdAt;
}

export function Time({ iso, short = false }) {
  return iso ? (
    <time dateTime={iso} title={iso}>
      {short ? formatShort(iso) : formatTime(iso)}
    </time>
  ) : (
    <span aria-label="not yet">–</span>
  );
}

export function StatusBadge({ status }) {
  return <span class={`badge badge-${String(status).toLowerCase()}`}>{status}</span>;
}
