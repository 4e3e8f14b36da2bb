-- POST /v1/visits with no session_id (every request a new session, a new lease), cycling over
-- the accounts in ACCOUNTS (comma-separated; each has a pool of its own), so that claims of
-- different pools run side by side. With one account this is bench/visit.lua.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib.lua")
local reqs = {}
for a in string.gmatch(os.getenv("ACCOUNTS") or error("ACCOUNTS is not set"), "[^,]+") do
  reqs[#reqs + 1] = '{"account":"' .. a .. '","url":"https://bench.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=bench&utm_term=plumber&gclid=BENCH","referrer":"https://www.google.com/"}'
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
local i = 0
function request()
  i = i % #reqs + 1
  return wrk.format(nil, nil, nil, reqs[i])
end
done = lib.done()
