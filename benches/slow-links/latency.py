"""Commit latency on one MySQL endpoint, one client, one statement at a time.

usage: latency.py PORT SINGLE TXNS  -> one JSON line:
  single: SINGLE single-row autocommit INSERTs; txn: TXNS transactions of 10 operations
  (the seed's mix: 4 inserts, 3 updates, 2 point reads, 1 delete), BEGIN … COMMIT.
"""
import json
import sys
import time

import pymysql

port, n_single, n_txn = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
cur = c.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS lat")
cur.execute("DROP TABLE IF EXISTS lat.t")
cur.execute("CREATE TABLE lat.t (id BIGINT PRIMARY KEY, v VARCHAR(64), n INT)")
time.sleep(1)


def pct(xs, p):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))] * 1000, 1)


single = []
for i in range(n_single):
    t = time.monotonic()
    cur.execute("INSERT INTO lat.t VALUES (%s, 'single', 0)", (i,))
    single.append(time.monotonic() - t)

txn = []
base = 1_000_000
for j in range(n_txn):
    ids = [base + j * 10 + k for k in range(4)]
    t = time.monotonic()
    cur.execute("BEGIN")
    for i in ids:
        cur.execute("INSERT INTO lat.t VALUES (%s, 'txn', 0)", (i,))
    for i in ids[:3]:
        cur.execute("UPDATE lat.t SET n = n + 1 WHERE id = %s", (i,))
    for i in ids[:2]:
        cur.execute("SELECT v FROM lat.t WHERE id = %s", (i,))
        cur.fetchall()
    cur.execute("DELETE FROM lat.t WHERE id = %s", (ids[3],))
    cur.execute("COMMIT")
    txn.append(time.monotonic() - t)

print(json.dumps({"single_p50": pct(single, 0.5), "single_p99": pct(single, 0.99),
                  "txn_p50": pct(txn, 0.5), "txn_p99": pct(txn, 0.99)}))
