//! This node's answer to a `Checksum` request (`marmot verify`): the checksums of its
//! databases' settled rows, read on connections of their own (never the engine thread's,
//! so writes go on meanwhile), each database in one read transaction.

use std::collections::BTreeMap;

use marmot_proto::pb;

use crate::engine::Engine;
use marmot_store::checksum::{checksums, Excluded};
use marmot_store::open_connection;

/// The checksums `req` asks for (blocking: reads every row of the tables).
pub fn node_checksums(engine: &Engine, req: &pb::ChecksumRequest) -> Result<pb::ChecksumReply, String> {
    let databases: Vec<String> =
        engine.databases().into_iter().filter(|d| req.database.is_empty() || *d == req.database).collect();
    let mut excluded: BTreeMap<&str, Excluded> = BTreeMap::new();
    for t in &req.exclude {
        excluded.entry(&t.database).or_default().entry(t.table.clone()).or_default().extend(t.keys.iter().cloned());
    }
    let none = Excluded::new();
    let mut reply = pb::ChecksumReply { tables: Vec::new(), databases: databases.clone() };
    for db in &databases {
        let conn = open_connection(&engine.location, engine.sync, db).map_err(|e| format!("database {db}: {e}"))?;
        let sums = checksums(&conn, req.cutoff_wall, excluded.get(db.as_str()).unwrap_or(&none))
            .map_err(|e| format!("database {db}: {e}"))?;
        reply.tables.extend(sums.into_iter().map(|t| pb::TableChecksum {
            database: db.clone(),
            table: t.table,
            rows: t.rows,
            digest: t.digest.to_be_bytes().to_vec(),
            recent: t.recent,
        }));
    }
    Ok(reply)
}
