-- GET BENCH_PATH .. id (BENCH_PATH is a collection's path with its slash, /v1/contacts/) for
-- ids drawn at random from BENCH_IDS (one id a line).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
local collection = os.getenv("BENCH_PATH")
math.randomseed(os.time())
function request()
  return wrk.format("GET", collection .. ids[math.random(#ids)])
end
