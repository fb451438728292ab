-- wrk: GET /api/orders/{id} for random ids in [BENCH_MIN_ID, BENCH_MAX_ID].
local lo = tonumber(os.getenv("BENCH_MIN_ID") or "1")
local hi = tonumber(os.getenv("BENCH_MAX_ID") or "1000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/orders/" .. math.random(lo, hi))
end
