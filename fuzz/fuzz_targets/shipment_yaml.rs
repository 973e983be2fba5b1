//! Shipment text → `Shipment::from_yaml` and `Shipment::from_json_line`, rendering any
//! error. Loading must give a shipment or a located problem, never a panic. The lines of
//! the text are also read one over the other into one shipment, as a batch worker reads
//! them, and each must give what it gives read alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rulecheck::diagnostics::render_plain;
use rulecheck::facts::Shipment;
use rulecheck::source::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile {
        name: "s.yaml".into(),
        text: s.into(),
    };
    match Shipment::from_yaml(&file) {
        Ok(shipment) => {
            let _ = shipment.digest();
        }
        Err(p) => {
            let _ = render_plain(&p);
            let _ = p.one_line();
        }
    }
    match Shipment::from_json_line(s, "s.jsonl", 1) {
        Ok(shipment) => {
            let _ = shipment.digest();
        }
        Err(p) => {
            let _ = render_plain(&p);
            let _ = p.one_line();
        }
    }
    // Read over the last, each line is the same shipment (or the same refusal) as alone:
    // no fact of an earlier record may survive into a later one.
    let mut held = None;
    for (n, line) in s.lines().enumerate() {
        let alone = Shipment::from_json_line(line, "s.jsonl", n + 1);
        let over = Shipment::read_json_line(&mut held, line, "s.jsonl", n + 1);
        match (alone, over) {
            (Ok(a), Ok(b)) => {
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "line {}", n + 1);
                assert_eq!(a.digest(), b.digest(), "line {}", n + 1);
            }
            (Err(a), Err(b)) => assert_eq!(a.one_line(), b.one_line(), "line {}", n + 1),
            (a, b) => panic!("line {}: alone {:?}, over the last {:?}", n + 1, a.is_ok(), b.is_ok()),
        }
    }
});
