-- Reserves a request's worst case on every counter of its budgets at once, or on none.
-- Runs atomically in Redis; every key carries the same {hash tag}, so it runs unchanged on Redis Cluster.
--
-- KEYS: two per counter: the counter's hash, and its lease index, a sorted set of request ids (by
--       lease expiry for window counters, by the second they were counted in for rate counters).
-- ARGV: now (epoch ms), lease (ms), request id, counter count, grace (ms a finished window is kept),
--       then 12 per counter: kind ("w" window, "r" sliding minute), window end (epoch ms),
--       5 limits (-1 = none), 5 amounts. Window metrics: µ$, input, output, total tokens, requests.
--       Rate metrics use the first two: requests, tokens.
-- Returns {1, {counter, metric, limit, remaining, reset}...} or {0, counter, metric, limit, current,
--       requested, retry_at}, counters and metrics counted from 0 and 1.
--
-- Window hash fields: u1..u5 used, r1..r5 reserved, "l:<request id>" = the lease's 5 amounts.
-- Rate hash fields: "<second>:1" requests and "<second>:2" tokens per epoch second, "t1" and "t2"
--       their totals over the sliding minute, "p" the last second dropped from it, and
--       "l:<request id>" = "<second>,<tokens>".

local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local id = ARGV[3]
local n = tonumber(ARGV[4])
local grace = tonumber(ARGV[5])
local second = math.floor(now / 1000)
local states = {}

-- The sliding minute's totals ("t1" requests, "t2" tokens), kept up to date: the seconds that have
-- left the minute since the last call ("p" is the last second dropped) are subtracted and deleted,
-- so a call costs a few commands, not a scan of the minute. Leases older than the minute are dropped.
local function rate_totals(h, z)
  local dropped = tonumber(redis.call("HGET", h, "p")) or (second - 60)
  for at = dropped + 1, second - 60 do
    for m = 1, 2 do
      local value = redis.call("HGET", h, at .. ":" .. m)
      if value then
        redis.call("HINCRBY", h, "t" .. m, 0 - tonumber(value))
        redis.call("HDEL", h, at .. ":" .. m)
      end
    end
  end
  if second - 60 > dropped then redis.call("HSET", h, "p", second - 60) end
  for _, rid in ipairs(redis.call("ZRANGEBYSCORE", z, "-inf", second - 60)) do
    redis.call("HDEL", h, "l:" .. rid)
    redis.call("ZREM", z, rid)
  end
  local totals = redis.call("HMGET", h, "t1", "t2")
  return {tonumber(totals[1]) or 0, tonumber(totals[2]) or 0}
end

-- When the oldest usage still in the minute leaves it (only needed to answer a refusal).
local function rate_reset(h)
  for at = second - 59, second do
    if (tonumber(redis.call("HGET", h, at .. ":1")) or 0) > 0 or (tonumber(redis.call("HGET", h, at .. ":2")) or 0) > 0 then
      return (at + 60) * 1000
    end
  end
  return (second + 60) * 1000
end

for i = 0, n - 1 do
  local base = 6 + i * 12
  local kind = ARGV[base]
  local window_end = tonumber(ARGV[base + 1])
  local h = KEYS[2 * i + 1]
  if kind == "w" then
    release_expired_window_leases(h, KEYS[2 * i + 2], now)
    local values = redis.call("HMGET", h, "u1", "u2", "u3", "u4", "u5", "r1", "r2", "r3", "r4", "r5")
    for m = 1, 5 do
      local limit = tonumber(ARGV[base + 1 + m])
      if limit >= 0 then
        local amount = tonumber(ARGV[base + 6 + m])
        local current = (tonumber(values[m]) or 0) + (tonumber(values[m + 5]) or 0)
        if current + amount > limit then return {0, i, m, limit, current, amount, window_end} end
        table.insert(states, {i, m, limit, limit - current - amount, window_end})
      end
    end
  else
    local totals = rate_totals(h, KEYS[2 * i + 2])
    for m = 1, 2 do
      local limit = tonumber(ARGV[base + 1 + m])
      if limit >= 0 then
        local amount = tonumber(ARGV[base + 6 + m])
        if totals[m] + amount > limit then return {0, i, m, limit, totals[m], amount, rate_reset(h)} end
        table.insert(states, {i, m, limit, limit - totals[m] - amount, (second + 60) * 1000})
      end
    end
  end
end

for i = 0, n - 1 do
  local base = 6 + i * 12
  local h = KEYS[2 * i + 1]
  if ARGV[base] == "w" then
    local z = KEYS[2 * i + 2]
    local amounts = {}
    for m = 1, 5 do
      local amount = ARGV[base + 6 + m]
      redis.call("HINCRBY", h, "r" .. m, amount)
      amounts[m] = amount
    end
    redis.call("HSET", h, "l:" .. id, table.concat(amounts, ","))
    redis.call("ZADD", z, now + lease, id)
    local expire_at = tonumber(ARGV[base + 1]) + grace
    redis.call("PEXPIREAT", h, expire_at)
    redis.call("PEXPIREAT", z, expire_at)
  else
    local z = KEYS[2 * i + 2]
    -- A new counter has dropped nothing yet: everything from here on is in its minute.
    redis.call("HSETNX", h, "p", second - 60)
    redis.call("HINCRBY", h, second .. ":1", ARGV[base + 7])
    redis.call("HINCRBY", h, second .. ":2", ARGV[base + 8])
    redis.call("HINCRBY", h, "t1", ARGV[base + 7])
    redis.call("HINCRBY", h, "t2", ARGV[base + 8])
    redis.call("HSET", h, "l:" .. id, second .. "," .. ARGV[base + 8])
    redis.call("ZADD", z, second, id)
    redis.call("PEXPIRE", h, 120000)
    redis.call("PEXPIRE", z, 120000)
  end
end

return {1, states}
