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

/// The input lines of one batch, in one buffer: `ends[k]` is where line `k` ends.
struct Lines {
    seq: usize,
    first: usize,
    text: Vec<u8>,
    ends: Vec<usize>,
}

/// The output of one batch: its JSON lines in one buffer, and what each record counts as.
struct Done {
    seq: usize,
    text: Vec<u8>,
    verdicts: Vec<Option<Verdict>>,
}

/// Evaluates one record and appends its output line to `out`; returns its verdict, or
/// `None` for an error record.
#[allow(clippy::expect_used)] // serialising our own records cannot fail: they hold only strings, numbers and lists
fn one(
    out: &mut Vec<u8>,
    rules: &RuleSet,
    opts: Options,
    source: &str,
    line: usize,
    text: &str,
) -> Option<Verdict> {
    let mut error = |msg: String| {
        serde_json::to_writer(
            &mut *out,
            &ErrorRecord {
                verdict: "error",
                source,
                line,
                error: msg,
            },
        )
        .expect("error records are strings and numbers");
        out.push(b'\n');
        None
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
            serde_json::to_writer(&mut *out, &o).expect("outcomes are strings, numbers and lists");
            out.push(b'\n');
            Some(o.verdict)
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
    let (work_tx, work_rx) = sync_channel::<Lines>(window);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<Done>(window);
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

/// Evaluates one input line into `out`, its output line and its verdict (`None`: an error
/// record); a blank line is not a record and adds nothing.
fn record(
    out: &mut Done,
    rules: &RuleSet,
    opts: Options,
    source: &str,
    line_no: usize,
    line: &[u8],
) {
    // A line that is not UTF-8 still yields its record: an error.
    let line = std::str::from_utf8(line).unwrap_or("\u{fffd} (not UTF-8)");
    let t = line.trim_end_matches(['\n', '\r']);
    // Blank lines separate nothing in JSON Lines: they are not records.
    if t.trim().is_empty() {
        return;
    }
    let t = if line_no == 1 {
        t.trim_start_matches('\u{feff}')
    } else {
        t
    };
    let verdict = one(&mut out.text, rules, opts, source, line_no, t);
    out.verdicts.push(verdict);
}

fn read_batches(
    mut input: impl BufRead,
    tokens: &Receiver<()>,
    work: &SyncSender<Lines>,
) -> std::io::Result<()> {
    let mut seq = 0;
    let mut line_no = 0;
    // Batches are about the same size: start each with the room the last one needed.
    let mut room = 64 * 1024;
    loop {
        if tokens.recv().is_err() {
            return Ok(());
        }
        let first = line_no + 1;
        let mut text = Vec::with_capacity(room);
        let mut ends = Vec::with_capacity(BATCH);
        while ends.len() < BATCH && read_line_bounded(&mut input, &mut text)? {
            line_no += 1;
            ends.push(text.len());
        }
        if ends.is_empty() {
            return Ok(());
        }
        room = room.max(text.len());
        let last = ends.len() < BATCH;
        if work
            .send(Lines {
                seq,
                first,
                text,
                ends,
            })
            .is_err()
        {
            return Ok(());
        }
        seq += 1;
        if last {
            return Ok(());
        }
    }
}

/// Appends one line to `buf`, keeping at most `MAX_LINE_BYTES + 1` bytes of it: a longer
/// line is cut, and its record becomes an error record. False at the end of the input.
#[allow(clippy::indexing_slicing)] // `take` is at most the length of the chunk it was measured in
fn read_line_bounded(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let start = buf.len();
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
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len() - start);
        buf.extend_from_slice(&chunk[..take.min(room)]);
        input.consume(take);
        if end {
            break;
        }
    }
    Ok(seen_any)
}

fn work(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    work: &Mutex<Receiver<Lines>>,
    done: &SyncSender<Done>,
) {
    loop {
        let next = work.lock().map(|rx| rx.recv());
        let Ok(Ok(batch)) = next else {
            return;
        };
        let mut out = Done {
            seq: batch.seq,
            text: Vec::with_capacity(batch.text.len()),
            verdicts: Vec::with_capacity(batch.ends.len()),
        };
        let mut start = 0;
        for (i, &end) in batch.ends.iter().enumerate() {
            let line = batch.text.get(start..end).unwrap_or_default();
            start = end;
            record(&mut out, rules, opts, source, batch.first + i, line);
        }
        if done.send(out).is_err() {
            return;
        }
    }
}

fn write_in_order(
    out: &mut impl Write,
    done: Receiver<Done>,
    tokens: SyncSender<()>,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    let mut pending: BTreeMap<usize, Done> = BTreeMap::new();
    let mut next = 0;
    for batch in &done {
        pending.insert(batch.seq, batch);
        while let Some(batch) = pending.remove(&next) {
            out.write_all(&batch.text)?;
            for v in batch.verdicts {
                summary.count(v);
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
