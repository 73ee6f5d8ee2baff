//! `prombox alert send` against Debian's Alertmanager on 127.0.0.1: batches, several
//! Alertmanagers with one down, resolving, and bad input refused before anything is sent.

use crate::util::{free_port, text, Proc, Workdir};

/// An Alertmanager on a free port (no cluster), with a catch-all receiver.
fn alertmanager(wd: &Workdir) -> Option<(Proc, u16)> {
    crate::util::alertmanager(wd, "route:\n  receiver: all\nreceivers:\n  - name: all\n")
}

/// The active alerts Alertmanager holds.
fn listed(port: u16) -> Vec<serde_json::Value> {
    let body = ureq::get(&format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

fn rfc3339(ms: i64) -> String {
    prombox::model::time::format_rfc3339(ms)
}

#[test]
fn alert_send_to_alertmanager() {
    let wd = Workdir::new("alert-send");
    let Some((_am, port)) = alertmanager(&wd) else {
        return;
    };
    let now = prombox::model::time::now_ms();
    let start = rfc3339(now - 60_000);
    let lines: String = (0..100)
        .map(|i| {
            format!(
                "{{\"labels\":{{\"alertname\":\"DiskFull\",\"instance\":\"host-{i:02}\",\"severity\":\"page\"}},\"annotations\":{{\"summary\":\"disk {i} full\"}},\"startsAt\":\"{start}\",\"generatorURL\":\"http://prombox/graph?g0.expr=up\"}}\n"
            )
        })
        .collect();
    wd.write("alerts.jsonl", &lines);
    // 100 alerts in two batches of 64, to one Alertmanager that is up and one that is not.
    let down = free_port();
    let o = wd.run(
        &[
            "alert",
            "send",
            "--alertmanager",
            &format!("127.0.0.1:{port}"),
            "--alertmanager",
            &format!("http://127.0.0.1:{down}/"),
            "alerts.jsonl",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_eq!(
        err.matches(&format!("127.0.0.1:{down}/api/v2/alerts: batch"))
            .count(),
        2,
        "{err}"
    );
    let got = listed(port);
    assert_eq!(got.len(), 100);
    let host7 = got
        .iter()
        .find(|a| a["labels"]["instance"] == "host-07")
        .unwrap();
    assert_eq!(host7["labels"]["alertname"], "DiskFull");
    assert_eq!(host7["annotations"]["summary"], "disk 7 full");
    assert_eq!(host7["generatorURL"], "http://prombox/graph?g0.expr=up");
    let starts = host7["startsAt"].as_str().unwrap();
    assert_eq!(
        prombox::model::time::parse_rfc3339(starts),
        prombox::model::time::parse_rfc3339(&start),
        "{starts}"
    );
    // Resolved from stdin: endsAt in the past.
    let resolve = format!(
        "{{\"labels\":{{\"alertname\":\"DiskFull\",\"instance\":\"host-07\",\"severity\":\"page\"}},\"startsAt\":\"{start}\",\"endsAt\":\"{}\"}}\n",
        rfc3339(now - 1000)
    );
    let o = wd.run(
        &[
            "alert",
            "send",
            "--alertmanager",
            &format!("127.0.0.1:{port}"),
        ],
        resolve.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let got = listed(port);
    assert_eq!(got.len(), 99);
    assert!(!got.iter().any(|a| a["labels"]["instance"] == "host-07"));
    // A bad line: refused with its position, nothing sent.
    wd.write(
        "bad.jsonl",
        "{\"labels\":{\"alertname\":\"New\"}}\n{\"labels\":{\"alertname\":\"\"}}\n",
    );
    let o = wd.run(
        &[
            "alert",
            "send",
            "--alertmanager",
            &format!("127.0.0.1:{port}"),
            "bad.jsonl",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "prombox: alert send: bad.jsonl:2:1: invalid label set: empty value for \"alertname\""
        ),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(listed(port).len(), 99);
    // No Alertmanager took it: exit 2 with the reason.
    let o = wd.run(
        &[
            "alert",
            "send",
            "--alertmanager",
            &format!("127.0.0.1:{down}"),
        ],
        b"{\"labels\":{\"alertname\":\"Lost\"}}\n",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("1 of 1 batches reached no Alertmanager"),
        "{}",
        text(&o.stderr)
    );
    // --config: the Alertmanagers of a prometheus.yml, its external labels and alert
    // relabeling (global, then per set), as Prometheus's notifier applies them.
    wd.write(
        "prometheus.yml",
        format!(
            "global:\n  external_labels: {{cluster: c1}}\nalerting:\n  alert_relabel_configs:\n    - source_labels: [severity]\n      regex: debug\n      action: drop\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{port}']\n      alert_relabel_configs:\n        - target_label: via\n          replacement: config\n    - static_configs:\n        - targets: ['127.0.0.1:{down}']\n      timeout: 1s\n"
        ),
    );
    let input = "{\"labels\":{\"alertname\":\"Cfg1\",\"severity\":\"page\"}}\n{\"labels\":{\"alertname\":\"Cfg2\",\"severity\":\"debug\"}}\n{\"labels\":{\"alertname\":\"Cfg3\",\"cluster\":\"other\"}}\n";
    let o = wd.run(
        &["alert", "send", "--config", "prometheus.yml"],
        input.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("127.0.0.1:{down}")),
        "{}",
        text(&o.stderr)
    );
    let got = listed(port);
    let by_name = |n: &str| got.iter().find(|a| a["labels"]["alertname"] == n).cloned();
    let cfg1 = by_name("Cfg1").expect("Cfg1 sent");
    assert_eq!(cfg1["labels"]["cluster"], "c1");
    assert_eq!(cfg1["labels"]["via"], "config");
    assert!(by_name("Cfg2").is_none(), "a dropped alert was sent");
    assert_eq!(by_name("Cfg3").unwrap()["labels"]["cluster"], "other");
    // What Prometheus 3.x refuses is refused.
    wd.write(
        "v1.yml",
        "alerting:\n  alertmanagers:\n    - api_version: v1\n      static_configs: [{targets: ['a:9093']}]\n",
    );
    let o = wd.run(&["alert", "send", "--config", "v1.yml"], input.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "v1.yml:3:20: expected Alertmanager api version to be one of [v2] but got v1"
        ),
        "{}",
        text(&o.stderr)
    );
}
