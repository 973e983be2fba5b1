//! Shipment text → `Shipment::from_yaml` and `Shipment::from_json_line`, rendering any
//! error. Loading must give a shipment or a located problem, never a panic.
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
});
