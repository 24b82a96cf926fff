-- wrk script: replay a pre-generated file of requests, each exactly once, then stop.
--
--   wrk -t T -c C -d 3600 -s bench/replay.lua http://127.0.0.1:PORT/ -- FILE T OUTDIR [CT]
--
-- FILE holds per request: a line with the URL path, a line with the body length, then
-- the body bytes (bench/workload.py writes it). Thread i of T replays requests i, i+T, ...
-- in order. When a thread has had every one of its responses it touches OUTDIR/done<i> and
-- stops; the driver waits for all T files, then interrupts wrk (which otherwise sleeps for
-- the whole -d), and done() prints per thread its first-request and last-response times
-- (CLOCK_MONOTONIC) and status counts as BENCH lines.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
unsigned long pthread_self(void);
int usleep(unsigned int usec);
]]
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: comparable across threads and processes
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local n, idx, sent, received = 0, 1, 0, 0
statuses = {}
t_start, t_last, sent_all = 0, 0, 0
local outdir

local init_thread, started, nthreads = nil, false, 1

local function all_ready()
  for i = 0, nthreads - 1 do
    local f = io.open(outdir .. "/ready" .. i, "r")
    if not f then return false end
    f:close()
  end
  return true
end

function init(args)
  init_thread = ffi.C.pthread_self()
  local path = args[1]
  nthreads = tonumber(args[2])
  outdir = args[3]
  local content_type = args[4] or "text/plain; charset=UTF-8"
  local headers = {
    ["Content-Type"] = content_type,
    ["User-Agent"] = "Amazon Simple Notification Service Agent",
    ["x-amz-sns-message-type"] = "Notification",
  }
  local f = assert(io.open(path, "rb"))
  local i = 0
  while true do
    local p = f:read("*l")
    if not p then break end
    local len = tonumber(f:read("*l"))
    local body = f:read(len)
    if i % nthreads == tid then
      n = n + 1
      reqs[n] = wrk.format("POST", p, headers, body)
    end
    i = i + 1
  end
  f:close()
  assert(io.open(outdir .. "/ready" .. tid, "w")):close()
end

function request()
  if not started then
    -- wrk calls request() once on thread 0 from its main thread to inspect the request
    -- (pipelining check) before the thread runs: answer without consuming a request.
    if ffi.C.pthread_self() == init_thread then return reqs[1] or "" end
    started = true
    -- threads load their share one after another: start sending only when all have
    while not all_ready() do ffi.C.usleep(2000) end
    t_start = now()
  end
  if idx <= n then
    local r = reqs[idx]
    reqs[idx] = nil
    idx = idx + 1
    sent = sent + 1
    return r
  end
  -- Nothing left: an empty request parks the connection (nothing written, no response).
  return ""
end

-- globals read by done() through thread:get()
received_g, sent_g = 0, 0

function response(status, headers, body)
  received = received + 1
  t_last = now()
  statuses[status] = (statuses[status] or 0) + 1
  received_g, sent_g = received, sent
  if idx > n and received == sent then
    local out = assert(io.open(outdir .. "/done" .. tid, "w"))
    out:close()
    wrk.thread:stop()
  end
end

-- A request lost to a socket error or timeout gets no response() call, so its thread never
-- reaches the condition above; the driver then sees wrk idle, interrupts it, and done()
-- still reports what every thread did.
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local line = string.format("BENCH thread=%d start=%.6f end=%.6f sent=%d received=%d",
      t:get("tid"), t:get("t_start"), t:get("t_last"), t:get("sent_g"), t:get("received_g"))
    for code, count in pairs(t:get("statuses")) do
      line = line .. string.format(" s%d=%d", code, count)
    end
    io.write(line .. "\n")
  end
  local e = summary.errors
  io.write(string.format("BENCH errors connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
end
