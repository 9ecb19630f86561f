-- PATCH /v1/contacts/{id} with If-Match "1": each thread walks its own slice of BENCH_IDS, so
-- every request targets a contact still at version 1.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local key = os.getenv("BENCH_KEY")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init()
  ids = {}
  for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["If-Match"] = '"1"'
  position = thread_number
  step = tonumber(os.getenv("BENCH_THREADS"))
end
function request()
  local id = ids[position]
  position = position + step
  return wrk.format("PATCH", "/v1/contacts/" .. id, nil, '{"job_title": "Benchmarked"}')
end
