#!/bin/bash
# Samples the active backends' wait events of database $1 every 200 ms for $2 samples.
for i in $(seq 1 $2); do psql -h 127.0.0.1 -U postgres -d postgres -tAc "select coalesce(wait_event_type||':'||wait_event,'CPU') from pg_stat_activity where datname='$1' and state='active' and backend_type='client backend' and pid<>pg_backend_pid()"; sleep 0.2; done | sort | uniq -c | sort -rn
