// The time series the charts draw, derived from the orders themselves (createdAt, completedAt,
// totalAmount): the API's /api/analytics has only totals.

const MINUTE = 60 * 1000;
const BUCKETS = [1, 5, 15, 60, 360, 1440, 10080].map((m) => m * MINUTE);

/** Orders created in each of the last `minutes` minutes, oldest first, ending with the current one. */
export function ordersPerMinute(orders, now = Date.now(), minutes = 30) {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const start = end - (minutes - 1) * MINUTE;
  const counts = new Array(minutes).fill(0);
  for (const o of orders) {
    const t = o.createdAt;
    if (t >= start && t < end + MINUTE) counts[Math.floor((t - start) / MINUTE)] += 1;
  }
  return counts.map((count, i) => ({ t: start + i * MINUTE, value: count }));
}

/** Completed revenue summed up over time, in at most `maxPoints` buckets from the first completion. */
export function revenueOverTime(orders, now = Date.now(), maxPoints = 48) {
  const done = orders.filter((o) => o.completedAt).sort((a, b) => a.completedAt - b.completedAt);
  if (done.length === 0) return [];
  const first = done[0].completedAt;
  const size = BUCKETS.find((b) => (now - first) / b < maxPoints) || BUCKETS[BUCKETS.length - 1];
  // At least a dozen buckets, so a young system still draws a line from zero.
  const start = Math.min(Math.floor(first / size) * size, Math.floor(now / size) * size - 11 * size);
  const points = [];
  let cents = 0;
  let i = 0;
  for (let t = start; t <= now && points.length < maxPoints * 2; t += size) {
    while (i < done.length && done[i].completedAt < t + size) cents += Math.round(done[i++].total * 100);
    points.push({ t, value: cents / 100 });
  }
  return points;
}

/** The figures one order contributes, from an order document. */
export function pointOf(order) {
  return {
    id: order.id,
    createdAt: Date.parse(order.createdAt),
    completedAt: order.completedAt ? Date.parse(order.completedAt) : 0,
    total: order.totalAmount,
  };
}

/** Updates the figures from one event document of the stream. */
export function applyEvent(points, event) {
  if (event.type === 'OrderCreated') {
    points.set(event.orderId, {
      id: event.orderId,
      createdAt: Date.parse(event.occurredAt),
      completedAt: 0,
      total: (event.data && event.data.totalAmount) || 0,
    });
  } else if (event.type === 'OrderCompleted') {
    const p = points.get(event.orderId);
    if (p) p.completedAt = Date.parse((event.data && event.data.completedAt) || event.occurredAt);
  }
}
