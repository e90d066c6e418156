//! TLS on the node port: nodes replicate over it and the admin API and /metrics answer
//! HTTPS, while plain-text requests get nowhere.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use marmot_e2e::{eventually, query, require_tool, Cluster};

/// A throwaway CA and one certificate for 127.0.0.1 signed by it, made with openssl.
fn make_certificates(dir: &Path) {
    let openssl = require_tool("openssl", "apt-get install openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).current_dir(dir).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=marmot test CA"],
    ]
    .concat());
    run(&[&["req"][..], &ec, &["-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1"]].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "node.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "node.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

#[test]
fn nodes_replicate_over_tls_and_the_admin_port_speaks_https() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let p = |f: &str| certs.path().join(f).display().to_string();
    let tls = format!(
        "[tls]\nenabled = true\ncert_file = \"{}\"\nkey_file = \"{}\"\nca_file = \"{}\"\n",
        p("node.pem"),
        p("node.key"),
        p("ca.pem")
    );
    let c = Cluster::start(2, "tls-secret", &tls);
    query(c.nodes[0].mysql, None, "CREATE DATABASE over_tls; USE over_tls; CREATE TABLE t (x INT PRIMARY KEY)");
    query(c.nodes[0].mysql, Some("over_tls"), "INSERT INTO t VALUES (42)");
    eventually(c.nodes[1].mysql, Some("over_tls"), "SELECT x FROM t", "x\n42\n", Duration::from_secs(10));
    assert!(c.nodes[0].log().contains("node port serves TLS"));
    // HTTPS with the CA: the admin API and /metrics answer.
    let curl = require_tool("curl", "apt-get install curl");
    let get = |path: &str, header: &str| {
        let url = format!("https://127.0.0.1:{}{path}", c.nodes[1].grpc);
        let out = Command::new(&curl)
            .args(["-sS", "--cacert", &p("ca.pem"), "-H", header, "-w", "\n%{http_code}", &url])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let members = get("/admin/cluster/members", "X-Marmot-Secret: tls-secret");
    assert!(members.ends_with("\n200") && members.contains("\"total_membership\":2"), "{members}");
    assert!(get("/admin/cluster/members", "X-Marmot-Secret: nope").ends_with("\n401"));
    assert!(get("/metrics", "Accept: text/plain").contains("marmot_transactions_total"));
    // Plain HTTP to the TLS port gets no answer.
    let (status, _) = c.nodes[1].http("GET", "/metrics", None);
    assert_ne!(status, 200);
    // And a client that does not trust the CA is refused.
    let out =
        Command::new(&curl).args(["-sS", &format!("https://127.0.0.1:{}/metrics", c.nodes[1].grpc)]).output().unwrap();
    assert!(!out.status.success(), "curl trusted a certificate from an unknown CA");
}
