//! A check-only change (a row read with `SELECT … FOR UPDATE`, committed as itself) is a
//! write only under first-committer-wins: at ONE, or under last-writer-wins, there is no
//! version check to make, and applying the old image could overwrite a newer one.

use marmot_core::io::Reply;
use marmot_core::{
    ColumnValue, ConflictRule, Consistency, CoreConfig, Effect, Input, Node, Op, RecoveredState, RowChange, RowKey,
    StoreWrite, Value,
};

fn row(op: Op, before: i64, after: i64) -> RowChange {
    let image = |n| Some(vec![ColumnValue { column: "n".into(), value: Value::Integer(n) }]);
    RowChange {
        database: "d".into(),
        table: "t".into(),
        op,
        key: RowKey(vec![1]),
        before: image(before),
        after: image(after),
        schema_version: 0,
        read_version: None,
    }
}

/// The effects of one write of `rows` on a fresh single node.
fn write(cfg: CoreConfig, rows: Vec<RowChange>, consistency: Consistency) -> Vec<Effect> {
    let mut node = Node::new(cfg, 1, "n1".into(), Vec::new(), 7, RecoveredState::default());
    let mut out = Vec::new();
    node.handle(0, Input::Start, &mut out);
    out.clear();
    node.handle(1, Input::Write { req: 1, rows, consistency: Some(consistency) }, &mut out);
    out
}

fn persists(out: &[Effect]) -> usize {
    out.iter().filter(|e| matches!(e, Effect::Persist { .. })).count()
}

fn committed_at_once(out: &[Effect]) -> bool {
    out.iter().any(|e| matches!(e, Effect::Reply { reply: Reply::Committed { .. }, .. }))
}

#[test]
fn a_check_alone_commits_nothing_without_first_committer_wins() {
    let check = row(Op::Update, 5, 5);
    assert!(check.is_check_only() && !row(Op::Update, 5, 6).is_check_only());
    let out = write(CoreConfig::default(), vec![check.clone()], Consistency::One);
    assert!(committed_at_once(&out) && persists(&out) == 0, "{out:?}");
    let lww = CoreConfig { conflict_rule: ConflictRule::LastWriterWins, ..CoreConfig::default() };
    let out = write(lww, vec![check.clone()], Consistency::Quorum);
    assert!(committed_at_once(&out) && persists(&out) == 0, "{out:?}");
}

#[test]
fn a_check_is_written_like_any_change_under_first_committer_wins() {
    let check = row(Op::Update, 5, 5);
    let out = write(CoreConfig::default(), vec![check.clone()], Consistency::Quorum);
    let prepared = out.iter().any(|e| match e {
        Effect::Persist { write: StoreWrite::Prepare { txn }, .. } => {
            txn.first_committer_wins && *txn.rows == vec![check.clone()]
        }
        _ => false,
    });
    assert!(prepared && !committed_at_once(&out), "{out:?}");
}
