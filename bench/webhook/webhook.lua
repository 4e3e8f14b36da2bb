-- POST /v1/telephony/twilio/voice with pre-signed, unique calls (bench/webhook/gen.mjs writes
-- them to the file named by WEBHOOK_REQS, "<signature>\t<body>" per line), each wrk thread
-- taking its share; a thread that runs out starts over, and those repeats (retries of a known
-- CallSid) are reported. Requests are formatted once, in init.
local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../lib.lua")

local reqs = {}
setup = lib.setup
function init(args)
  for _, line in ipairs(lib.my_lines(os.getenv("WEBHOOK_REQS"))) do
    local tab = line:find("\t", 1, true)
    reqs[#reqs + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = line:sub(1, tab - 1),
    }, line:sub(tab + 1))
  end
  -- bench/cpu.sh's profile run after the measured one: the second half of the calls, which the
  -- measured run did not reach (WEBHOOK_N is five times what it takes), so no call repeats
  if os.getenv("PROFILE_RUN") then
    local h = math.floor(#reqs / 2)
    local n = #reqs
    for i = 1, n - h do reqs[i] = reqs[i + h] end
    for i = n, n - h + 1, -1 do reqs[i] = nil end
  end
end
request = lib.cycle(reqs)
done = lib.done("webhook.lua: ran out of unique calls; raise WEBHOOK_N")
