-- REST toggle: a random task of a random user of 1,000 (ids from the seed, 50 per user).
local tokens, ids = {}, {}
for line in io.lines("benches/writes/tokens.txt") do tokens[#tokens + 1] = line end
for line in io.lines("benches/writes/ids.txt") do
  local u, id = line:match("(%d+) (%d+)")
  u = tonumber(u)
  ids[u] = ids[u] or {}
  table.insert(ids[u], id)
end
request = function()
  local u = math.random(0, #tokens - 1)
  local list = ids[u]
  local id = list[math.random(1, #list)]
  local headers = { ["Authorization"] = "Bearer " .. tokens[u + 1] }
  return wrk.format("PATCH", "/api/u" .. u .. "/tasks/" .. id .. "/complete", headers)
end
