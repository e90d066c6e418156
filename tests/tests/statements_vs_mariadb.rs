//! Statements applications and tools send, run on marmot and on a real MariaDB started
//! here: each case's setup then its query, through the stock `mariadb` client; the query's
//! output (or, for a statement MariaDB refuses, the refusal) must be the same on both.

use marmot_e2e::mariadb_server::MariaDbServer;
use marmot_e2e::{mariadb, start_mysql_node};

/// (name, setup, query). Each case runs in a fresh database of its own, named where the
/// text says `{db}`.
const CASES: &[(&str, &str, &str)] = &[
    (
        // An ORM's schema: named and unnamed CHECKs (one with nested AND/OR) and a named
        // self-referencing foreign key, as table constraints.
        "table constraints",
        "CREATE TABLE users (user_id INT AUTO_INCREMENT PRIMARY KEY, parent_user_id INT, test2 INT,
           CONSTRAINT zz_gt_zero CHECK (test2 > 0), CHECK (test2 <= 1000),
           CHECK (test2 = 1 OR (test2 > 2 AND test2 < 900)),
           CONSTRAINT user_id_fk FOREIGN KEY (parent_user_id) REFERENCES users (user_id));
         INSERT INTO users VALUES (1, NULL, 1), (2, 1, 5), (3, 1, 899);",
        "SELECT user_id, parent_user_id, test2 FROM users ORDER BY user_id",
    ),
    (
        // What ORMs and PyMySQL's own tests send to index an existing table.
        "ALTER TABLE … ADD INDEX / UNIQUE KEY / CONSTRAINT … UNIQUE, with other changes",
        "CREATE TABLE s (id INT PRIMARY KEY, station INT, code VARCHAR(10));
         ALTER TABLE s ADD INDEX idx_station (station), ADD COLUMN z INT, ADD UNIQUE KEY u_code (code);
         ALTER TABLE s ADD CONSTRAINT u_z UNIQUE (z);
         INSERT INTO s VALUES (1, 10, 'a', 1);",
        "SHOW INDEX FROM s; SHOW CREATE TABLE s; INSERT INTO s VALUES (2, 10, 'a', 2)",
    ),
    ("a CHECK refuses a row", "CREATE TABLE c (a INT, CONSTRAINT pos CHECK (a > 0))", "INSERT INTO c VALUES (-1)"),
    (
        "a CHECK with OR refuses a row",
        "CREATE TABLE c (a INT, CHECK (a = 1 OR (a > 2 AND a < 5)))",
        "INSERT INTO c VALUES (2)",
    ),
    (
        "LIMIT with MySQL's 'all the rest'",
        "CREATE TABLE n (id INT PRIMARY KEY); INSERT INTO n VALUES (1), (2), (3), (4), (5);",
        "SELECT id FROM n ORDER BY id LIMIT 2, 18446744073709551615",
    ),
    (
        "a row of defaults",
        "CREATE TABLE d (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(10) DEFAULT 'x', n INT DEFAULT 7);
         INSERT INTO d () VALUES ();",
        // (Not the id: marmot's AUTO_INCREMENT ids are unique across nodes, not 1, 2, 3.)
        "SELECT s, n FROM d",
    ),
    (
        "DEFAULT as a value, without a column list and in some rows only",
        "CREATE TABLE d (id INT(11) AUTO_INCREMENT PRIMARY KEY, s VARCHAR(10) DEFAULT 'x', n INT(11) DEFAULT 7,
           e INT(11) DEFAULT (3 + 5), z INT(11));
         INSERT INTO d VALUES (DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT);
         INSERT INTO d (n, s, z) VALUES (1, DEFAULT, 2), (DEFAULT, 'y', DEFAULT);",
        "SELECT s, n, e, z FROM d ORDER BY n, s; SHOW COLUMNS FROM d",
    ),
    (
        "operators with MySQL's meaning: XOR, DIV, %, bit operators, decimal arithmetic",
        "CREATE TABLE o (a INT, p DECIMAL(8,2)); INSERT INTO o VALUES (6, 2.50), (-7, 10.00);",
        "SELECT (a > 0) XOR (p > 5), a DIV 4, p DIV 3, a % 4, p % 3, a & 3, a | 8, ~a, a << 2, a >> 1,            p * a, p / 3, SUM(p) OVER (), 1 + 2 * 7 % 4 FROM o ORDER BY a",
    ),
    (
        // A migration's conditional DDL, and parameters bound from variables and literals.
        "PREPARE, EXECUTE … USING, EXECUTE IMMEDIATE and DEALLOCATE PREPARE",
        "CREATE TABLE m (id INT PRIMARY KEY, s VARCHAR(10));
         SET @ddl = IF((SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
           AND TABLE_NAME = 'm' AND COLUMN_NAME = 'c') = 0, 'ALTER TABLE m ADD COLUMN c INT', 'SELECT 1');
         PREPARE s FROM @ddl; EXECUTE s; DEALLOCATE PREPARE s;
         PREPARE ins FROM 'INSERT INTO m VALUES (?, ?, ?)';
         SET @a = 1, @b = 'it''s'; EXECUTE ins USING @a, @b, 7; EXECUTE ins USING 2, NULL, -3;",
        "EXECUTE IMMEDIATE 'SELECT id, s, c FROM m WHERE id > ? ORDER BY id' USING 0; EXECUTE ins USING 1",
    ),
    (
        "COUNT(DISTINCT a, b) counts the combinations without a NULL",
        "CREATE TABLE c (a INT, b INT); INSERT INTO c VALUES (1, 1), (1, 1), (1, 2), (NULL, 2), (2, NULL), (2, 1);",
        "SELECT COUNT(DISTINCT a, b), COUNT(DISTINCT a) FROM c",
    ),
    (
        "GROUP_CONCAT with DISTINCT, several values, ORDER BY and SEPARATOR",
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, c VARCHAR(5), g INT);
         INSERT INTO t VALUES (1, 3, 'x', 1), (2, 1, 'y', 1), (3, 3, 'x', 1), (4, NULL, 'z', 2), (5, 2, 'w', 2);",
        "SELECT g, GROUP_CONCAT(a ORDER BY a DESC), GROUP_CONCAT(DISTINCT a ORDER BY a SEPARATOR ';'),
           GROUP_CONCAT(DISTINCT a, c ORDER BY a, c), GROUP_CONCAT(c SEPARATOR ''),
           GROUP_CONCAT(a, '-', c ORDER BY id SEPARATOR ' | ') FROM t GROUP BY g ORDER BY g",
    ),
    (
        "EXECUTE IMMEDIATE of an expression, with expressions as parameters",
        "CREATE TABLE d (a DATE); INSERT INTO d VALUES ('2001-01-01'), ('2002-02-02');",
        "EXECUTE IMMEDIATE CONCAT('SELECT a FROM d WHERE a ', '> ?') USING DATE'2001-06-01'",
    ),
    (
        "binary and case-insensitive collations in expressions",
        "CREATE TABLE w (s VARCHAR(10)); INSERT INTO w VALUES ('a'), ('A'), ('b');",
        "SET NAMES utf8mb4; SELECT COUNT(*) FROM w WHERE s = 'a' COLLATE utf8mb4_bin UNION ALL \
         SELECT COUNT(*) FROM w WHERE s = 'a' COLLATE utf8mb4_general_ci",
    ),
    (
        "names qualified with the current database",
        "CREATE TABLE {db}.q (id INT PRIMARY KEY); INSERT INTO {db}.q VALUES (1), (2); UPDATE {db}.q SET id = 3 WHERE id = 2;",
        "SELECT id FROM {db}.q ORDER BY id; DROP TABLE IF EXISTS {db}.q; SHOW TABLES",
    ),
    (
        "DROP INDEX … ON, of an index made by CREATE TABLE and of one made by CREATE INDEX",
        "CREATE TABLE x (id INT PRIMARY KEY, a INT, b INT, KEY ka (a)); CREATE INDEX kb ON x (b);
         DROP INDEX ka ON x; DROP INDEX kb ON x;",
        "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'x' \
         ORDER BY INDEX_NAME",
    ),
    (
        "an explicit 0 in a plain (not AUTO_INCREMENT) integer key is stored as 0",
        "CREATE TABLE z (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO z VALUES (0, 'zero'), (5, 'five');",
        "SELECT id, v FROM z ORDER BY id",
    ),
    (
        "ALTER TABLE of table options only",
        "CREATE TABLE o (id INT PRIMARY KEY); INSERT INTO o VALUES (1);
         ALTER TABLE o COMMENT 'orders'; ALTER TABLE o ENGINE = InnoDB, DEFAULT CHARSET = utf8mb4;",
        "SELECT id FROM o",
    ),
    ("ALTER TABLE options of no such table", "", "ALTER TABLE nope COMMENT 'x'"),
    ("DROP INDEX of no such index", "CREATE TABLE y (id INT PRIMARY KEY)", "DROP INDEX nope ON y"),
    (
        "parenthesized UNION members with their own ORDER BY and LIMIT",
        "CREATE TABLE a (id INT); CREATE TABLE b (id INT);
         INSERT INTO a VALUES (3), (1), (2); INSERT INTO b VALUES (5), (9), (4);",
        "(SELECT id FROM a ORDER BY id LIMIT 1) UNION ALL (SELECT id FROM b ORDER BY id DESC LIMIT 1) \
         ORDER BY id DESC LIMIT 2",
    ),
    (
        "DEFAULT as a value",
        "CREATE TABLE dv (id INT PRIMARY KEY, s VARCHAR(10) DEFAULT 'x', n INT DEFAULT 7);
         INSERT INTO dv (id, s, n) VALUES (1, DEFAULT, 5), (2, DEFAULT, 6); INSERT INTO dv (id, n) VALUES (3, DEFAULT);",
        "SELECT id, s, n FROM dv ORDER BY id",
    ),
    (
        "integer columns divide exactly",
        "CREATE TABLE qd (a INT, b INT); INSERT INTO qd VALUES (7, 2), (15, 10), (9, 3);",
        "SELECT a / b > 3, a / b * 2 = 7, SUM(a) / COUNT(*) > 10 FROM qd GROUP BY a ORDER BY a",
    ),
    (
        "XOR of columns",
        "CREATE TABLE xo (a INT, b INT); INSERT INTO xo VALUES (5, 3), (12, 10);",
        "SELECT a ^ b, a ^ 1 + b FROM xo ORDER BY a",
    ),
    (
        "JSON functions on a column",
        r#"CREATE TABLE js (id INT PRIMARY KEY, doc JSON);
         INSERT INTO js VALUES (1, '{"name": "ann", "tags": ["a", "b"], "n": 3}'), (2, '{"name": "bob", "n": 5}');"#,
        "SELECT id, JSON_EXTRACT(doc, '$.name'), JSON_UNQUOTE(JSON_EXTRACT(doc, '$.name')), JSON_EXTRACT(doc, '$.tags[1]'), \
         JSON_KEYS(doc) FROM js WHERE JSON_UNQUOTE(JSON_EXTRACT(doc, '$.n')) > 4 ORDER BY id",
    ),
    (
        "a transaction reads its own write to another database",
        "CREATE DATABASE {db}_o; CREATE TABLE {db}_o.t (id INT PRIMARY KEY, c TEXT); CREATE TABLE here (id INT);
         INSERT INTO here VALUES (1);",
        "BEGIN; INSERT INTO {db}_o.t VALUES (1, 'x'); SELECT id, c FROM {db}_o.t;
         SELECT here.id, o.c FROM here JOIN {db}_o.t o ON o.id = here.id; ROLLBACK; SELECT COUNT(*) FROM {db}_o.t",
    ),
    (
        "table and column comments, kept through ALTER and RENAME",
        "CREATE TABLE cm (id INT PRIMARY KEY COMMENT 'the id', s VARCHAR(5) COMMENT 'it''s s') COMMENT='first';
         ALTER TABLE cm COMMENT = 'second'; RENAME TABLE cm TO cm2;",
        "SELECT COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'cm2' ORDER BY ORDINAL_POSITION; \
         SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    ),
    (
        "CREATE TABLE … LIKE, CREATE TABLE … SELECT without AS, DROP TABLE of several tables",
        "CREATE TABLE src (id INT PRIMARY KEY, s VARCHAR(10) NOT NULL DEFAULT 'q', KEY ks (s));
         INSERT INTO src VALUES (1, 'x'), (2, 'y'); CREATE TABLE cp LIKE src; CREATE TABLE IF NOT EXISTS cp LIKE src;
         CREATE TABLE sel SELECT id, s FROM src; CREATE TABLE gc SELECT GROUP_CONCAT(s ORDER BY id) AS g FROM src;
         CREATE TABLE d1 (a INT); CREATE TABLE d2 (a INT); DROP TABLE d1, d2;",
        "INSERT INTO cp (id) VALUES (5); SELECT id, s FROM cp; SELECT id, s FROM sel ORDER BY id; SELECT g FROM gc;
         SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME;
         SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
         AND TABLE_NAME = 'cp' ORDER BY INDEX_NAME",
    ),
    (
        "views replaced, altered and created with mariadb-dump's options, read in the same session",
        "CREATE TABLE vt (a INT, b INT); INSERT INTO vt VALUES (1, 2);
         CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v1 AS SELECT a FROM vt;",
        "SELECT * FROM v1; CREATE OR REPLACE VIEW v1 AS SELECT a, b FROM vt; SELECT * FROM v1;
         ALTER VIEW v1 (x) AS SELECT a + b FROM vt WITH CHECK OPTION; SELECT * FROM v1;
         ALTER TABLE vt ADD COLUMN c INT; SELECT * FROM vt",
    ),
    (
        "MariaDB's CREATE OR REPLACE TABLE, and its one-argument COALESCE, two-argument RPAD and WEEK modes",
        "CREATE OR REPLACE TABLE r (a INT); INSERT INTO r VALUES (1);
         CREATE OR REPLACE TABLE r (b INT, c VARCHAR(3)); INSERT INTO r VALUES (2, 'x');",
        "SELECT * FROM r; CREATE OR REPLACE TABLE r2 AS SELECT b * 2 AS d FROM r; SELECT * FROM r2;
         SELECT COALESCE(b), WEEK('2008-12-31', 1), WEEK('2000-01-01', 2), CONCAT(RPAD(c, 3), '|', LPAD(c, 3)) FROM r",
    ),
    (
        "statistical, bitwise and JSON aggregates",
        "CREATE TABLE ag (g INT, x INT, s VARCHAR(5));
         INSERT INTO ag VALUES (1, 2, 'a'), (1, 4, 'b'), (1, 4, NULL), (1, 5, 'e'), (2, 9, 'h'), (3, NULL, NULL);",
        // (Rounded: MariaDB shows the statistics of integers with four decimals, marmot as
        // doubles; and its JSON_ARRAYAGG prints without MySQL's spaces: compared by content.)
        "SELECT g, ROUND(STD(x), 4), ROUND(VARIANCE(x), 4), ROUND(VAR_SAMP(x), 4), ROUND(STDDEV_SAMP(x), 4),
         BIT_OR(x), BIT_XOR(x), BIT_AND(x) FROM ag WHERE g = 1 OR x IS NULL GROUP BY g ORDER BY g;
         SELECT JSON_LENGTH(JSON_ARRAYAGG(s)), JSON_EXTRACT(JSON_ARRAYAGG(s), '$[2]') FROM ag WHERE g = 1;
         SELECT JSON_EXTRACT(JSON_OBJECTAGG(s, x), '$.h') FROM ag WHERE s > 'b'",
    ),
    (
        "system variables read from information_schema, as test suites and admin tools read them",
        "",
        "SELECT VARIABLE_NAME FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME IN ('have_ssl', 'max_allowed_packet')
         ORDER BY 1; SELECT COUNT(*) FROM information_schema.SESSION_VARIABLES WHERE VARIABLE_NAME = 'AUTOCOMMIT'",
    ),
    (
        "SELECT … INTO @variables, before FROM or at the end; SHOW WARNINGS after it",
        "CREATE TABLE si (a INT, b VARCHAR(3)); INSERT INTO si VALUES (1, 'x'), (2, 'y');",
        "SELECT a, b INTO @p, @q FROM si WHERE a = 2; SELECT @p, @q; SELECT a FROM si ORDER BY a LIMIT 1 INTO @p;
         SELECT @p; SELECT a INTO @p FROM si WHERE a > 5; SHOW WARNINGS; SELECT @p",
    ),
    (
        "user variables assigned inside a query, row by row",
        "CREATE TABLE rn (a INT, b VARCHAR(3)); INSERT INTO rn VALUES (3, 'x'), (1, 'y'), (2, 'z');",
        "SET @n := 0; SELECT @n := @n + 1 AS n, a FROM rn WHERE a > 1; SELECT @n;
         SELECT @g := GROUP_CONCAT(b ORDER BY b) FROM rn; SELECT @g",
    ),
    (
        "string literals are labelled by their value",
        "",
        "SELECT 'hello', 'it''s', \"dq\", 'a' = 'a'",
    ),
    (
        "the isolation level a backup tool sets",
        "",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET GLOBAL TRANSACTION READ WRITE; SELECT 1",
    ),
];

