-- POST /v1/visits/{session}/ping cycling over the session ids in $SESSIONS (one per line):
-- lease renewals of live sessions. The requests are formatted once, in init, so that wrk spends
-- as little of the shared CPU per request as it does on the static baseline.
local reqs = {}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
wrk.body = '{"url":null}'

function init(args)
  for line in io.lines(os.getenv("SESSIONS")) do
    reqs[#reqs + 1] = wrk.format(nil, "/v1/visits/" .. line .. "/ping")
  end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
