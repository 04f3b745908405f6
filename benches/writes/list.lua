-- The REST list (GET /api/{uid}/tasks, its default page) of a random user of 1,000, with that
-- user's token: wrk ... -s benches/writes/list.lua URL (ab.sh: SCRIPTS="list.lua").
dofile("benches/writes/common.lua")
function init(args) seed_thread() end
request = function() return rest_list(a_user()) end
