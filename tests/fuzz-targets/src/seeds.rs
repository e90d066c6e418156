//! Seed inputs per target: well-formed examples for the fuzzer to mutate, drawn from the
//! compatibility corpora (`../shared/compat/*.jsonl`, the statements WordPress sends)
//! where they exist, and written out by hand for the protocol and file formats.

/// The schema the SQL translation target prepares statements against.
pub const SCHEMA: &str = "
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER, b BLOB, d REAL);
CREATE TABLE wp_options (option_id INTEGER PRIMARY KEY, option_name TEXT UNIQUE, option_value TEXT, autoload TEXT);
CREATE TABLE wp_posts (ID INTEGER PRIMARY KEY, post_title TEXT, post_content TEXT, post_status TEXT, post_date TEXT);
";

/// Statements in the style a MySQL application sends.
const STATEMENTS: &[&str] = &[
    "SELECT * FROM t WHERE id = 1",
    "INSERT INTO t (id, v, n) VALUES (1, 'a', 2) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    "UPDATE t SET v = CONCAT(v, 'x'), n = IFNULL(n, 0) + 1 WHERE id IN (1, 2, 3) ORDER BY id LIMIT 2",
    "DELETE FROM t WHERE v LIKE 'a\\_%' ESCAPE '\\\\'",
    "SELECT DATE_ADD(NOW(), INTERVAL 1 DAY), UNIX_TIMESTAMP(), CAST('12' AS SIGNED), `v` FROM `t`",
    "SELECT SQL_CALC_FOUND_ROWS v FROM t FORCE INDEX (PRIMARY) WHERE n BETWEEN 1 AND 5 GROUP BY v HAVING COUNT(*) > 1",
    "REPLACE INTO t SET id = 5, v = _binary'\\x00'",
    "SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1",
    "CREATE TABLE x (id BIGINT(20) UNSIGNED NOT NULL AUTO_INCREMENT, KEY k (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "SELECT REGEXP_REPLACE(v, '[a-z]+', 'x'), GROUP_CONCAT(DISTINCT v ORDER BY v SEPARATOR ';') FROM t",
];

