-- mix.lua through GraphQL; answers whose body holds "errors" are counted ("Bodies with errors"
-- at the end; wrk itself only counts statuses). Kept apart from the REST mix, whose answers
-- wrk then need not hand to Lua.
mix_api = "graphql"
dofile("benches/writes/mix.lua")
response = count_errors
