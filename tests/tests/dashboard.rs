//! The live dashboard at `/cluster`, in a real browser: Debian's Chromium, headless,
//! driven through chromedriver (WebDriver). Against a 3-node cluster the page asks for the
//! secret, shows every member ALIVE with its writes/s, shows a node killed with SIGKILL turn
//! SUSPECT/DEAD and come back ALIVE after a restart, with the changes in its event list.
//! Screenshots are saved in `target/dashboard/` for people to look at.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use marmot_e2e::{free_port, query, require_tool, workspace_root, Cluster};
use serde_json::{json, Value};

const SECRET: &str = "dashboard secret";

/// chromedriver, stopped when dropped (also when the test fails).
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let driver = require_tool("chromedriver", "apt-get install chromium chromium-driver");
        require_tool("chromium", "apt-get install chromium chromium-driver");
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, port, _profile: tempfile::tempdir().expect("profile dir") }
    }

    async fn browser(&self) -> Client {
        let profile = self._profile.path().display().to_string();
        let caps = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1400,1000", format!("--user-data-dir={profile}")],
            }
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session through chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The state the page shows for each of nodes 1..=3 (empty when not shown).
async fn shown_states(page: &Client) -> Vec<String> {
    let v = page
        .execute(
            "return [1,2,3].map(i => { const r = document.getElementById('member-' + i); return r ? r.dataset.state : ''; });",
            vec![],
        )
        .await
        .expect("read the members table");
    v.as_array().into_iter().flatten().map(|s| s.as_str().unwrap_or("").to_string()).collect()
}

/// Poll the page until `ready` holds for what `read` returns, or fail after `within`.
async fn wait_page<T: std::fmt::Debug>(
    page: &Client,
    within: Duration,
    what: &str,
    read: impl AsyncFn(&Client) -> T,
    ready: impl Fn(&T) -> bool,
) -> T {
    let start = Instant::now();
    loop {
        let v = read(page).await;
        if ready(&v) {
            return v;
        }
        assert!(start.elapsed() < within, "{what}: the page still shows {v:?} after {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn screenshot(page: &Client, name: &str) {
    let dir = workspace_root().join("target/dashboard");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = page.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("save screenshot");
}

#[test]
fn the_dashboard_shows_members_rates_and_a_killed_node_coming_back() {
    let mut c = Cluster::start(3, SECRET, "");
    let grpc = c.nodes[0].grpc;
    // The page is public, its data is not.
    let (code, page) = c.nodes[0].http("GET", "/cluster", None);
    assert_eq!(code, 200);
    // Served whole from the binary: nothing loaded from elsewhere.
    assert!(page.contains("marmot cluster") && !page.contains("src=") && !page.contains("href="), "{page}");
    assert_eq!(c.nodes[0].http("GET", "/admin/cluster/overview", None).0, 401);
    assert_eq!(c.nodes[0].http("GET", "/admin/cluster/overview", Some("wrong")).0, 401);
    let (code, body) = c.nodes[0].http("GET", "/admin/cluster/overview", Some(SECRET));
    assert_eq!(code, 200, "{body}");

    let driver = Driver::start();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let page = rt.block_on(async {
        let page = driver.browser().await;
        page.goto(&format!("http://127.0.0.1:{grpc}/cluster")).await.expect("open the dashboard");
        let secret = page.wait().for_element(Locator::Id("secret")).await.expect("the secret prompt");
        secret.send_keys(SECRET).await.expect("type the secret");
        page.find(Locator::Css("#login-form button")).await.expect("button").click().await.expect("submit");
        wait_page(&page, Duration::from_secs(20), "every member ALIVE", shown_states, |s| {
            s.iter().all(|x| x == "ALIVE")
        })
        .await;
        page
    });
    // Writes through node 2 show as its writes/s (each node's own rate, gathered by node 1).
    query(c.nodes[1].mysql, None, "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)");
    for i in 0..30 {
        query(c.nodes[1].mysql, Some("d"), &format!("INSERT INTO t VALUES ({i})"));
    }
    let writes_of_2 = async |p: &Client| {
        let v = p
            .execute("return document.querySelector('#member-2 td:nth-child(5)').textContent;", vec![])
            .await
            .expect("writes cell");
        v.as_str().and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0)
    };
    rt.block_on(wait_page(&page, Duration::from_secs(15), "node 2's writes/s", writes_of_2, |w| *w > 0.0));
    rt.block_on(async {
        let lines = page
            .execute("return document.querySelectorAll('#writes-chart polyline').length;", vec![])
            .await
            .expect("chart");
        assert_eq!(lines, json!(3), "one line per node in the writes chart");
    });

    c.nodes[2].kill9();
    let seen = rt.block_on(async {
        let mut seen = Vec::new();
        let start = Instant::now();
        loop {
            let s = shown_states(&page).await;
            if seen.last() != Some(&s[2]) {
                seen.push(s[2].clone());
            }
            if s[2] == "DEAD" {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "node 3 never shown DEAD: {seen:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let health = page
            .execute("return document.querySelector('#member-3 td:nth-child(8)').textContent;", vec![])
            .await
            .expect("health cell");
        assert!(health.as_str().is_some_and(|h| !h.starts_with("healthy")), "a dead node shown healthy: {health}");
        screenshot(&page, "node-3-dead.png").await;
        seen
    });
    assert!(seen.iter().any(|s| s == "SUSPECT" || s == "DEAD"), "{seen:?}");

    c.nodes[2].start();
    rt.block_on(async {
        wait_page(&page, Duration::from_secs(40), "node 3 ALIVE again", shown_states, |s| {
            s.iter().all(|x| x == "ALIVE")
        })
        .await;
        // The event list is the node's own record (it looks once a second): newest first,
        // back ALIVE after having been DEAD.
        let events_of_3 = async |p: &Client| -> Vec<String> {
            let v = p
                .execute(
                    "return [...document.querySelectorAll('#events li[data-node=\"3\"]')].map(li => li.dataset.to);",
                    vec![],
                )
                .await
                .expect("events");
            v.as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
        };
        wait_page(&page, Duration::from_secs(10), "node 3 back ALIVE in the events", events_of_3, |e| {
            let alive = e.iter().position(|x| x == "ALIVE");
            let dead = e.iter().position(|x| x == "DEAD");
            matches!((alive, dead), (Some(a), Some(d)) if a < d)
        })
        .await;
        screenshot(&page, "cluster.png").await;
        page.close().await.expect("close the browser");
    });
}
