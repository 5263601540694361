-- One route of the ScooterBooter API under wrk, acting as many users.
--
-- Environment:
--   BENCH_ROUTE   me | feed | profile | user_posts | scoops | post | react | comment | ceiling
--   BENCH_TOKENS  file of "token handle post-id" lines (scooterbooter seed --tokens)
--
-- Each request takes the next line of the file (each wrk thread starts at a different
-- line), so consecutive requests come from different users. done() prints one JSON line.

local route = os.getenv("BENCH_ROUTE") or "me"
local tokens_file = os.getenv("BENCH_TOKENS") or "tokens.txt"
local users = {}
local next_user = 1
local counter = 0
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
end

function init(args)
  for line in io.lines(tokens_file) do
    local token, handle, post = line:match("^(%S+) (%S+) (%S+)$")
    if token then
      users[#users + 1] = { token = token, handle = handle, post = post }
    end
  end
  if #users == 0 then
    error("no users in " .. tokens_file)
  end
  local n = tonumber(thread_no) or 1
  next_user = ((n - 1) * 7919) % #users + 1
end

local function json_headers(token)
  return {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
end

function request()
  local u = users[next_user]
  next_user = next_user % #users + 1
  counter = counter + 1
  local auth = { ["Authorization"] = "Bearer " .. u.token }
  if route == "me" then
    return wrk.format("GET", "/me", auth)
  elseif route == "feed" then
    return wrk.format("GET", "/feed", auth)
  elseif route == "profile" then
    return wrk.format("GET", "/u/" .. u.handle, auth)
  elseif route == "user_posts" then
    return wrk.format("GET", "/u/" .. u.handle .. "/posts", auth)
  elseif route == "scoops" then
    return wrk.format("GET", "/scoops/feed", auth)
  elseif route == "post" then
    local body = string.format('{"text":"Bench ride number %d, smooth and quiet"}', counter)
    return wrk.format("POST", "/posts", json_headers(u.token), body)
  elseif route == "react" then
    return wrk.format("POST", "/reactions/" .. u.post, json_headers(u.token), '{"type":"fire"}')
  elseif route == "comment" then
    local body = string.format('{"text":"Nice one (%d)"}', counter)
    return wrk.format("POST", "/comments/" .. u.post, json_headers(u.token), body)
  elseif route == "ceiling" then
    return wrk.format("GET", "/healthz", auth)
  end
  error("unknown BENCH_ROUTE " .. route)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"route":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"non2xx":%d,"socket_errors":%d}\n',
    route, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
