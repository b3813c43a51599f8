-- POST a valid pledge to the URL given to wrk, as a browser would after loading the page:
-- the CSRF cookie and its form token (WRK_CSRF_COOKIE, WRK_CSRF_TOKEN, fetched by run.py
-- from a real GET), a UUID idempotency token unique to every request (run nonce + thread +
-- counter), the honeypot left empty. Counts responses by status for run.py.
package.path = package.path .. ";" .. os.getenv("WRK_SCRIPTS") .. "/?.lua"
local report = require("report")

local threads = {}
local counter = 0
thread_id = 0  -- global: setup() sets it per thread
statuses = {}  -- global: done() reads it from every thread
local nonce = tonumber(os.getenv("WRK_NONCE") or "1")
local csrf_token = os.getenv("WRK_CSRF_TOKEN")

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = "csrftoken=" .. os.getenv("WRK_CSRF_COOKIE")
end

function request()
  counter = counter + 1
  -- xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx: nonce, thread, counter: never repeats in a run.
  local token = string.format("%08x-%04x-4%03x-8%03x-%012x",
    nonce % 0x100000000, thread_id, 0, 0, counter)
  local body = "csrfmiddlewaretoken=" .. csrf_token
    .. "&idempotency_key=" .. token
    .. "&website="
    .. "&amount_choice=other&other_amount=" .. string.format("%d.%02d", 5 + counter % 200, counter % 100)
    .. "&frequency=one_time&months=1"
    .. "&donor_name=Bench+Donor+" .. thread_id .. "-" .. counter
    .. "&email=bench.post" .. thread_id .. "-" .. counter .. "%40example.org"
    .. "&address=&show_name=show&public_message=&tribute_kind=&tribute_name="
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, count in pairs(counts) do
      total[code] = (total[code] or 0) + count
    end
  end
  report.json(summary, latency, total)
end
