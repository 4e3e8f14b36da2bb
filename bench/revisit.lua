-- POST /v1/visits with the session_id of a live session from $SESSIONS (one per line), thread k
-- of T taking lines k, k+T, …: repeat page views, each renewing its session's lease (a write).
-- ACCOUNT and WRK_THREADS come from the environment; requests are formatted once, in init.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

local reqs, idx = {}, 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS")) or error("WRK_THREADS is not set")
  local account = os.getenv("ACCOUNT")
  local i = 0
  for line in io.lines(os.getenv("SESSIONS")) do
    if i % nthreads == tid then
      reqs[#reqs + 1] = wrk.format(nil, nil, nil, '{"account":"' .. account ..
        '","url":"https://bench.example/page2","referrer":"https://bench.example/landing","session_id":"' .. line .. '"}')
    end
    i = i + 1
  end
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