/// Statements from the compatibility corpora, if they are there, else the built-in ones.
pub fn statements() -> Vec<String> {
    let mut out: Vec<String> = STATEMENTS.iter().map(|s| s.to_string()).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if v["cmd"] == "Query" {
                if let Some(q) = v["arg"].as_str() {
                    out.push(q.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut out = vec![n as u8, (n >> 8) as u8, (n >> 16) as u8, seq];
    out.extend_from_slice(payload);
    out
}

/// The handshake response of `root` with an empty password (protocol 4.1, plugin auth).
fn login() -> Vec<u8> {
    let caps: u32 = 0x0000_0200 | 0x0000_8000 | 0x0008_0000 | 0x0001_0000 | 0x0000_0008;
    let mut p = caps.to_le_bytes().to_vec();
    p.extend_from_slice(&(1u32 << 24).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(b"root\0");
    p.push(0); // empty auth response
    p.extend_from_slice(b"fuzz\0"); // CONNECT_WITH_DB
    p.extend_from_slice(b"mysql_native_password\0");
    packet(1, &p)
}

/// Whole client sessions: login, then commands.
pub fn connections() -> Vec<Vec<u8>> {
    let query = |sql: &str| {
        let mut p = vec![0x03];
        p.extend_from_slice(sql.as_bytes());
        packet(0, &p)
    };
    let mut out = Vec::new();
    let setup = [
        "CREATE DATABASE IF NOT EXISTS fuzz",
        "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v VARCHAR(20), n INT, b BLOB, d DOUBLE)",
    ];
    let mut base = login();
    for s in setup {
        base.extend(query(s));
    }
    for s in STATEMENTS {
        let mut c = base.clone();
        c.extend(query(s));
        out.push(c);
    }
    // A transaction, a prepared statement with every kind of parameter, long data, reset.
    let mut c = base.clone();
    for s in ["BEGIN", "INSERT INTO t (id, v) VALUES (7, 'x')", "SELECT * FROM t", "ROLLBACK"] {
        c.extend(query(s));
    }
    let mut prep = vec![0x16];
    prep.extend_from_slice(b"INSERT INTO t (id, v, n, b, d) VALUES (?, ?, ?, ?, ?)");
    c.extend(packet(0, &prep));
    let mut long = vec![0x18, 1, 0, 0, 0, 3, 0];
    long.extend_from_slice(b"long data piece");
    c.extend(packet(0, &long));
    c.extend(packet(0, &execute_body(1)));
    c.extend(packet(0, &[0x1a, 1, 0, 0, 0]));
    c.extend(packet(0, &[0x19, 1, 0, 0, 0]));
    c.extend(packet(0, &[0x0e]));
    c.extend(packet(0, &[0x01]));
    out.push(c);
    out
}

/// A COM_STMT_EXECUTE of statement `id` with five parameters: LONGLONG, VAR_STRING,
/// NULL, BLOB (sent as long data), DOUBLE.
fn execute_body(id: u32) -> Vec<u8> {
    let mut b = vec![0x17];
    b.extend_from_slice(&id.to_le_bytes());
    b.push(0);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&params());
    b
}

fn params() -> Vec<u8> {
    let mut b = vec![0b0000_0100, 1];
    for ty in [0x08u16, 0xfd, 0x06, 0xfc, 0x05] {
        b.extend_from_slice(&ty.to_le_bytes());
    }
    b.extend_from_slice(&42i64.to_le_bytes());
    b.push(3);
    b.extend_from_slice(b"abc");
    b.extend_from_slice(&1.5f64.to_le_bytes());
    b
}

/// Parameter blocks for [`super::stmt_execute_params`] (first byte: the count).
pub fn execute_params() -> Vec<Vec<u8>> {
    let mut five = vec![5];
    five.extend(params());
    let mut dates = vec![3, 0, 1];
    for ty in [0x0cu16, 0x0a, 0x0b] {
        dates.extend_from_slice(&ty.to_le_bytes());
    }
    dates.extend_from_slice(&[11, 0xea, 0x07, 1, 2, 3, 4, 5, 0x40, 0x42, 0x0f, 0]);
    dates.extend_from_slice(&[4, 0xea, 0x07, 1, 2]);
    dates.extend_from_slice(&[8, 1, 2, 0, 0, 0, 3, 4, 5]);
    vec![five, dates, vec![0]]
}

/// `LOAD DATA` statements, each followed by a file.
pub fn load_data() -> Vec<Vec<u8>> {
    [
        "LOAD DATA LOCAL INFILE 'f.csv' INTO TABLE t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, v)\nid,v\n1,\"a,b\"\n2,\\N\n",
        "LOAD DATA INFILE 'f.tsv' REPLACE INTO TABLE t\n1\tx\\ty\n2\t\\N\n",
        "LOAD DATA LOCAL INFILE 'f' IGNORE INTO TABLE t FIELDS TERMINATED BY '|' ESCAPED BY '' LINES STARTING BY '>' TERMINATED BY ';'\n>1|a;>2|b;",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Configuration files.
pub fn configs() -> Vec<Vec<u8>> {
    [
        "node_id = 1\ndata_dir = \"./d\"\n[mysql]\nport = 3306\nunix_socket_perm = 0660\n[[mysql.users]]\nname = \"app\"\npassword = \"x\"\n",
        "[cluster]\nseed_nodes = [\"a:1\", \"b:2\"]\ngossip_fanout = 2\n[replication]\ndefault_write_consistency = \"ALL\"\nconflict_rule = \"last_writer_wins\"\ngc_max_retention_hours = 0\n",
        "[tls]\nenabled = false\n[publisher]\n[[publisher.sinks]]\nname = \"k\"\ntype = \"kafka\"\nretry_multiplier = 2.0\n[replica]\nfollow_addresses = [\"n:1\"]\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Peer messages as protobuf: one of each kind the core sends.
pub fn peer_messages() -> Vec<Vec<u8>> {
    use marmot_core::membership::MemberDigest;
    use marmot_core::message::{LogEntry, TxnStatus, Vote};
    use marmot_core::{ColumnValue, Envelope, Hlc, MemberState, Message, Op, RowChange, RowKey, Txn, Value, Version};
    use prost::Message as _;
    let h = Hlc { wall: 1_700_000_000_000, logical: 3, node: 2 };
    let row = RowChange {
        database: "app".into(),
        table: "t".into(),
        op: Op::Update,
        key: RowKey(vec![1, 1, 2]),
        before: Some(vec![ColumnValue { column: "v".into(), value: Value::Text("a".into()) }]),
        after: Some(vec![
            ColumnValue { column: "v".into(), value: Value::Blob(vec![0, 255]) },
            ColumnValue { column: "n".into(), value: Value::Integer(-1) },
            ColumnValue { column: "d".into(), value: Value::Real(0.5) },
            ColumnValue { column: "z".into(), value: Value::Null },
        ]),
        schema_version: 2,
        read_version: Some(Version(h)),
    };
    let txn =
        Txn { id: h, coordinator: 2, rows: vec![row].into(), first_committer_wins: true, voting: Default::default() };
    let digest = MemberDigest {
        id: 2,
        addr: "127.0.0.1:1".into(),
        state: MemberState::Alive,
        incarnation: 4,
        admin_gen: 1,
        removed: false,
        sentinel: false,
        fresh: false,
    };
    let msgs = vec![
        Message::Prepare { txn: txn.clone() },
        Message::PrepareReply { txn_id: h, vote: Vote::Conflict },
        Message::Commit { txn_id: h },
        Message::Heartbeat { txn_ids: vec![h, h] },
        Message::StatusReply { txn_id: h, status: TxnStatus::Committed },
        Message::Gossip {
            members: vec![digest],
            heads: [("app".to_string(), 5)].into(),
            applied: [("app".to_string(), 4)].into(),
            schemas: [("app".to_string(), 2)].into(),
        },
        Message::PullLog { database: "app".into(), after: 3, limit: 64 },
        Message::LogChunk { database: "app".into(), after: 3, entries: vec![LogEntry { seq: 4, txn }], head: 4 },
        Message::SnapshotChunk {
            database: "app".into(),
            snapshot: 9,
            offset: 0,
            total: 4,
            sha256: vec![7; 32],
            data: vec![1, 2, 3, 4],
        },
    ];
    msgs.into_iter()
        .map(|msg| marmot_proto::convert::envelope(&Envelope { from: 2, to: 1, clock: h, msg }).encode_to_vec())
        .collect()
}

/// Snapshot images: a real one (first byte 0: correct checksum) and a truncated copy.
pub fn snapshots() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let loc = marmot_store::Location::Dir(dir.path().to_path_buf());
    let mut store = marmot_store::Store::open(loc, marmot_store::Synchronous::Normal, None).expect("store");
    store.ensure_database("app").expect("database");
    store.conn("app").expect("conn").execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").expect("schema");
    let snap = store.snapshot("app").expect("snapshot");
    let bytes = snap.bytes;
    let mut good = vec![0];
    good.extend_from_slice(&bytes);
    let mut cut = vec![0];
    cut.extend_from_slice(&bytes[..bytes.len() / 2]);
    vec![good, cut]
}

/// The seeds of target `name`.
pub fn of(name: &str) -> Vec<Vec<u8>> {
    match name {
        "mysql_connection" => connections(),
        "stmt_execute_params" => execute_params(),
        "sql_translation" => statements().into_iter().map(String::into_bytes).collect(),
        "load_data" => load_data(),
        "config_toml" => configs(),
        "peer_message" => peer_messages(),
        "snapshot_install" => snapshots(),
        other => panic!("no fuzz target {other}"),
    }
}
