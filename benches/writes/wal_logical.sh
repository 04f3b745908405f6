#!/usr/bin/env bash
# wal.sh on a throwaway PostgreSQL cluster with wal_level = logical (what logical decoding, issue
# 60's design (b), would need of the server), with JOURNAL_OFF=1: what a write costs under that
# level, and what it would cost if the journal were written by a decoder instead of triggers.
# From the repository's root, as root; needs the same PostgreSQL major version's binaries as
# the machine's server. The cluster lives in a temporary folder on port 5499 and is removed.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
dir=$(mktemp -d)
chown postgres "$dir"
su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/log -w start -o '-p 5499 -k $dir \
  -c wal_level=logical -c autovacuum=off -c shared_buffers=128MB'" >/dev/null
trap 'su postgres -c "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null; rm -rf "$dir"' EXIT
psql -h 127.0.0.1 -p 5499 -U postgres -tAc "SHOW wal_level"
PGPORT=5499 PORT=8044 JOURNAL_OFF=1 bash "$(dirname "$0")/wal.sh"
