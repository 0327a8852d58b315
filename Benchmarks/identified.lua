-- wrk script: every request is an identified poll from a distinct host (its own serverId),
-- so every request records a check-in. Bounded by wrk's own --duration.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid"))
  build = args[1] or "15.2.1544.4"
end

function request()
  counter = counter + 1
  local id = string.format("%08x-0000-4000-8000-%012x", tid, counter)
  return wrk.format("GET", "/getexchangemitigations?build=" .. build .. "&serverId=" .. id .. "&server=bench-" .. tid .. "-" .. counter)
end
