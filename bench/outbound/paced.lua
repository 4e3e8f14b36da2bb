-- A paced run of another wrk script (PACED_SCRIPT: its path): each connection waits a random
-- 0..2×PACE_MS ms (mean PACE_MS) before each request, so the offered load is about
-- connections × 1000 / (PACE_MS + latency) requests a second, below what the server can take:
-- bench/outbound/run.sh compares the latency of the same paced load with and without events
-- going out (at saturation a row measures the CPU the sending takes; paced, whether a visitor
-- waits longer for it).
dofile(os.getenv("PACED_SCRIPT"))
local pace = tonumber(os.getenv("PACE_MS")) or error("PACE_MS is not set")
function delay()
  return math.random(0, math.floor(2 * pace))
end
