-- Replaces a request's reservations with the usage that was reported, once per request id.
--
-- KEYS: two per counter (as for reserve.lua), then the request's settled marker.
-- ARGV: now (epoch ms), request id, counter count, how long to remember the request (ms), grace (ms),
--       then 7 per counter: kind ("w" or "r"), window end (epoch ms), 5 actual amounts.
-- Returns 1, or 0 when the request was already settled (nothing changes: settling is idempotent).

local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = tonumber(ARGV[3])
local remember = tonumber(ARGV[4])
local grace = tonumber(ARGV[5])
local second = math.floor(now / 1000)
local marker = KEYS[#KEYS]

if redis.call("EXISTS", marker) == 1 then return 0 end

for i = 0, n - 1 do
  local base = 6 + i * 7
  local h = KEYS[2 * i + 1]
  if ARGV[base] == "w" then
    local z = KEYS[2 * i + 2]
    release_window_lease(h, z, id)
    for m = 1, 5 do
      redis.call("HINCRBY", h, "u" .. m, ARGV[base + 1 + m])
    end
    if redis.call("PTTL", h) < 0 then redis.call("PEXPIREAT", h, tonumber(ARGV[base + 1]) + grace) end
  else
    -- Tokens are corrected in the second the request was counted in, while that second is still in the
    -- sliding minute; past it, they count now. The request itself was counted when it was reserved.
    local leased = redis.call("HGET", h, "l:" .. id)
    local at, reserved = second, 0
    if leased then
      local leased_at, leased_tokens = string.match(leased, "^(%d+),(%d+)$")
      if tonumber(leased_at) > second - 60 then
        at = tonumber(leased_at)
        reserved = tonumber(leased_tokens)
      end
      redis.call("HDEL", h, "l:" .. id)
      redis.call("ZREM", KEYS[2 * i + 2], id)
    end
    redis.call("HSETNX", h, "p", second - 60)
    local delta = tonumber(ARGV[base + 3]) - reserved
    redis.call("HINCRBY", h, at .. ":2", delta)
    redis.call("HINCRBY", h, "t2", delta)
    redis.call("PEXPIRE", h, 120000)
  end
end

redis.call("SET", marker, "1", "PX", remember)
return 1
