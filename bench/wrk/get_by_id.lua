-- GET /v1/contacts/{id} for ids drawn at random from BENCH_IDS (one id a line).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
math.randomseed(os.time())
function request()
  return wrk.format("GET", "/v1/contacts/" .. ids[math.random(#ids)])
end
