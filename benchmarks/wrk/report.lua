-- Shared by the benchmark scripts: print wrk's summary as one JSON line (parsed by run.py).
local report = {}

function report.json(summary, latency, statuses)
  local parts = {
    string.format('"requests":%d', summary.requests),
    string.format('"duration_us":%d', summary.duration),
    string.format('"non_2xx_3xx":%d', summary.errors.status),
    string.format('"socket_errors":%d', summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout),
    string.format('"p50_us":%d', latency:percentile(50)),
    string.format('"p99_us":%d', latency:percentile(99)),
  }
  if statuses then
    local items = {}
    for code, count in pairs(statuses) do
      table.insert(items, string.format('"%s":%d', code, count))
    end
    table.insert(parts, '"statuses":{' .. table.concat(items, ",") .. '}')
  end
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end

return report
