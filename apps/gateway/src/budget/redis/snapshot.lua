-- Reads counters' totals, dropping expired leases first (so a dead replica's reservations are not shown).
-- KEYS: two per counter (as for reserve.lua). ARGV: now (epoch ms), then the kind of each counter.
-- Returns per counter {u1..u5, r1..r5} (window) or {requests, tokens} (rate, over the sliding minute).

local now = tonumber(ARGV[1])
local second = math.floor(now / 1000)
local out = {}
for i = 0, #KEYS / 2 - 1 do
  local h = KEYS[2 * i + 1]
  if ARGV[2 + i] == "w" then
    local z = KEYS[2 * i + 2]
    release_expired_window_leases(h, z, now)
    local values = redis.call("HMGET", h, "u1", "u2", "u3", "u4", "u5", "r1", "r2", "r3", "r4", "r5")
    local row = {}
    for m = 1, 10 do row[m] = tonumber(values[m]) or 0 end
    out[i + 1] = row
  else
    -- Read-only for rate counters: sum the seconds still in the minute.
    local totals = {0, 0}
    for at = second - 59, second do
      for m = 1, 2 do
        totals[m] = totals[m] + (tonumber(redis.call("HGET", h, at .. ":" .. m)) or 0)
      end
    end
    out[i + 1] = totals
  end
end
return out
