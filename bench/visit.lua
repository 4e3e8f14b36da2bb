-- POST /v1/visits with no session_id: every request is a new session (a new lease).
-- ACCOUNT comes from the environment (set by bench/run).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
wrk.body = '{"account":"' .. os.getenv("ACCOUNT") .. '","url":"https://bench.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=bench&utm_term=plumber&gclid=BENCH","referrer":"https://www.google.com/"}'
done = lib.done()
