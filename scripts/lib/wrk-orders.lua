-- wrk script of load-bench's wrk run (issue 12's benchmark): single-item orders, each
-- request with the next of the users' tokens and the next of the products, in turn.
-- Reads WRK_TOKENS and WRK_PRODUCTS (space-separated) from the environment.
local tokens, products = {}, {}
for t in string.gmatch(os.getenv("WRK_TOKENS") or "", "%S+") do tokens[#tokens + 1] = t end
for p in string.gmatch(os.getenv("WRK_PRODUCTS") or "", "%S+") do products[#products + 1] = p end
-- With WRK_KEYED=1 every order carries its own Idempotency-Key, as a client that retries sends.
local keyed = os.getenv("WRK_KEYED") == "1"
math.randomseed(os.time())
local run = tostring(math.random(1, 1000000000))
local n = 0
request = function()
  n = n + 1
  local body = '{"items":[{"product_id":"' .. products[(n % #products) + 1] .. '","quantity":1}]}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
  }
  if keyed then headers["Idempotency-Key"] = "wrk-" .. run .. "-" .. n end
  return wrk.format("POST", "/v1/orders", headers, body)
end
-- With WRK_DELAY_MS=d each connection waits d milliseconds (fractional: rounded up or down at
-- random, so that the mean is d) after a response before its next request, which holds the
-- request rate near connections / (d + latency): load-bench's floor at the rate of its wrk run.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function()
    local whole = math.floor(pause)
    if math.random() < pause - whole then return whole + 1 end
    return whole
  end
end
done = function(summary, latency)
  io.write(string.format("wrk: %d requests, %d errors (non-2xx %d), p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
