-- GET the URL given to wrk. WRK_COOKIE (optional) is sent as the Cookie header: a session
-- created by run.py for a signed-in sponsor or staff member.
package.path = package.path .. ";" .. os.getenv("WRK_SCRIPTS") .. "/?.lua"
local report = require("report")

local cookie = os.getenv("WRK_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
  report.json(summary, latency, nil)
end
