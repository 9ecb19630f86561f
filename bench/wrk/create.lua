-- POST /v1/contacts with an email unique to this run, thread and request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local key = os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN")
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function init()
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + 1
  local body = string.format(
    '{"first_name": "Bench", "last_name": "Mark", "email": "bench-%s-%d-%d@example.com", ' ..
    '"lifecycle_stage": "lead", "tags": ["bench"]}', run, thread_id, counter)
  return wrk.format("POST", "/v1/contacts", nil, body)
end
