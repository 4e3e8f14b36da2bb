-- POST /v1/visits/{session}/ping over the session ids in $SESSIONS (one per line), thread k of T
-- taking lines k, k+T, k+2T…: lease renewals of live sessions. The requests are formatted once,
-- in init, so that wrk spends as little of the shared CPU per request as on the static baseline.
-- With PING_ONCE=1 every session is to be pinged once (first renewals, each one written): a
-- thread that runs out starts over and says so on stderr.
local threads = {}

-- wrk runs setup() and then init() thread by thread, so a thread's init cannot count the
-- threads made after it: the split comes from WRK_THREADS (the -t given to wrk).
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

local reqs, idx = {}, 0
wrapped = 0 -- global: done() reads it with thread:get
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
wrk.body = '{"url":null}'

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS")) or error("WRK_THREADS is not set")
  local i = 0
  for line in io.lines(os.getenv("SESSIONS")) do
    if i % nthreads == tid then
      reqs[#reqs + 1] = wrk.format(nil, "/v1/visits/" .. line .. "/ping")
    end
    i = i + 1
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = wrapped + 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
  if w > 0 and os.getenv("PING_ONCE") == "1" then
    io.stderr:write("ping.lua: ran out of sessions to ping once; raise FILL\n")
  end
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
