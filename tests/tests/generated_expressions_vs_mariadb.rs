//! Differential check over generated expressions (see `marmot_e2e::expression_grammar`):
//! every operator and function form applied to operands of every MySQL type, evaluated
//! with `SELECT <expr>` on marmot and on a real MariaDB started here.
//!
//! The hand-picked list in `functions_vs_mariadb.rs` must agree exactly; this generated
//! one measures how far marmot is from MariaDB where nobody chose the cases. It prints
//! every difference and fails when fewer expressions agree than [`AGREEING_FLOOR`] (a
//! regression) or when marmot stops answering.
//!
//! The known classes of difference, and why they remain:
//! - Decimal literals as text: `10.00` is a SQLite REAL, so where MySQL prints it as a
//!   string (`CONCAT(10.00, '|')`, `LENGTH(10.00)`) its written scale is gone. (Numeric
//!   results are typed DECIMAL with MySQL's scale: see `result_types`.) A double keeps no
//!   count of decimals either: `ROUND('12', 1)` shows `12` (MySQL: `12.0`).
//! - A string compared with a number: SQLite orders every number before every string,
//!   MySQL compares the string's numeric value (`'abc' < 1` is 1).
//! - A number taken as a date (`YEAR(0)`, `CAST(1e3 AS DATE)`): MySQL reads the digits as
//!   YYYYMMDD; marmot's date functions answer NULL.
//! - `x LIKE -0.125`: a negative number as a LIKE pattern is a syntax error.

use marmot_e2e::expression_eval::evaluate;
use marmot_e2e::expression_grammar::expressions;
use marmot_e2e::mariadb_server::MariaDbServer;
use marmot_e2e::start_mysql_node;

/// Generated expressions whose results marmot reproduces exactly, as last measured (a
/// little below it, so the floor catches regressions).
const AGREEING_FLOOR: usize = 1920;

#[test]
fn generated_expressions_agree_with_mariadb() {
    let exprs = expressions();
    let dir = tempfile::tempdir().unwrap();
    let maria = MariaDbServer::start(dir.path());
    let mdir = tempfile::tempdir().unwrap();
    let (_m, port) = start_mysql_node(mdir.path(), "");
    let want = evaluate(maria.port, &exprs);
    let got = evaluate(port, &exprs);
    let mut differences = Vec::new();
    for (i, e) in exprs.iter().enumerate() {
        if want[i] != got[i] {
            differences.push(format!("{e:<50} MariaDB: {:<24} marmot: {}", want[i], got[i]));
        }
    }
    let agreeing = exprs.len() - differences.len();
    println!("{}", differences.join("\n"));
    println!("{agreeing} of {} generated expressions agree with MariaDB", exprs.len());
    assert!(
        agreeing >= AGREEING_FLOOR,
        "only {agreeing} of {} generated expressions agree with MariaDB (floor {AGREEING_FLOOR}); differences above",
        exprs.len()
    );
    // marmot still answers after every expression above.
    let (ok, out, err) = marmot_e2e::mariadb(port, "root", None, None, "SELECT 1");
    assert!(ok && out.contains('1'), "marmot stopped answering: {err}");
}
