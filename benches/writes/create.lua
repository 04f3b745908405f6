-- REST create: a random user of 1,000 per request, with that user's token.
local tokens = {}
for line in io.lines("benches/writes/tokens.txt") do tokens[#tokens + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  local u = math.random(0, #tokens - 1)
  local headers = { ["Authorization"] = "Bearer " .. tokens[u + 1], ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/u" .. u .. "/tasks", headers, '{"title": "bench ' .. counter .. '"}')
end
