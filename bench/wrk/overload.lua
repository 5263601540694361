-- The overload step: route.lua's requests (BENCH_ROUTE, BENCH_TOKENS) from thousands of
-- connections, counting answers by status. done() prints one JSON line with the
-- latency of all answers (refusals included) and {"status": count}.

dofile("bench/wrk/route.lua")

counts = {}

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

local threads = {}
local route_setup = setup

function setup(thread)
  route_setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts") or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"statuses":{%s},"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    table.concat(parts, ","), errors.connect, errors.read, errors.write, errors.timeout))
end
