-- POST /v1/visits with the session_id of a live session from $SESSIONS (one per line), each wrk
-- thread taking its share: repeat page views, each renewing its session's lease (a write).
-- ACCOUNT comes from the environment; requests are formatted once, in init.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

local reqs = {}
setup = lib.setup
function init(args)
  local account = os.getenv("ACCOUNT")
  for _, id in ipairs(lib.my_lines(os.getenv("SESSIONS"))) do
    reqs[#reqs + 1] = wrk.format(nil, nil, nil, '{"account":"' .. account ..
      '","url":"https://bench.example/page2","referrer":"https://bench.example/landing","session_id":"' .. id .. '"}')
  end
end
request = lib.cycle(reqs)
done = lib.done()
