-- What the wrk scripts share: the RESULT line bench/run reads, each thread's share of an input
-- file, and cycling through pre-formatted requests. Load with
--   local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib.lua")
local lib = {}
local threads = {}

-- setup = lib.setup: numbers the threads (the global `tid` in each thread's state).
function lib.setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end

-- Lines k, k+T, k+2T… of path for thread k of T. T comes from WRK_THREADS (the -t given to
-- wrk): wrk runs setup() and init() thread by thread, so a thread's init cannot count the
-- threads made after it.
function lib.my_lines(path)
  local n = tonumber(os.getenv("WRK_THREADS")) or error("WRK_THREADS is not set")
  local out, i = {}, 0
  for line in io.lines(path) do
    if i % n == tid then out[#out + 1] = line end
    i = i + 1
  end
  return out
end

-- request = lib.cycle(reqs): the next of reqs, starting over at the end; the global `wrapped`
-- counts the restarts (done() reads it per thread).
wrapped = 0
function lib.cycle(reqs)
  local i = 0
  return function()
    i = i + 1
    if i > #reqs then
      i = 1
      wrapped = wrapped + 1
    end
    return reqs[i]
  end
end

-- done = lib.done(warning): prints "RESULT req/s p50_ms p99_ms non2xx errors requests" (requests:
-- how many wrk completed, which bench/cpu.sh divides the server's CPU time by); with a warning,
-- writes it to stderr if any thread started its requests over.
function lib.done(warning)
  return function(summary, latency, requests)
    local w = 0
    for _, t in ipairs(threads) do w = w + (t:get("wrapped") or 0) end
    if w > 0 and warning then io.stderr:write(warning .. "\n") end
    io.write(string.format("RESULT %.0f %.3f %.3f %d %d %d\n", summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      summary.requests))
  end
end

return lib
