//! Batch screening: JSON Lines in, JSON Lines out, in input order, on all cores, in
//! bounded memory. Every input record yields exactly one output record: a verdict, or
//! an error record with the line number and the diagnostic.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::compile::RuleSet;
use crate::eval::{Options, evaluate};
use crate::facts::Shipment;
use crate::types::Verdict;

/// Records handed to a worker at a time: large enough to amortise channel traffic,
/// small enough to keep the reorder window small.
const BATCH: usize = 256;

/// Longest input line accepted, in bytes; a longer one becomes an error record.
pub const MAX_LINE_BYTES: usize = crate::facts::MAX_SHIPMENT_BYTES;

/// What a batch run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Records read.
    pub records: u64,
    /// Records per verdict.
    pub verdicts: BTreeMap<Verdict, u64>,
    /// Records that could not be evaluated.
    pub errors: u64,
}

impl Summary {
    /// The most severe verdict, if any record got one.
    #[must_use]
    pub fn worst(&self) -> Option<Verdict> {
        self.verdicts.keys().max().copied()
    }

    /// Counts one record: its verdict, or an error.
    fn count(&mut self, verdict: Option<Verdict>) {
        self.records += 1;
        match verdict {
            Some(v) => *self.verdicts.entry(v).or_default() += 1,
            None => self.errors += 1,
        }
    }
}

/// An error record: which line, and what was wrong with it.
#[derive(Serialize)]
struct ErrorRecord<'a> {
    /// Always `error`, so that consumers can tell records apart.
    verdict: &'static str,
    source: &'a str,
    line: usize,
    error: String,
}

/// One output line and what it counts as.
struct Done {
    json: String,
    verdict: Option<Verdict>,
}

#[allow(clippy::expect_used)] // serialising our own records cannot fail: they hold only strings, numbers and lists
fn one(rules: &RuleSet, opts: Options, source: &str, line: usize, text: &str) -> Done {
    let error = |msg: String| Done {
        json: serde_json::to_string(&ErrorRecord {
            verdict: "error",
            source,
            line,
            error: msg,
        })
        .expect("error records are strings and numbers"),
        verdict: None,
    };
    if text.len() > MAX_LINE_BYTES {
        return error(format!(
            "the record is {} bytes, more than the limit of {MAX_LINE_BYTES}",
            text.len()
        ));
    }
    match Shipment::from_json_line(text, source, line) {
        Ok(s) => {
            let o = evaluate(rules, &s, &opts);
            Done {
                json: serde_json::to_string(&o).expect("outcomes are strings, numbers and lists"),
                verdict: Some(o.verdict),
            }
        }
        Err(p) => error(p.one_line()),
    }
}

/// Reads JSON Lines from `input`, evaluates each record on `jobs` threads, and writes
/// one JSON line per record to `out`, in input order. `progress` is called after each
/// batch is written with the number of records done.
#[allow(clippy::expect_used)] // the token channel is made with room for the whole window; a panicking reader is a bug
pub fn run(
    rules: &RuleSet,
    opts: &Options,
    source: &str,
    input: impl BufRead + Send,
    out: &mut impl Write,
    jobs: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<Summary> {
    let jobs = jobs.max(1);
    // At most `window` batches are read and not yet written: memory stays bounded
    // whatever the input size and however uneven the batches.
    let window = jobs * 4;
    let (tokens_tx, tokens_rx) = sync_channel::<()>(window);
    for _ in 0..window {
        tokens_tx
            .send(())
            .expect("the token channel has room for the window");
    }
    let (work_tx, work_rx) = sync_channel::<(usize, usize, Vec<String>)>(window);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<(usize, Vec<Done>)>(window);
    std::thread::scope(|s| {
        let reader = s.spawn(move || read_batches(input, &tokens_rx, &work_tx));
        for _ in 0..jobs {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            s.spawn(move || work(rules, *opts, source, &work_rx, &done_tx));
        }
        // Only the threads hold channel ends now, so that when one side stops (end of
        // input, or a closed output) every other side sees it and stops too.
        drop(work_rx);
        drop(done_tx);
        let written = write_in_order(out, done_rx, tokens_tx, progress);
        let read = reader.join().expect("the reader thread does not panic");
        let summary = written?;
        read?;
        Ok(summary)
    })
}

/// The output of one input line, or `None` for a blank line, which is not a record.
fn record(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    line_no: usize,
    line: &str,
) -> Option<Done> {
    let t = line.trim_end_matches(['\n', '\r']);
    // Blank lines separate nothing in JSON Lines: they are not records.
    if t.trim().is_empty() {
        return None;
    }
    let t = if line_no == 1 {
        t.trim_start_matches('\u{feff}')
    } else {
        t
    };
    Some(one(rules, opts, source, line_no, t))
}

fn read_batches(
    mut input: impl BufRead,
    tokens: &Receiver<()>,
    work: &SyncSender<(usize, usize, Vec<String>)>,
) -> std::io::Result<()> {
    let mut seq = 0;
    let mut line_no = 0;
    loop {
        if tokens.recv().is_err() {
            return Ok(());
        }
        let first = line_no + 1;
        let mut lines = Vec::with_capacity(BATCH);
        while lines.len() < BATCH {
            let Some(line) = read_line_bounded(&mut input)? else {
                break;
            };
            line_no += 1;
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(());
        }
        let last = lines.len() < BATCH;
        if work.send((seq, first, lines)).is_err() {
            return Ok(());
        }
        seq += 1;
        if last {
            return Ok(());
        }
    }
}

/// Reads one line, keeping at most `MAX_LINE_BYTES + 1` bytes of it in memory: a longer
/// line is cut, and its record becomes an error record.
#[allow(clippy::indexing_slicing)] // `take` is at most the length of the chunk it was measured in
fn read_line_bounded(input: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut seen_any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        seen_any = true;
        let (take, end) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        input.consume(take);
        if end {
            break;
        }
    }
    if !seen_any {
        return Ok(None);
    }
    // A line that is not UTF-8 still yields its record: an error.
    Ok(Some(
        String::from_utf8(buf).unwrap_or_else(|_| "\u{fffd} (not UTF-8)".to_string()),
    ))
}

fn work(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    work: &Mutex<Receiver<(usize, usize, Vec<String>)>>,
    done: &SyncSender<(usize, Vec<Done>)>,
) {
    loop {
        let next = work.lock().map(|rx| rx.recv());
        let Ok(Ok((seq, first, lines))) = next else {
            return;
        };
        let results = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| record(rules, opts, source, first + i, l))
            .collect();
        if done.send((seq, results)).is_err() {
            return;
        }
    }
}

fn write_in_order(
    out: &mut impl Write,
    done: Receiver<(usize, Vec<Done>)>,
    tokens: SyncSender<()>,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    let mut pending: BTreeMap<usize, Vec<Done>> = BTreeMap::new();
    let mut next = 0;
    for (seq, batch) in &done {
        pending.insert(seq, batch);
        while let Some(batch) = pending.remove(&next) {
            for d in batch {
                out.write_all(d.json.as_bytes())?;
                out.write_all(b"\n")?;
                summary.count(d.verdict);
            }
            next += 1;
            // The batch is out: the reader may read another.
            let _ = tokens.send(());
            progress(summary.records);
        }
    }
    // Closing both ends tells the reader and the workers that the run is over.
    drop(done);
    drop(tokens);
    out.flush()?;
    Ok(summary)
}
