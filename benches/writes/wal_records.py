"""Sums pg_waldump's records (stdin) by relation and record type, per write: wal.sh's RECORDS=1.

Arguments: a file of `relfilenode|relname` lines, and how many writes the records cover.
"""

import collections
import re
import sys

names = dict(line.strip().split("|", 1) for line in open(sys.argv[1]) if "|" in line)
writes = int(sys.argv[2])
total = collections.Counter()
for line in sys.stdin:
    size = re.search(r"len \(rec/tot\):\s*\d+/\s*(\d+)", line)
    if not size:
        continue
    rel = re.search(r"rel \d+/\d+/(\d+)", line)
    kind = re.search(r"rmgr: (\w+)", line).group(1) + " " + line.split("desc: ")[1].split()[0]
    total[(names.get(rel.group(1), rel.group(1)) if rel else "-", kind)] += int(size.group(1))
for (relation, kind), size in total.most_common():
    if size >= 3 * writes:
        print(f"{size / writes:7.0f}  {relation:28} {kind}")
print(f"{sum(total.values()) / writes:7.0f}  in all")
