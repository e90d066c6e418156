"""The nemesis test's clients: one thread per node, each writing to its node for as long as
asked, recording every operation and its outcome as a JSON line on stdout.

Outcomes: "ok" (acknowledged), "fail" (the server answered with an error, or the
connection could not be opened, so nothing was sent), "unknown" (the connection broke or
timed out after the statement was sent: it may or may not have committed).

usage: workload.py SEED SECONDS KEYS HOST [HOST...]   (KEYS registers and counters)
"""
import json
import random
import sys
import threading
import time

import pymysql

SEED, SECONDS, KEYS, HOSTS = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
ACCOUNTS = 5
lock = threading.Lock()
LOST = {2006, 2013, 2003, 2055}  # server gone / lost connection / cannot connect


def emit(rec):
    with lock:
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()


def client(node, host):
    rng = random.Random(SEED * 1000 + node)
    conn = None
    seq = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        seq += 1
        kind = rng.choice(["insert", "insert", "register", "counter", "transfer"])
        rec = {"node": node, "kind": kind, "t": time.monotonic()}
        if kind == "insert":
            rec["key"] = node * 1_000_000 + seq
            stmts = [("INSERT INTO nem.uniq (id, node) VALUES (%s, %s)", (rec["key"], node))]
        elif kind == "register":
            rec["key"], rec["value"] = rng.randrange(KEYS), f"n{node}-{seq}"
            stmts = [("UPDATE nem.reg SET v = %s WHERE k = %s", (rec["value"], rec["key"]))]
        elif kind == "counter":
            rec["key"] = rng.randrange(KEYS)
            stmts = [("UPDATE nem.ctr SET c = c + 1 WHERE k = %s", (rec["key"],))]
        else:
            a, b = rng.sample(range(ACCOUNTS), 2)
            rec["key"] = [a, b]
            stmts = [
                ("UPDATE nem.bank SET bal = bal - 1 WHERE id = %s", (a,)),
                ("UPDATE nem.bank SET bal = bal + 1 WHERE id = %s", (b,)),
            ]
        try:
            if conn is None:
                conn = pymysql.connect(host=host, port=3306, user="root", connect_timeout=2,
                                       read_timeout=8, write_timeout=8, autocommit=True)
        except pymysql.err.MySQLError as e:
            rec["outcome"], rec["error"] = "fail", str(e)[:120]
            emit(rec)
            time.sleep(0.2)
            continue
        sent = False
        try:
            cur = conn.cursor()
            if len(stmts) > 1:
                cur.execute("BEGIN")
            for sql, args in stmts:
                sent = True
                cur.execute(sql, args)
            if len(stmts) > 1:
                cur.execute("COMMIT")
            rec["outcome"] = "ok"
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else 0
            rec["error"] = str(e)[:160]
            if code in LOST or not isinstance(code, int):
                rec["outcome"] = "unknown" if sent else "fail"
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
            else:
                rec["outcome"] = "fail"
                if len(stmts) > 1:
                    try:
                        conn.cursor().execute("ROLLBACK")
                    except Exception:
                        conn = None
        emit(rec)


threads = [threading.Thread(target=client, args=(i, h)) for i, h in enumerate(HOSTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
