-- The baseline: the same POST body against nginx `return 200`.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.body = '{"account":"acc_bench","url":"https://bench.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=bench&utm_term=plumber&gclid=BENCH","referrer":"https://www.google.com/"}'
done = lib.done()
