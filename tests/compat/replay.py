"""Replay a recorded MySQL session corpus (one JSON object per protocol command: step,
conn, cmd, arg) against a server, per connection and in order, the way PHP's mysqli
talks (autocommit on). Prints one JSON line per command: its index, whether the server
accepted it, the error, and the column names of a result set.

usage: replay.py CORPUS PORT DATABASE
"""
import json
import sys

import pymysql

corpus, port, database = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns = {}


def connect():
    return pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True, charset="utf8mb4")


with open(corpus, encoding="utf-8") as f:
    for i, line in enumerate(f):
        c = json.loads(line)
        out = {"i": i, "step": c["step"], "cmd": c["cmd"], "ok": True}
        try:
            if c["cmd"] == "Connect":
                conns[c["conn"]] = connect()
            elif c["cmd"] == "Init DB":
                conns[c["conn"]].select_db(database)
            elif c["cmd"] == "Quit":
                conns.pop(c["conn"]).close()
            elif c["cmd"] == "Query":
                cur = conns[c["conn"]].cursor()
                cur.execute(c["arg"])
                if cur.description is not None:
                    out["columns"] = [d[0] for d in cur.description]
                    out["rows"] = len(cur.fetchall())
                cur.close()
        except pymysql.MySQLError as e:
            out["ok"] = False
            out["error"] = [e.args[0], str(e.args[1]) if len(e.args) > 1 else ""]
        print(json.dumps(out), flush=True)
