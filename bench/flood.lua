-- wrk script: flood one Integration URL, cycling through a file of requests for ever.
--
--   wrk -t T -c C -d SECONDS -s bench/flood.lua http://127.0.0.1:PORT/ -- FILE
--
-- FILE is in the format of bench/replay.lua (per request: a line with the URL path, a line
-- with the body length, then the body bytes). Every thread loads the whole file and sends
-- its requests round and round, as fast as the server answers (closed loop, C connections).
-- done() prints one BENCH line per thread with its status counts; the driver interrupts wrk
-- when the measurement beside the flood is over.

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local reqs, n, i = {}, 0, 0
statuses = {}

function init(args)
  local headers = {
    ["Content-Type"] = "text/plain; charset=UTF-8",
    ["User-Agent"] = "Amazon Simple Notification Service Agent",
    ["x-amz-sns-message-type"] = "Notification",
  }
  local f = assert(io.open(args[1], "rb"))
  while true do
    local p = f:read("*l")
    if not p then break end
    local len = tonumber(f:read("*l"))
    n = n + 1
    reqs[n] = wrk.format("POST", p, headers, f:read(len))
  end
  f:close()
end

function request()
  i = i % n + 1
  return reqs[i]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local line = "BENCH flood"
    for code, count in pairs(t:get("statuses")) do
      line = line .. string.format(" s%d=%d", code, count)
    end
    io.write(line .. "\n")
  end
  local e = summary.errors
  io.write(string.format("BENCH errors connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
end
