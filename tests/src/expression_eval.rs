//! `SELECT <expr>` for a list of expressions on one server, through `tests/compat/eval.py`
//! (PyMySQL without conversions: each value as the text protocol carries it).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{require_tool, workspace_root};

/// Each expression's result on the server at `port`: the value as JSON text (`"3.5"`,
/// `null`) or `error <code>`.
pub fn evaluate(port: u16, expressions: &[String]) -> Vec<String> {
    let root = workspace_root();
    let py = root.join("target/e2e-venv/bin/python");
    let py = require_tool(py.to_str().expect("utf-8"), "./scripts/test-all.sh (creates target/e2e-venv with PyMySQL)");
    let mut child = Command::new(py)
        .arg(root.join("tests/compat/eval.py"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eval.py");
    let input = serde_json::to_string(expressions).expect("JSON");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write expressions");
    let out = child.wait_with_output().expect("eval.py");
    assert!(out.status.success(), "eval.py on port {port} failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("eval.py prints JSON");
    assert_eq!(v.len(), expressions.len(), "eval.py answered every expression");
    v.iter()
        .map(
            |r| {
                if r["ok"].as_bool() == Some(true) {
                    format!("{}", r["value"])
                } else {
                    format!("error {}", r["error"])
                }
            },
        )
        .collect()
}
