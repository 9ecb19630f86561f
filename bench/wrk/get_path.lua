-- GET BENCH_PATH (a list page, a search, a filter) again and again.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
local path = os.getenv("BENCH_PATH")
function request()
  return wrk.format("GET", path)
end
