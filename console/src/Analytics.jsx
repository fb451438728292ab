import { useEffect, useRef, useState } from 'preact/hooks';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';

import { api } from './api.js';
import { useLiveReload } from './hooks.js';
import { STATUSES, STATUS_COLORS, formatMoney } from './format.jsx';
import { applyEvent, ordersPerMinute, pointOf, revenueOverTime } from './series.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Filler, Tooltip);
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#1f2937';

// Enough history for the charts without loading an unbounded log into the browser.
const MAX_PAGES = 20;
const PAGE = 1000;

function hhmm(t) {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function label(t, points) {
  const span = points.length > 1 ? points[points.length - 1].t - points[0].t : 0;
  return span > 24 * 3600 * 1000 ? new Date(t).toLocaleDateString() : hhmm(t);
}

/** One Chart.js chart on a canvas that screen readers read through its summary. */
function ChartCard({ id, title, summary, config }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current, config);
    return () => chart.current.destroy();
  }, []);
  useEffect(() => {
    if (!chart.current) return;
    chart.current.data = config.data;
    chart.current.update();
  }, [config.data]);
  return (
    <section class="card chart" aria-labelledby={`${id}-title`} data-testid={id}>
      <h3 id={`${id}-title`}>{title}</h3>
      <div class="canvas-box">
        <canvas ref={canvas} role="img" aria-label={`${title}: ${summary}`} />
      </div>
      <p class="muted small" data-testid={`${id}-summary`}>
        {summary}
      </p>
    </section>
  );
}

const BASE = { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } };
// A fresh object per chart: Chart.js resolves options in place.
const timeAxis = () => ({ ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12, maxTicksLimit: 6 } });

function statusChart(counts) {
  return {
    type: 'bar',
    options: { ...BASE, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    data: {
      labels: STATUSES,
      datasets: [{ label: 'Orders', data: STATUSES.map((s) => counts[s] || 0), backgroundColor: STATUSES.map((s) => STATUS_COLORS[s]) }],
    },
  };
}

function revenueChart(points) {
  return {
    type: 'line',
    options: { ...BASE, scales: { x: timeAxis(), y: { beginAtZero: true } } },
    data: {
      labels: points.map((p) => label(p.t, points)),
      datasets: [{ label: 'Completed revenue', data: points.map((p) => p.value), borderColor: '#15803d', backgroundColor: 'rgba(21,128,61,0.15)', fill: true, pointRadius: 2, tension: 0 }],
    },
  };
}

function perMinuteChart(points) {
  return {
    type: 'bar',
    options: { ...BASE, scales: { x: timeAxis(), y: { beginAtZero: true, ticks: { precision: 0 } } } },
    data: {
      labels: points.map((p) => hhmm(p.t)),
      datasets: [{ label: 'Orders created', data: points.map((p) => p.value), backgroundColor: '#1d4ed8' }],
    },
  };
}

async function loadPoints() {
  const points = new Map();
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/api/orders?${q}`);
    for (const o of page.items || []) points.set(o.id, pointOf(o));
    cursor = page.nextCursor;
    if (!cursor) return { points, complete: true };
  }
  return { points, complete: false };
}

export function AnalyticsView({ changes }) {
  const [figures, setFigures] = useState(null);
  const [error, setError] = useState('');
  const points = useRef(new Map());
  const [series, setSeries] = useState({ revenue: [], perMinute: [], complete: true, at: 0 });

  const redraw = (complete) => {
    const all = [...points.current.values()];
    const now = Date.now();
    setSeries({ revenue: revenueOverTime(all, now), perMinute: ordersPerMinute(all, now), complete, at: now });
  };
  const loadFigures = async () => {
    try {
      setFigures(await api('/api/analytics'));
      setError('');
    } catch (e) {
      setError(e.message);
    }
  };
  const loadAll = async () => {
    try {
      const loaded = await loadPoints();
      points.current = loaded.points;
      redraw(loaded.complete);
    } catch (e) {
      setError(e.message);
    }
  };
  useEffect(() => {
    loadAll();
  }, []);
  useEffect(() => {
    if (changes.reset) loadAll();
    else if (changes.last) {
      applyEvent(points.current, changes.last);
      redraw(series.complete);
    }
  }, [changes.seq]);
  useLiveReload(loadFigures, changes.seq, []);
  // The per-minute window moves on even when nothing happens.
  useEffect(() => {
    const timer = setInterval(() => redraw(series.complete), 30000);
    return () => clearInterval(timer);
  });

  const counts = (figures && figures.ordersByStatus) || {};
  const lastRevenue = series.revenue.length ? series.revenue[series.revenue.length - 1].value : 0;
  const perMinuteTotal = series.perMinute.reduce((n, p) => n + p.value, 0);
  return (
    <div class="analytics">
      <h2>Analytics</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {figures && (
        <dl class="kpis" data-testid="kpis">
          <div>
            <dt>Orders</dt>
            <dd>{figures.totalOrders}</dd>
          </div>
          <div>
            <dt>Completed revenue</dt>
            <dd>{formatMoney(figures.completedRevenue)}</dd>
          </div>
          <div>
            <dt>Average order value</dt>
            <dd>{formatMoney(figures.averageOrderValue)}</dd>
          </div>
        </dl>
      )}
      <div class="charts">
        <ChartCard
          id="chart-status"
          title="Orders by status"
          summary={STATUSES.map((s) => `${s} ${counts[s] || 0}`).join(', ')}
          config={statusChart(counts)}
        />
        <ChartCard
          id="chart-revenue"
          title="Completed revenue over time"
          summary={series.revenue.length ? `${formatMoney(lastRevenue)} in total` : 'No completed orders yet'}
          config={revenueChart(series.revenue)}
        />
        <ChartCard
          id="chart-per-minute"
          title="Orders per minute (last 30 minutes)"
          summary={`${perMinuteTotal} orders created in the last 30 minutes`}
          config={perMinuteChart(series.perMinute)}
        />
      </div>
      {!series.complete && (
        <p class="muted small">The time charts show the first {MAX_PAGES * PAGE} orders and the live ones since.</p>
      )}
    </div>
  );
}
