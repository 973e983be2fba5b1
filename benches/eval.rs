//! Per-shipment cost of the bundled regime library: reading a shipment (YAML file or
//! JSON line) and evaluating it, with and without building the explanation.
//!
//! Run with `cargo bench --bench eval`; compare ratios within one run (the machine is
//! shared and noisy).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{Criterion, criterion_group, criterion_main};
use rulecheck::eval::{Options, evaluate, evaluate_verdicts};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceFile;

/// The allocator the `rulecheck` binary runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn examples() -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn bench(c: &mut Criterion) {
    let (rules, _) = load(&Origin::Bundled).expect("the bundled rules check clean");
    let opts = Options::default();
    let all = examples();
    let shipments: Vec<Shipment> = all
        .iter()
        .map(|(n, t)| {
            Shipment::from_yaml(&SourceFile {
                name: n.clone(),
                text: t.as_str().into(),
            })
            .unwrap()
        })
        .collect();
    let lines: Vec<String> = all
        .iter()
        .map(|(_, t)| {
            serde_json::to_string(&serde_yaml::from_str::<serde_json::Value>(t).unwrap()).unwrap()
        })
        .collect();

    c.bench_function("load the bundled rules (with the real OFAC list)", |b| {
        b.iter(|| load(&Origin::Bundled).unwrap());
    });
    c.bench_function("evaluate every example, with explanations", |b| {
        b.iter(|| {
            shipments
                .iter()
                .map(|s| evaluate(&rules, s, &opts).findings.len())
                .sum::<usize>()
        });
    });
    c.bench_function("evaluate every example, verdicts only", |b| {
        b.iter(|| {
            shipments
                .iter()
                .map(|s| evaluate_verdicts(&rules, s, &opts).findings.len())
                .sum::<usize>()
        });
    });
    c.bench_function("read every example from a JSON line", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| {
                    Shipment::from_json_line(l, "b.jsonl", 1)
                        .unwrap()
                        .items
                        .len()
                })
                .sum::<usize>()
        });
    });
    c.bench_function(
        "read and evaluate every example from a JSON line, as batch mode does",
        |b| {
            b.iter(|| {
                lines
                    .iter()
                    .map(|l| {
                        let s = Shipment::from_json_line(l, "b.jsonl", 1).unwrap();
                        serde_json::to_string(&evaluate(&rules, &s, &opts))
                            .unwrap()
                            .len()
                    })
                    .sum::<usize>()
            });
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
