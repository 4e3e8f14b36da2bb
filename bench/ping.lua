-- POST /v1/visits/{session}/ping over the session ids in $SESSIONS (one per line), each wrk
-- thread taking its share: lease renewals of live sessions. Requests are formatted once, in
-- init, so that wrk spends as little of the shared CPU per request as on the static baseline.
-- With PING_ONCE=1 every session is to be pinged once (first renewals, each one written).
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
wrk.body = '{"url":null}'

local reqs = {}
setup = lib.setup
function init(args)
  for _, id in ipairs(lib.my_lines(os.getenv("SESSIONS"))) do
    reqs[#reqs + 1] = wrk.format(nil, "/v1/visits/" .. id .. "/ping")
  end
end
request = lib.cycle(reqs)
done = lib.done(os.getenv("PING_ONCE") == "1" and "ping.lua: ran out of sessions to ping once; raise FILL" or nil)
