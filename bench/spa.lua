-- POST /v1/visits/{session}/ping over the session ids in $SESSIONS, each reporting a new page
-- (a single-page app's navigation): every one is a page view, written. Like ping.lua otherwise.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
local reqs = {}
setup = lib.setup
function init(args)
  local n = 0
  for _, id in ipairs(lib.my_lines(os.getenv("SESSIONS"))) do
    n = n + 1
    reqs[#reqs + 1] = wrk.format(nil, "/v1/visits/" .. id .. "/ping", nil, '{"url":"https://bench.example/app/view' .. n .. '","title":"View"}')
  end
end
request = lib.cycle(reqs)
done = lib.done()
