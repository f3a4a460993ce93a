-- wrk: POST the GraphQL body in $GQL_BODY_FILE; with $GQL_CANCEL_FILE too (the book workload),
-- alternate: a create, then a cancel of the booking it made (its id from the create's answer).
-- With $DIRECT_AUTHORIZATION instead: GET the URL with that Authorization header (an upstream
-- called directly, the measured floor). Prints one WRKJSON line. Adapted from
-- /work/shared/bench-peer/bench/graphql.lua.
local direct = os.getenv("DIRECT_AUTHORIZATION")
local function read(name)
  local f = assert(io.open(name, "r")); local s = f:read("*a"); f:close(); return s
end
if direct then
  wrk.method = "GET"
  wrk.headers["Authorization"] = direct
else
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("GQL_AUTH_KEY")
  wrk.body = read(os.getenv("GQL_BODY_FILE"))
end
local cancel_file = os.getenv("GQL_CANCEL_FILE")
local cancel = cancel_file and read(cancel_file) or nil
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; n = 0; pending = {} end
function request()
  if direct then return wrk.format() end
  n = n + 1
  if cancel and #pending > 0 then
    local id = table.remove(pending)
    return wrk.format(nil, nil, nil, (cancel:gsub("BOOKING_ID", id):gsub("KEY", "c" .. n .. "-" .. math.random(1e9))))
  end
  return wrk.format(nil, nil, nil, (wrk.body:gsub("KEY", "k" .. n .. "-" .. math.random(1e9))))
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
  if cancel then
    local id = string.match(body, '"createBooking": ?{"booking": ?{"id": ?"([^"]+)"')
    if id then table.insert(pending, id) end
  end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.2f,"p95_ms":%.2f,"p99_ms":%.2f,"socket_errors":%d,"bad_responses":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, b))
end
