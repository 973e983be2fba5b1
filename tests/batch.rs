//! Batch mode: JSON Lines in, one JSON line out per record, in input order, an error
//! record for a bad one, the same bytes whatever the number of jobs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use assert_cmd::Command;

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

/// The examples as JSON lines, with their ids made unique per copy.
fn corpus(copies: usize) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut lines = Vec::new();
    for n in 0..copies {
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        {
            let mut v: serde_json::Value =
                serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v["id"] = serde_json::Value::String(format!("{}-{n}", v["id"].as_str().unwrap()));
            lines.push(serde_json::to_string(&v).unwrap());
        }
    }
    lines
}

#[test]
fn every_record_yields_one_line_in_order_and_bad_ones_are_error_records() {
    let mut lines = corpus(60);
    let good = lines.len();
    // Bad records in the middle: not JSON, a schema error, not UTF-8 is tested below.
    lines.insert(7, "{ this is not json".to_string());
    lines.insert(100, r#"{"id": "X", "date": "2024-01-01"}"#.to_string());
    let input = lines.join("\n") + "\n";
    let out = rulecheck()
        .args(["eval", "-"])
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(10),
        "an error record makes the run's status 10"
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records.len(),
        good + 2,
        "one output record per input record"
    );
    for (i, (r, l)) in records.iter().zip(&lines).enumerate() {
        if r["verdict"] == "error" {
            assert!(i == 7 || i == 100, "unexpected error at {i}: {r}");
            assert_eq!(r["line"], i + 1);
            // A record that is still a JSON object with an id names its shipment.
            if i == 100 {
                assert_eq!(r["shipment"], "X", "{r}");
                assert!(
                    r["error"].as_str().unwrap().starts_with("stdin:101:"),
                    "the position is the input line and column, once: {r}"
                );
            } else {
                assert!(r.get("shipment").is_none(), "{r}");
            }
            assert!(
                r["error"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("stdin:{}", i + 1)),
                "{r}"
            );
        } else {
            let id: serde_json::Value =
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].clone();
            assert_eq!(r["shipment"], id, "record {i} out of order");
        }
    }
    let summary = String::from_utf8(out.stderr).unwrap();
    assert!(
        summary.contains(&format!("{} records", good + 2)) && summary.contains("2 errors"),
        "{summary}"
    );
}

#[test]
fn output_is_the_same_bytes_for_any_number_of_jobs_and_matches_single_evaluation() {
    let input = corpus(100).join("\n") + "\n";
    let run = |jobs: &str| {
        rulecheck()
            .args(["eval", "--jobs", jobs, "-"])
            .write_stdin(input.clone())
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("7"));
    // The verdict of a line equals that of the same shipment evaluated from YAML.
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(one).unwrap().lines().nth(2).unwrap()).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let yaml = rulecheck()
        .args(["eval", "--format", "json"])
        .arg(&paths[2])
        .output()
        .unwrap();
    let single: serde_json::Value = serde_json::from_slice(&yaml.stdout).unwrap();
    assert_eq!(first["verdict"], single["verdict"]);
    assert_eq!(first["findings"], single["findings"]);
}

#[test]
fn a_jsonl_file_and_blank_lines_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let lines = corpus(1);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(lines[0].as_bytes());
    bytes.extend_from_slice(b"\n\n");
    bytes.extend_from_slice(b"{\"id\": \"\xff\xfe\"}\n");
    bytes.extend_from_slice(lines[1].as_bytes());
    bytes.extend_from_slice(b"\r\n");
    let path = dir.path().join("day.jsonl");
    std::fs::write(&path, bytes).unwrap();
    let out = rulecheck().arg("eval").arg(&path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "blank lines are not records: {text}");
    assert_eq!(records[1]["verdict"], "error");
    assert_eq!(records[1]["line"], 3);
    assert!(
        records[1].get("shipment").is_none(),
        "a line that is not UTF-8 names none"
    );
    assert_ne!(records[2]["verdict"], "error", "CRLF line ends are fine");
}

#[test]
fn a_bom_a_line_past_the_limit_and_a_last_line_without_its_end() {
    let lines = corpus(1);
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(lines[0].as_bytes());
    bytes.push(b'\n');
    // A line longer than the limit becomes an error record, even one blank as far as the
    // limit (it used to be skipped as blank); the next line is whole.
    bytes.extend(std::iter::repeat_n(
        b' ',
        rulecheck::batch::MAX_LINE_BYTES + 5,
    ));
    bytes.extend_from_slice(b"{}\n");
    bytes.extend_from_slice(lines[1].as_bytes());
    let out = rulecheck()
        .args(["eval", "--jobs", "2", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{text}");
    assert_ne!(records[0]["verdict"], "error", "a BOM on line 1 is fine");
    assert_eq!(records[1]["verdict"], "error");
    assert_eq!(records[1]["line"], 2);
    assert!(
        records[1]["error"]
            .as_str()
            .unwrap()
            .contains("more than the limit"),
        "{}",
        records[1]
    );
    assert_ne!(
        records[2]["verdict"], "error",
        "the last line needs no line end"
    );
    assert_eq!(records[2]["line"], serde_json::Value::Null);
}

#[test]
fn a_yaml_shipment_as_jsonl_is_the_line_batch_mode_writes_for_it() {
    let path = "examples/bishkek-microcontrollers.yaml";
    let single = rulecheck()
        .args(["eval", "--format", "jsonl", path])
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let batch = rulecheck()
        .args(["eval", "-"])
        .write_stdin(serde_json::to_string(&v).unwrap() + "\n")
        .output()
        .unwrap();
    let single = String::from_utf8(single.stdout).unwrap();
    assert!(single.contains("\"findings\":[{"), "{single}");
    assert_eq!(single, String::from_utf8(batch.stdout).unwrap());
}

/// Results that cannot be written end the run with an error that says so, whether the
/// workers write (as many jobs as cores) or a writer thread does (`--jobs 1`).
#[cfg(target_os = "linux")]
#[test]
fn results_that_cannot_be_written_are_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.jsonl");
    std::fs::write(&path, corpus(20).join("\n") + "\n").unwrap();
    for jobs in ["1", "2", "8"] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("rulecheck"))
            .args(["eval", "--jobs", jobs])
            .arg(&path)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(10), "--jobs {jobs}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot write the results"),
            "--jobs {jobs}: {err}"
        );
    }
}
