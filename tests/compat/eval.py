"""Evaluate MySQL expressions one by one (`SELECT <expr>`) and print, as JSON, each
result exactly as the text protocol carries it (no client-side conversion), or the
error code. Expressions come as a JSON list on stdin.

usage: eval.py PORT < expressions.json
"""
import json
import sys

import pymysql

port = int(sys.argv[1])
exprs = json.load(sys.stdin)
conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True, charset="utf8mb4", conv={})
out = []
for e in exprs:
    cur = conn.cursor()
    try:
        cur.execute("SELECT " + e)
        v = cur.fetchone()[0]
        if isinstance(v, bytes):
            v = v.decode("utf-8", "backslashreplace")
        out.append({"ok": True, "value": v})
    except pymysql.MySQLError as err:
        out.append({"ok": False, "error": err.args[0]})
    finally:
        cur.close()
print(json.dumps(out))
