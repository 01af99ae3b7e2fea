-- Reserves a request's worst case on every counter of its budgets at once, or on none.
-- Runs atomically in Redis; every key carries the same {hash tag}, so it runs unchanged on Redis Cluster.
--
-- KEYS: two per counter: the counter's hash, and (window counters) its lease index, a sorted set of
--       request ids by lease expiry (rate counters pass their hash twice).
-- ARGV: now (epoch ms), lease (ms), request id, counter count, grace (ms a finished window is kept),
--       then 12 per counter: kind ("w" window, "r" sliding minute), window end (epoch ms),
--       5 limits (-1 = none), 5 amounts. Window metrics: µ$, input, output, total tokens, requests.
--       Rate metrics use the first two: requests, tokens.
-- Returns {1, {counter, metric, limit, remaining, reset}...} or {0, counter, metric, limit, current,
--       requested, retry_at}, counters and metrics counted from 0 and 1.
--
-- Window hash fields: u1..u5 used, r1..r5 reserved, "l:<request id>" = the lease's 5 amounts.
-- Rate hash fields: "<second>:1" requests and "<second>:2" tokens per epoch second, and
--       "l:<request id>" = "<second>,<tokens>".

local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local id = ARGV[3]
local n = tonumber(ARGV[4])
local grace = tonumber(ARGV[5])
local second = math.floor(now / 1000)
local states = {}

local function purge_window(h, z)
  local expired = redis.call("ZRANGEBYSCORE", z, "-inf", now)
  for _, rid in ipairs(expired) do
    local amounts = redis.call("HGET", h, "l:" .. rid)
    if amounts then
      local m = 1
      for amount in string.gmatch(amounts, "[^,]+") do
        -- "0 - x", not "-x": for x = 0, "-x" is -0, which Redis refuses as an integer.
        redis.call("HINCRBY", h, "r" .. m, 0 - tonumber(amount))
        m = m + 1
      end
      redis.call("HDEL", h, "l:" .. rid)
    end
    redis.call("ZREM", z, rid)
  end
end

-- Sums the sliding minute, dropping seconds (and leases) that have left it.
local function rate_totals(h)
  local fields = redis.call("HGETALL", h)
  local totals = {0, 0}
  local oldest = second
  for j = 1, #fields, 2 do
    local field, value = fields[j], fields[j + 1]
    local at, metric = string.match(field, "^(%d+):([12])$")
    if at then
      at = tonumber(at)
      if at <= second - 60 then
        redis.call("HDEL", h, field)
      else
        totals[tonumber(metric)] = totals[tonumber(metric)] + tonumber(value)
        if at < oldest and tonumber(value) > 0 then oldest = at end
      end
    else
      local leased_at = tonumber(string.match(value, "^(%d+),"))
      if leased_at and leased_at <= second - 60 then redis.call("HDEL", h, field) end
    end
  end
  return totals, (oldest + 60) * 1000
end

for i = 0, n - 1 do
  local base = 6 + i * 12
  local kind = ARGV[base]
  local window_end = tonumber(ARGV[base + 1])
  local h = KEYS[2 * i + 1]
  if kind == "w" then
    purge_window(h, KEYS[2 * i + 2])
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
    local totals, reset = rate_totals(h)
    for m = 1, 2 do
      local limit = tonumber(ARGV[base + 1 + m])
      if limit >= 0 then
        local amount = tonumber(ARGV[base + 6 + m])
        if totals[m] + amount > limit then return {0, i, m, limit, totals[m], amount, reset} end
        table.insert(states, {i, m, limit, limit - totals[m] - amount, reset})
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
    redis.call("HINCRBY", h, second .. ":1", ARGV[base + 7])
    redis.call("HINCRBY", h, second .. ":2", ARGV[base + 8])
    redis.call("HSET", h, "l:" .. id, second .. "," .. ARGV[base + 8])
    redis.call("PEXPIRE", h, 120000)
  end
end

return {1, states}
