-- POST /v1/telephony/twilio/voice with pre-signed, unique calls (bench/webhook/gen.mjs writes
-- them to the file named by WEBHOOK_REQS). Thread k of T sends lines k, k+T, k+2T…; a thread
-- that runs out starts over, and those repeats (retries of a known CallSid) are reported.
local threads = {}

-- wrk runs setup() and then init() thread by thread, so a thread's init cannot count the
-- threads made after it: the split comes from WRK_THREADS (the -t given to wrk).
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

-- The requests are formatted once, in init, so that wrk spends as little of the shared CPU per
-- request as it does on the static baseline.
local reqs, idx = {}, 0
wrapped = 0 -- global: done() reads it with thread:get

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS")) or error("WRK_THREADS is not set")
  local i = 0
  for line in io.lines(os.getenv("WEBHOOK_REQS")) do
    if i % nthreads == tid then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
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
  if w > 0 then
    io.stderr:write("webhook.lua: ran out of unique calls; raise WEBHOOK_N\n")
  end
  io.write(string.format("RESULT %.0f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
