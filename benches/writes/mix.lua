-- The 80/10/10 list / create / toggle mix of a random user of 1,000, with that user's token:
--   wrk ... -s benches/writes/mix.lua URL            (REST)
--   wrk ... -s benches/writes/graphql_mix.lua URL    (GraphQL: this, and its answers checked)
-- REST: GET /api/{uid}/tasks, POST /api/{uid}/tasks, PATCH /api/{uid}/tasks/{id}/complete.
-- GraphQL: POST /graphql with the list, createTask and toggleTask below.
dofile("benches/writes/common.lua")
local api = "rest"
local counter = 0
local LIST = '{"query": "{ tasks { id title description completed createdAt updatedAt } }"}'
local CREATE = 'mutation($t: String!) { createTask(input: {title: $t}) { id title completed createdAt } }'
local TOGGLE = 'mutation($id: ID!) { toggleTask(id: $id) { id completed } }'
function init(args)
  seed_thread()
  api = mix_api or "rest"
end
local function graphql(u, body)
  local headers = { ["Authorization"] = "Bearer " .. tokens[u + 1], ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/graphql", headers, body)
end
request = function()
  counter = counter + 1
  local u = a_user()
  local r = math.random(1, 10)
  if api == "graphql" then
    if r <= 8 then return graphql(u, LIST) end
    if r == 9 then
      return graphql(u, '{"query": "' .. CREATE .. '", "variables": {"t": "bench ' .. counter .. '"}}')
    end
    return graphql(u, '{"query": "' .. TOGGLE .. '", "variables": {"id": "' .. a_task(u) .. '"}}')
  end
  if r <= 8 then return rest_list(u) end
  if r == 9 then return rest_create(u, counter) end
  return rest_toggle(u)
end
