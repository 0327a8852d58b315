-- wrk script: every request is an identified poll, so every request records a check-in.
--   wrk ... -s identified.lua URL -- BUILD 0 RUN        every request from a new host (its own serverId)
--   wrk ... -s identified.lua URL -- BUILD HOSTS RUN    HOSTS hosts per wrk thread polling in turn, as a
--                                                       fleet does: after their first poll, every poll
--                                                       is a known host's repeat (an update, no new row)
-- RUN (0 to 65535) goes into every serverId and name: a wrk run with a RUN of its own polls as hosts
-- no earlier run was, so a later round of new hosts is not a round of repeats.
-- Bounded by wrk's own --duration.
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid"))
  build = args[1] or "15.2.1544.4"
  hosts = tonumber(args[2] or "0")
  run = tonumber(args[3] or "0")
end

function request()
  counter = counter + 1
  local host = counter
  if hosts > 0 then host = (counter - 1) % hosts + 1 end
  local id = string.format("%08x-%04x-4000-8000-%012x", tid, run, host)
  return wrk.format("GET", "/getexchangemitigations?build=" .. build .. "&serverId=" .. id .. "&server=bench-" .. run .. "-" .. tid .. "-" .. host)
end
