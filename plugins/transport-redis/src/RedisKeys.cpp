// Key names and Lua scripts of the Redis transport.
#include "RedisKeys.h"

#include <utility>

namespace ordersystem::plugins::redis {

RedisKeys::RedisKeys(std::string p)
    : prefix(std::move(p)),
      log(prefix + ":log"),
      position(prefix + ":position"),
      orderIds(prefix + ":order-id"),
      nodes(prefix + ":nodes"),
      nodesInfo(prefix + ":nodes:info"),
      replicated(prefix + ":replicated") {}

namespace {

// Version check and append in one atomic step. LLEN of the order's list is its version. A retry of
// an append that did succeed (reply lost) is recognised by the first eventId and answered as done.
const char* const kAppend = R"LUA(
local expected = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local cur = redis.call('LLEN', KEYS[1])
if cur ~= expected then
  if cur >= expected + n then
    local first = redis.call('LINDEX', KEYS[1], expected)
    if first and string.find(first, ARGV[4 + n], 1, true) then
      local lastEntry = redis.call('LINDEX', KEYS[1], expected + n - 1)
      local sp = string.find(lastEntry, ' ', 1, true)
      return {2, string.sub(lastEntry, 1, sp - 1), cur}
    end
  end
  return {0, '0', cur}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  -- The counter is gone but the log may not be: continue after the log's last entry.
  local top = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  if #top > 0 then
    local dash = string.find(top[1][1], '-', 1, true)
    redis.call('SET', KEYS[2], string.sub(top[1][1], 1, dash - 1))
  end
end
local maxlen = tonumber(ARGV[2])
local last = '0'
for i = 1, n do
  local pos = redis.call('INCR', KEYS[2])
  last = string.format('%d', pos)
  if maxlen > 0 then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], last .. '-0', 'event', ARGV[3 + i])
  else
    redis.call('XADD', KEYS[3], last .. '-0', 'event', ARGV[3 + i])
  end
  redis.call('RPUSH', KEYS[1], last .. ' ' .. ARGV[3 + i])
end
if KEYS[4] then
  redis.call('SET', KEYS[4], ARGV[4 + 2 * n], 'EX', ARGV[5 + 2 * n])
end
return {1, last, cur + n}
)LUA";

const char* const kClaim = R"LUA(
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
)LUA";

const char* const kRelease = R"LUA(
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'I' then return redis.call('DEL', KEYS[1]) end
return 0
)LUA";

// Redis's clock, not the nodes': membership must not depend on the nodes' clocks agreeing.
const char* const kHeartbeat = R"LUA(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - 86400000))
for i = 1, #old do
  redis.call('ZREM', KEYS[1], old[i])
  redis.call('HDEL', KEYS[2], old[i])
end
return now
)LUA";

const char* const kLiveNodes = R"LUA(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('%d', now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i]) or ''
  out[#out + 1] = ids[i + 1]
end
return out
)LUA";

// The order's progress rises with the XACK in one step, so the order's next event can never see
// this one acknowledged but not counted (or counted but still pending). It expires with the done
// marker: an order's later event then goes by its previous event being no longer pending.
const char* const kAck = R"LUA(
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
local v = tonumber(ARGV[4])
if v > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[3]) end
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
)LUA";

const char* const kDeadLetter = R"LUA(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
local v = tonumber(ARGV[6])
if v > tonumber(redis.call('GET', KEYS[4]) or '0') then redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[7]) end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
)LUA";

const char* const kPutDeadLetter = R"LUA(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
)LUA";

const char* const kRemoveDeadLetter = R"LUA(
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
)LUA";

const char* const kRaise = R"LUA(
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
)LUA";

}  // namespace

RedisScripts::RedisScripts()
    : append{"append", kAppend, ""},
      claim{"claim", kClaim, ""},
      release{"release", kRelease, ""},
      heartbeat{"heartbeat", kHeartbeat, ""},
      liveNodes{"liveNodes", kLiveNodes, ""},
      ack{"ack", kAck, ""},
      deadLetter{"deadLetter", kDeadLetter, ""},
      putDeadLetter{"putDeadLetter", kPutDeadLetter, ""},
      removeDeadLetter{"removeDeadLetter", kRemoveDeadLetter, ""},
      raise{"raise", kRaise, ""} {}

}  // namespace ordersystem::plugins::redis
