-- Shared by the budget scripts, prepended to each when it is loaded (Redis scripts cannot import):
-- the leases of calendar-window counters. A lease is the hash field "l:<request id>" holding the
-- reserved amounts, indexed by expiry in the counter's sorted set.

-- Gives a lease's reservation back and forgets the lease (nothing happens if there is none).
local function release_window_lease(h, z, rid)
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

-- Releases every lease of a counter that expired by `at` (a replica that died mid-request).
local function release_expired_window_leases(h, z, at)
  for _, rid in ipairs(redis.call("ZRANGEBYSCORE", z, "-inf", at)) do
    release_window_lease(h, z, rid)
  end
end