fn run(port: u16, db: Option<&str>, sql: &str) -> (bool, String) {
    let (ok, out, err) = mariadb(port, "root", None, db, sql);
    (ok, if ok { out } else { err })
}

#[test]
fn statements_tools_and_orms_send_behave_as_on_mariadb() {
    let dir = tempfile::tempdir().unwrap();
    let maria = MariaDbServer::start(dir.path());
    let mdir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(mdir.path(), "");
    let mut failures = Vec::new();
    for (i, (name, setup, query)) in CASES.iter().enumerate() {
        let db = format!("case{i}");
        let mut outcome = Vec::new();
        for p in [maria.port, port] {
            let (ok, err) = run(p, None, &format!("CREATE DATABASE {db}"));
            assert!(ok, "{name}: CREATE DATABASE on port {p}: {err}");
            if !setup.is_empty() {
                let (ok, err) = run(p, Some(&db), &setup.replace("{db}", &db));
                if !ok {
                    failures.push(format!(
                        "{name}: setup failed on {}: {err}",
                        if p == port { "marmot" } else { "MariaDB" }
                    ));
                }
            }
            outcome.push(run(p, Some(&db), &query.replace("{db}", &db)));
        }
        let (want, got) = (&outcome[0], &outcome[1]);
        // A refusal is compared as a refusal (the messages differ); output exactly.
        if want.0 != got.0 || (want.0 && want.1 != got.1) {
            failures.push(format!("{name}: {query}\n    MariaDB: {want:?}\n    marmot:  {got:?}"));
        }
    }
    // SHOW CREATE TABLE other_db.t shows other_db's table, not the current database's
    // namesake (the syntax details differ: compared by the column only that one has).
    for p in [maria.port, port] {
        let setup = "CREATE DATABASE other_db; CREATE TABLE other_db.sc (id INT PRIMARY KEY, only_there TEXT); \
                     CREATE TABLE case0.sc (x INT)";
        let (ok, err) = run(p, None, setup);
        assert!(ok, "{err}");
        for (show, want) in [
            ("SHOW CREATE TABLE other_db.sc", "only_there"),
            ("SHOW FULL COLUMNS FROM other_db.sc", "only_there"),
            ("SHOW COLUMNS FROM sc FROM other_db", "only_there"),
            ("SHOW INDEX FROM other_db.sc", "PRIMARY"),
        ] {
            let (ok, out) = run(p, Some("case0"), show);
            if !(ok && out.contains(want)) {
                failures.push(format!("{show} on port {p}: {out}"));
            }
        }
    }
    // MySQL's `->` and `->>` (MariaDB has neither): JSON_EXTRACT and JSON_UNQUOTE of it,
    // labelled as written.
    let (ok, out) = run(
        port,
        None,
        r#"CREATE DATABASE arrows; CREATE TABLE arrows.js (id INT PRIMARY KEY, doc JSON);
           INSERT INTO arrows.js VALUES (1, '{"name": "ann", "n": 3}'), (2, '{"name": "bob", "n": 5, "tags": ["x", "y"]}');
           SELECT id, doc->'$.name', doc->>'$.name', doc->'$.tags[1]' FROM arrows.js WHERE doc->>'$.n' > 4"#,
    );
    let want = "id\tdoc->'$.name'\tdoc->>'$.name'\tdoc->'$.tags[1]'\n2\t\"bob\"\tbob\t\"y\"\n";
    if !ok || out != want {
        failures.push(format!("-> and ->>: want {want:?}, got {out:?}"));
    }
    // MySQL's CAST(… AS JSON) (MariaDB has none), and SHOW PLUGINS, which clients read
    // before they pick an authentication method (PyMySQL's own tests do).
    let (ok, out) = run(port, None, r#"SELECT CAST('{"a":1, "b":[1,2]}' AS JSON) AS j; SHOW PLUGINS"#);
    if !ok
        || !out.contains("j\n{\"a\": 1, \"b\": [1, 2]}\n")
        || !out.contains("mysql_native_password\tACTIVE\tAUTHENTICATION")
    {
        failures.push(format!("CAST AS JSON / SHOW PLUGINS: {out:?}"));
    }
    // SHOW CREATE TABLE as MySQL writes it: synonyms resolved, expression defaults in
    // parentheses (bare, a dump would not restore), generated columns with their
    // expressions.
    let (ok, out) = run(
        port,
        None,
        "CREATE DATABASE meta; CREATE TABLE meta.g (id INT PRIMARY KEY COMMENT 'the id', b BOOL DEFAULT 0, n NATIONAL CHAR(3), \
         d INT DEFAULT (3+5), w INT AS (d * 2) VIRTUAL, v INT GENERATED ALWAYS AS (concat(d, 'x')) STORED, \
         r REAL, nu NUMERIC(5,2), it INTEGER) COMMENT 'gee'; SHOW CREATE TABLE meta.g; SHOW COLUMNS FROM meta.g",
    );
    for want in [
        "`id` int NOT NULL COMMENT 'the id'",
        "COLLATE=utf8mb4_general_ci COMMENT='gee'",
        "`b` tinyint(1) DEFAULT 0",
        "`n` char(3) DEFAULT NULL",
        "`d` int DEFAULT (3 + 5)",
        "`w` int GENERATED ALWAYS AS (d * 2) VIRTUAL",
        "`v` int GENERATED ALWAYS AS (concat(d, 'x')) STORED",
        "`r` double DEFAULT NULL",
        "`nu` decimal(5,2) DEFAULT NULL",
        "`it` int DEFAULT NULL",
        "w\tint\tYES\t\tNULL\tVIRTUAL GENERATED",
    ] {
        if !ok || !out.contains(want) {
            failures.push(format!("SHOW CREATE TABLE / COLUMNS: {want:?} missing from {out:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n  {}", failures.len(), CASES.len(), failures.join("\n  "));
}
