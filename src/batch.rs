//! Batch screening: JSON Lines in, JSON Lines out, in input order, on all cores, in
//! bounded memory. Every input record yields exactly one output record: a verdict, or
//! an error record with the line number and the diagnostic.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use serde::Serialize;

use crate::compile::RuleSet;
use crate::eval::{Options, evaluate};
use crate::facts::{Shipment, ShipmentId};
use crate::types::Verdict;

/// Records handed to a worker at a time: large enough to amortise channel traffic,
/// small enough to keep the reorder window small.
const BATCH: usize = 256;

/// Longest input line accepted, in bytes; a longer one becomes an error record.
pub const MAX_LINE_BYTES: usize = crate::facts::MAX_SHIPMENT_BYTES;

/// Most bytes asked of the input in one read.
const MAX_READ: usize = 1 << 20;

/// Fewest bytes asked of the input in one read, so that a batch is not read in many
/// small pieces when its lines are longer than the last batch's.
const MIN_READ: usize = 4 * 1024;

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
    /// The record's `id`, when the line is a JSON object with a usable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    shipment: Option<String>,
    source: &'a str,
    line: usize,
    error: String,
}

/// One batch on its way round: it is read into `input` and `ends` (`ends[k]` is where
/// line `k` ends), `input` moves to `text` when it is all UTF-8, evaluation fills
/// `output` and `verdicts`, and once written the slot is recycled for another batch. The
/// same few slots go round for the whole run, so their buffers are reused: no fresh memory
/// per batch (each thread freeing what another allocated kept the allocator taking fresh
/// pages), and a fixed number of batches in flight.
#[derive(Default)]
struct Slot {
    seq: usize,
    /// The line number of the first line.
    first: usize,
    input: Vec<u8>,
    /// The batch when it is UTF-8 as a whole, as nearly every batch is: checked by the
    /// reader, at once, so that the workers need not check each line (`input` is then
    /// empty, its buffer moved here).
    text: String,
    ends: Vec<usize>,
    /// The JSON lines of the batch's records.
    output: Vec<u8>,
    /// What each record counts as: its verdict, or `None` for an error record.
    verdicts: Vec<Option<Verdict>>,
}

/// A slot's buffer larger than this after a batch (a batch of huge lines) is given back
/// to the allocator rather than kept for the rest of the run.
const KEEP_BYTES: usize = 4 * 1024 * 1024;

impl Slot {
    /// Empties the slot for its next batch, keeping its buffers unless one grew past
    /// [`KEEP_BYTES`].
    fn recycle(&mut self) {
        // The input buffer back from `text`, where a batch of text took it.
        let text = std::mem::take(&mut self.text).into_bytes();
        if text.capacity() > self.input.capacity() {
            self.input = text;
        }
        // The input buffer keeps its length, bytes of the last batch: the next batch is
        // read over them, and only bytes past them need zeroing to be read into.
        if self.input.capacity() > KEEP_BYTES {
            self.input = Vec::new();
        }
        if self.output.capacity() > KEEP_BYTES {
            self.output = Vec::new();
        } else {
            self.output.clear();
        }
        self.ends.clear();
        self.verdicts.clear();
    }

    /// Checks the batch read into `input` at once and moves it to `text` if it is UTF-8.
    fn check_text(&mut self) {
        match String::from_utf8(std::mem::take(&mut self.input)) {
            Ok(text) => self.text = text,
            Err(e) => self.input = e.into_bytes(),
        }
    }

    /// The bytes of the batch, wherever they are.
    fn bytes(&self) -> &[u8] {
        if self.input.is_empty() {
            self.text.as_bytes()
        } else {
            &self.input
        }
    }

    /// The line that spans `range` of the batch: text if the batch is, bytes otherwise.
    fn line(&self, range: std::ops::Range<usize>) -> Line<'_> {
        if self.input.is_empty()
            && let Some(t) = self.text.get(range.clone())
        {
            return Line::Text(t);
        }
        Line::Bytes(self.bytes().get(range).unwrap_or_default())
    }
}

/// One input line with its end of line: text when its batch was found to be UTF-8 as a
/// whole, bytes to check otherwise.
#[derive(Clone, Copy)]
enum Line<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// Appends an error record for line `line` to `out`; returns `None`, what it counts as.
#[allow(clippy::expect_used)] // serialising an error record into memory cannot fail: it holds only strings and a number
fn error(
    out: &mut Vec<u8>,
    source: &str,
    line: usize,
    shipment: Option<String>,
    msg: String,
) -> Option<Verdict> {
    serde_json::to_writer(
        &mut *out,
        &ErrorRecord {
            verdict: "error",
            shipment,
            source,
            line,
            error: msg,
        },
    )
    .expect("error records are strings and numbers");
    out.push(b'\n');
    None
}

/// Evaluates one record and appends its output line to `out`; returns its verdict, or
/// `None` for an error record.
fn one(
    out: &mut Vec<u8>,
    held: &mut Option<Shipment>,
    rules: &RuleSet,
    opts: Options,
    source: &str,
    line: usize,
    text: &str,
) -> Option<Verdict> {
    match Shipment::read_json_line(held, text, source, line) {
        Ok(s) => {
            let o = evaluate(rules, s, &opts);
            crate::outcome_json::write(out, &o);
            out.push(b'\n');
            Some(o.verdict)
        }
        Err(p) => error(out, source, line, shipment_id(text), p.one_line()),
    }
}

/// The `id` of a record that could not be read as a shipment, if the line is still a
/// JSON object whose `id` reads as a shipment id, so that the error record names the
/// shipment it is about. Only refused records pay for this second reading.
fn shipment_id(text: &str) -> Option<String> {
    let serde_json::Value::Object(mut record) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let id: ShipmentId = serde_json::from_value(record.remove("id")?).ok()?;
    Some(id.0.into())
}

/// Why a batch run stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The input could not be read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// The results could not be written.
    #[error("cannot write the results: {0}")]
    Write(std::io::Error),
}

/// How a run reads its input and writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// A reader thread and a writer thread beside the workers, so that input and output
    /// overlap evaluation: for a core the workers leave free.
    Threads,
    /// Each worker reads its next batch and writes the batches next in line itself: with
    /// no core to spare, a reader and a writer thread would only take turns with the
    /// workers, each hand-off a wake-up and a preemption.
    Inline,
}

impl Io {
    /// [`Io::Threads`] when the machine has a core besides the `jobs` workers',
    /// [`Io::Inline`] otherwise.
    #[must_use]
    pub fn for_jobs(jobs: usize) -> Io {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        if jobs < cores {
            Io::Threads
        } else {
            Io::Inline
        }
    }
}

/// Reads JSON Lines from `input`, evaluates each record on `jobs` threads, and writes
/// one JSON line per record to `out`, in input order. `progress` is called after each
/// batch is written with the number of records done. Input and output are done as `io`
/// says ([`Io::for_jobs`] chooses for the machine): the output is the same bytes either
/// way.
#[allow(clippy::too_many_arguments)] // what to evaluate, where from and to, and how
pub fn run(
    rules: &RuleSet,
    opts: &Options,
    source: &str,
    input: impl Read + Send,
    out: &mut (impl Write + Send),
    jobs: usize,
    io: Io,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, RunError> {
    let jobs = jobs.max(1);
    let input = Input::new(input, MAX_READ);
    // At most `window` batches are read and not yet written: memory stays bounded
    // whatever the input size and however uneven the batches.
    let window = jobs * 4;
    let order = Reorder::new(progress);
    match io {
        Io::Threads => with_threads(rules, *opts, source, input, out, jobs, window, order),
        Io::Inline => inline(rules, *opts, source, input, out, jobs, window, order),
    }
}

/// Runs a reader thread, `jobs` workers, and the writer on the calling thread, which
/// pass batches by channels.
#[allow(clippy::too_many_arguments)] // `run`'s, prepared
#[allow(clippy::expect_used)] // the free channel is made with room for the whole window; a panicking reader is a bug
fn with_threads<R: Read + Send>(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    input: Input<R>,
    out: &mut impl Write,
    jobs: usize,
    window: usize,
    order: Reorder<'_>,
) -> Result<Summary, RunError> {
    let (free_tx, free_rx) = sync_channel::<Slot>(window);
    for _ in 0..window {
        free_tx
            .send(Slot::default())
            .expect("the free channel has room for the window");
    }
    let (work_tx, work_rx) = sync_channel::<Slot>(window);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<Slot>(window);
    std::thread::scope(|s| {
        let reader = s.spawn(move || read_batches(input, &free_rx, &work_tx));
        for _ in 0..jobs {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            s.spawn(move || work(rules, opts, source, &work_rx, &done_tx));
        }
        // Only the threads hold channel ends now, so that when one side stops (end of
        // input, or a closed output) every other side sees it and stops too.
        drop(work_rx);
        drop(done_tx);
        let written = write_in_order(out, done_rx, free_tx, order);
        let read = reader.join().expect("the reader thread does not panic");
        let summary = written.map_err(RunError::Write)?;
        read.map_err(RunError::Read)?;
        Ok(summary)
    })
}

/// Batches evaluated in any order, written in input order.
struct Reorder<'p> {
    /// Evaluated batches waiting for those before them, by sequence number.
    pending: BTreeMap<usize, Slot>,
    /// The sequence number of the next batch to write.
    next: usize,
    summary: Summary,
    progress: &'p (dyn Fn(u64) + Sync),
}

impl<'p> Reorder<'p> {
    fn new(progress: &'p (dyn Fn(u64) + Sync)) -> Self {
        Reorder {
            pending: BTreeMap::new(),
            next: 0,
            summary: Summary::default(),
            progress,
        }
    }

    /// Takes the evaluated `slot`, and writes to `out` every batch now next in line,
    /// handing each slot written, recycled, to `freed`.
    fn put(
        &mut self,
        slot: Slot,
        out: &mut impl Write,
        mut freed: impl FnMut(Slot),
    ) -> std::io::Result<()> {
        self.pending.insert(slot.seq, slot);
        while let Some(mut slot) = self.pending.remove(&self.next) {
            out.write_all(&slot.output)?;
            for v in &slot.verdicts {
                self.summary.count(*v);
            }
            self.next += 1;
            slot.recycle();
            freed(slot);
            (self.progress)(self.summary.records);
        }
        Ok(())
    }
}

/// Evaluates every line of the batch in `slot` into its output, reading each record over
/// the worker's last, `held`.
fn evaluate_batch(
    slot: &mut Slot,
    held: &mut Option<Shipment>,
    rules: &RuleSet,
    opts: Options,
    source: &str,
) {
    let mut output = std::mem::take(&mut slot.output);
    let mut verdicts = std::mem::take(&mut slot.verdicts);
    let mut start = 0;
    for (i, &end) in slot.ends.iter().enumerate() {
        let line = slot.line(start..end);
        start = end;
        let line_no = slot.first + i;
        record(
            &mut output,
            &mut verdicts,
            held,
            rules,
            opts,
            source,
            line_no,
            line,
        );
    }
    slot.output = output;
    slot.verdicts = verdicts;
}

/// What the workers of an inline run share.
struct Shared<'p, R, W> {
    input: Mutex<Input<R>>,
    /// Slots free to read a batch into, and whether the run is over.
    free: Mutex<(Vec<Slot>, bool)>,
    /// Signalled when slots are freed or the run ends.
    freed: Condvar,
    /// The output, the batches waiting to be written to it, and why writing failed.
    out: Mutex<(W, Reorder<'p>, Option<std::io::Error>)>,
}

impl<R, W> Shared<'_, R, W> {
    /// A free slot, when one is or becomes free before the run ends.
    fn take(&self) -> Option<Slot> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if free.1 {
                return None;
            }
            if let Some(slot) = free.0.pop() {
                return Some(slot);
            }
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Gives `slots` back, and ends the run if `end`.
    fn give(&self, slots: &mut Vec<Slot>, end: bool) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.0.append(slots);
        free.1 |= end;
        self.freed.notify_all();
    }
}

/// Ends an inline run when its worker stops by panicking, so that the other workers do
/// not wait for slots the panicking one will never give back (the panic is then passed
/// on by the scope).
struct EndOnPanic<'s, 'p, R, W>(&'s Shared<'p, R, W>);

impl<R, W> Drop for EndOnPanic<'_, '_, R, W> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.give(&mut Vec::new(), true);
        }
    }
}

/// Runs `jobs` workers that each read a batch, evaluate it, and write what is next in
/// line, until the input ends, fails, or the output fails.
#[allow(clippy::too_many_arguments)] // `run`'s, prepared
fn inline<R: Read + Send, W: Write + Send>(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    input: Input<R>,
    out: W,
    jobs: usize,
    window: usize,
    order: Reorder<'_>,
) -> Result<Summary, RunError> {
    let shared = Shared {
        input: Mutex::new(input),
        free: Mutex::new(((0..window).map(|_| Slot::default()).collect(), false)),
        freed: Condvar::new(),
        out: Mutex::new((out, order, None)),
    };
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let shared = &shared;
            s.spawn(move || {
                let _end = EndOnPanic(shared);
                let mut held = None;
                let mut written = Vec::new();
                while let Some(mut slot) = shared.take() {
                    let read = shared
                        .input
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .next_batch(&mut slot);
                    if !read {
                        shared.give(&mut vec![slot], true);
                        return;
                    }
                    slot.check_text();
                    evaluate_batch(&mut slot, &mut held, rules, opts, source);
                    let failed = {
                        let mut o = shared.out.lock().unwrap_or_else(PoisonError::into_inner);
                        let (w, order, error) = &mut *o;
                        if error.is_none()
                            && let Err(e) = order.put(slot, w, |s| written.push(s))
                        {
                            *error = Some(e);
                        }
                        error.is_some()
                    };
                    // A batch that waits for one before it frees nothing: no one to wake.
                    if failed || !written.is_empty() {
                        shared.give(&mut written, failed);
                    }
                }
            });
        }
    });
    let (mut w, order, error) = shared
        .out
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = error {
        return Err(RunError::Write(e));
    }
    if let Some(e) = shared
        .input
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .error
    {
        return Err(RunError::Read(e));
    }
    w.flush().map_err(RunError::Write)?;
    Ok(order.summary)
}

/// Evaluates one input line: appends its output line to `out` and its verdict (`None`:
/// an error record) to `verdicts`; a blank line is not a record and adds nothing. The
/// record is read into `held`, over the worker's last shipment.
#[allow(clippy::too_many_arguments)] // the worker's buffers, its run's settings, and the line
fn record(
    out: &mut Vec<u8>,
    verdicts: &mut Vec<Option<Verdict>>,
    held: &mut Option<Shipment>,
    rules: &RuleSet,
    opts: Options,
    source: &str,
    line_no: usize,
    line: Line<'_>,
) {
    let body = match line {
        Line::Text(t) => Line::Text(t.trim_end_matches(['\n', '\r'])),
        Line::Bytes(mut b) => {
            while let [rest @ .., b'\n' | b'\r'] = b {
                b = rest;
            }
            Line::Bytes(b)
        }
    };
    let len = match body {
        Line::Text(t) => t.len(),
        Line::Bytes(b) => b.len(),
    };
    // A line past the limit was cut there: it is an error record whatever the part read
    // holds (only spaces, or a character cut in two), never skipped nor misread.
    if len > MAX_LINE_BYTES {
        verdicts.push(error(
            out,
            source,
            line_no,
            None,
            format!("the record is {len} bytes, more than the limit of {MAX_LINE_BYTES}"),
        ));
        return;
    }
    // A line that is not UTF-8 still yields its record: an error.
    let t = match body {
        Line::Text(t) => t,
        Line::Bytes(b) => std::str::from_utf8(b).unwrap_or("\u{fffd} (not UTF-8)"),
    };
    // Blank lines separate nothing in JSON Lines: they are not records. A line that
    // starts with a printable ASCII character, as records do (`{`), is not blank: only
    // the others are trimmed to tell.
    let printable = t.as_bytes().first().is_some_and(u8::is_ascii_graphic);
    if !printable && t.trim().is_empty() {
        return;
    }
    let t = if line_no == 1 {
        t.trim_start_matches('\u{feff}')
    } else {
        t
    };
    verdicts.push(one(out, held, rules, opts, source, line_no, t));
}

/// The input, cut into batches of whole lines. It is read straight into the slots' buffers
/// in large blocks: a block that ends inside a line leaves the start of that line in
/// `carry`, for the next batch.
struct Input<R> {
    inner: R,
    /// Most bytes asked of `inner` in one read.
    max_read: usize,
    /// What was read past the last batch's last line.
    carry: Vec<u8>,
    /// Bytes per line of the last batch, to size the reads for the next.
    line_bytes: usize,
    seq: usize,
    /// Lines handed out so far.
    lines: usize,
    /// The input has ended, or failed: nothing more is read.
    ended: bool,
    /// Why the input failed, if it did.
    error: Option<std::io::Error>,
}

impl<R: Read> Input<R> {
    fn new(inner: R, max_read: usize) -> Self {
        Self {
            inner,
            max_read: max_read.max(1),
            carry: Vec::new(),
            line_bytes: 1024,
            seq: 0,
            lines: 0,
            ended: false,
            error: None,
        }
    }

    /// Reads the next batch, up to [`BATCH`] lines, into the empty `slot`; false when
    /// there is none: the input ended, or failed (then `error` says why).
    fn next_batch(&mut self, slot: &mut Slot) -> bool {
        match self.fill(slot) {
            Ok(any) => any,
            Err(e) => {
                self.ended = true;
                self.carry.clear();
                self.error = Some(e);
                false
            }
        }
    }

    /// Keeps at most `MAX_LINE_BYTES + 1` bytes of each line, its end included: a longer
    /// line is cut, and its record becomes an error record.
    fn fill(&mut self, slot: &mut Slot) -> std::io::Result<bool> {
        // The batch is the first `len` bytes of `buf`; what follows is only room to read
        // into, zeroed once.
        let buf = &mut slot.input;
        let mut len = self.carry.len();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        if let Some(b) = buf.get_mut(..len) {
            b.copy_from_slice(&self.carry);
        }
        self.carry.clear();
        // Where the line being read starts, and how far the batch was searched for its end.
        let mut start = 0;
        let mut searched = 0;
        loop {
            while slot.ends.len() < BATCH {
                let unsearched = buf.get(searched..len).unwrap_or_default();
                let Some(i) = memchr::memchr(b'\n', unsearched) else {
                    searched = len;
                    break;
                };
                let end = searched + i + 1;
                // The part of a line past the limit is dropped up to its end.
                let keep = end.min(start + MAX_LINE_BYTES + 1);
                if keep < end {
                    buf.copy_within(end..len, keep);
                    len -= end - keep;
                }
                slot.ends.push(keep);
                start = keep;
                searched = keep;
            }
            if slot.ends.len() == BATCH {
                break;
            }
            if len - start > MAX_LINE_BYTES + 1 {
                len = start + MAX_LINE_BYTES + 1;
                searched = len;
            }
            if self.ended {
                break;
            }
            // Enough for the lines still wanted if they are as long as the last batch's,
            // and a few more, so that one read nearly always completes the batch and
            // little is left over for the next.
            let want = (BATCH - slot.ends.len() + 8)
                .saturating_mul(self.line_bytes)
                .clamp(MIN_READ, MAX_READ)
                .min(self.max_read);
            if buf.len() < len + want {
                buf.resize(len + want, 0);
            }
            let into = buf.get_mut(len..len + want).unwrap_or_default();
            let read = loop {
                match self.inner.read(into) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    r => break r?,
                }
            };
            if read == 0 {
                self.ended = true;
            }
            len += read;
        }
        // The input ended inside a line: it is the last one.
        if slot.ends.len() < BATCH && start < len {
            slot.ends.push(len);
            start = len;
        }
        self.carry
            .extend_from_slice(buf.get(start..len).unwrap_or_default());
        buf.truncate(start);
        if slot.ends.is_empty() {
            return Ok(false);
        }
        self.line_bytes = (start / slot.ends.len()).max(1);
        slot.seq = self.seq;
        slot.first = self.lines + 1;
        self.seq += 1;
        self.lines += slot.ends.len();
        Ok(true)
    }
}

/// The lines of a JSON Lines input one at a time, each with its number and without its
/// end of line, read as batch mode reads them: in blocks, in bounded memory, a line past
/// [`MAX_LINE_BYTES`] cut one byte past it (so that its length tells it) and the rest of
/// it passed over.
pub(crate) struct Lines<R> {
    input: Input<R>,
    slot: Slot,
    /// The next line of the slot's batch, and where it starts.
    next: usize,
    start: usize,
}

impl<R: Read> Lines<R> {
    /// The lines of `input`.
    pub(crate) fn new(input: R) -> Self {
        Lines {
            input: Input::new(input, MAX_READ),
            slot: Slot::default(),
            next: 0,
            start: 0,
        }
    }
}

impl<R: Read> Iterator for Lines<R> {
    type Item = std::io::Result<(usize, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.slot.ends.len() {
            self.slot.recycle();
            if !self.input.next_batch(&mut self.slot) {
                return self.input.error.take().map(Err);
            }
            (self.next, self.start) = (0, 0);
        }
        let end = *self.slot.ends.get(self.next)?;
        let mut line = self.slot.bytes().get(self.start..end).unwrap_or_default();
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        let numbered = (self.slot.first + self.next, line.to_vec());
        (self.next, self.start) = (self.next + 1, end);
        Some(Ok(numbered))
    }
}

/// Reads the input into the slots handed back by the writer, [`BATCH`] lines to a slot,
/// until the input ends or nobody takes the slots any more.
fn read_batches<R: Read>(
    mut input: Input<R>,
    free: &Receiver<Slot>,
    work: &SyncSender<Slot>,
) -> std::io::Result<()> {
    // The writer hands slots back recycled.
    while let Ok(mut slot) = free.recv() {
        if !input.next_batch(&mut slot) {
            break;
        }
        slot.check_text();
        if work.send(slot).is_err() {
            break;
        }
    }
    input.error.map_or(Ok(()), Err)
}

fn work(
    rules: &RuleSet,
    opts: Options,
    source: &str,
    work: &Mutex<Receiver<Slot>>,
    done: &SyncSender<Slot>,
) {
    // Each record is read over the last one, into the same buffers.
    let mut held = None;
    loop {
        let next = work.lock().map(|rx| rx.recv());
        let Ok(Ok(mut slot)) = next else {
            return;
        };
        evaluate_batch(&mut slot, &mut held, rules, opts, source);
        if done.send(slot).is_err() {
            return;
        }
    }
}

fn write_in_order(
    out: &mut impl Write,
    done: Receiver<Slot>,
    free: SyncSender<Slot>,
    mut order: Reorder<'_>,
) -> std::io::Result<Summary> {
    for slot in &done {
        // The batch is out: its slot goes back to the reader for another.
        order.put(slot, out, |s| {
            let _ = free.send(s);
        })?;
    }
    // Closing both ends tells the reader and the workers that the run is over.
    drop(done);
    drop(free);
    out.flush()?;
    Ok(order.summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The batches `read_batches` makes of `input`, read at most `cap` bytes at a time.
    fn batches(input: &[u8], cap: usize) -> Vec<Slot> {
        // Enough slots for the whole input, so that the reader never waits for the writer.
        let n = input.len() / BATCH + 2;
        let (free_tx, free_rx) = sync_channel(n);
        for _ in 0..n {
            free_tx.send(Slot::default()).unwrap();
        }
        let (work_tx, work_rx) = sync_channel(n);
        read_batches(Input::new(input, cap), &free_rx, &work_tx).unwrap();
        drop(work_tx);
        work_rx.iter().collect()
    }

    /// The lines of `input` as the batches hold them, with their line numbers.
    fn lines(batches: &[Slot]) -> Vec<(usize, Vec<u8>)> {
        let mut all = Vec::new();
        for (seq, b) in batches.iter().enumerate() {
            assert_eq!(b.seq, seq);
            assert!(!b.ends.is_empty() && b.ends.len() <= BATCH);
            let mut start = 0;
            for (i, &end) in b.ends.iter().enumerate() {
                all.push((b.first + i, b.bytes()[start..end].to_vec()));
                start = end;
            }
            assert_eq!(start, b.bytes().len());
            // A batch of UTF-8 is text for the workers; any other stays bytes.
            let utf8 = std::str::from_utf8(b.bytes()).is_ok();
            assert_eq!(b.input.is_empty(), utf8);
            assert_eq!(b.text.is_empty(), !utf8);
        }
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Every line, in order, numbered from 1, whatever the buffer size and wherever
        /// the line ends fall in it.
        #[test]
        fn every_line_in_order_whatever_the_buffer(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..2000),
            cap in 1usize..40,
        ) {
            let got = lines(&batches(&input, cap));
            let want: Vec<(usize, Vec<u8>)> = input
                .split_inclusive(|b| *b == b'\n')
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_vec()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        /// Text the same: every line, in order, and each batch of it text.
        #[test]
        fn every_line_of_text_in_order_whatever_the_buffer(
            input in proptest::collection::vec(prop_oneof![Just('\n'), Just('\r'), any::<char>()], 0..1000),
            cap in 1usize..40,
        ) {
            let input: String = input.into_iter().collect();
            let got = lines(&batches(input.as_bytes(), cap));
            let want: Vec<(usize, Vec<u8>)> = input
                .split_inclusive('\n')
                .enumerate()
                .map(|(i, l)| (i + 1, l.as_bytes().to_vec()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

        /// One slot, recycled after each batch as the writer does, so that each batch is
        /// read over the bytes of the last: every line, in order, and nothing else.
        #[test]
        fn a_recycled_slot_reads_each_batch_whole(
            lens in proptest::collection::vec(0usize..3000, 0..1200),
            cap in prop_oneof![1usize..64, 1000usize..100_000],
        ) {
            let mut input = Vec::new();
            for (i, n) in lens.iter().enumerate() {
                input.extend(std::iter::repeat_n(b"abcdefghijklmnopqrstuvwxyz"[i % 26], *n));
                input.push(b'\n');
            }
            let mut reader = Input::new(&input[..], cap);
            let mut slot = Slot::default();
            let mut got = Vec::new();
            while reader.next_batch(&mut slot) {
                slot.check_text();
                prop_assert_eq!(slot.first, got.len() + 1);
                let mut start = 0;
                for &end in &slot.ends {
                    got.push(slot.bytes()[start..end].to_vec());
                    start = end;
                }
                prop_assert_eq!(start, slot.bytes().len());
                slot.recycle();
            }
            prop_assert!(reader.error.is_none());
            let want: Vec<Vec<u8>> = input.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn batches_of_256_lines_and_the_last_one_shorter() {
        let input = "{}\n".repeat(2 * BATCH + 3);
        let b = batches(input.as_bytes(), 64);
        assert_eq!(
            b.iter()
                .map(|s| (s.first, s.ends.len()))
                .collect::<Vec<_>>(),
            [(1, BATCH), (BATCH + 1, BATCH), (2 * BATCH + 1, 3)]
        );
        // A whole number of batches: no empty batch after them.
        let input = "{}\n".repeat(BATCH);
        assert_eq!(batches(input.as_bytes(), 64).len(), 1);
        assert!(batches(b"", 64).is_empty());
    }

    #[test]
    fn a_line_past_the_limit_is_cut_and_the_next_line_is_whole() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\n{}\n");
        let got = lines(&batches(&input, 1 << 16));
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].1.len(),
            MAX_LINE_BYTES + 1,
            "cut one byte past the limit"
        );
        assert_eq!(got[1], (2, b"{}\n".to_vec()));
    }

    /// Lines of a batch of text are text; a batch with one line that is not UTF-8 gives
    /// each line as bytes, the good ones as much as the bad one.
    #[test]
    fn lines_are_text_unless_their_batch_is_not_utf8() {
        let b = batches("{}\r\né\n\n".as_bytes(), 64);
        assert!(matches!(b[0].line(0..4), Line::Text("{}\r\n")));
        assert!(matches!(b[0].line(4..7), Line::Text("é\n")));
        let b = batches(b"{}\n\xff\n", 64);
        assert!(matches!(b[0].line(0..3), Line::Bytes(b"{}\n")));
        assert!(matches!(b[0].line(3..5), Line::Bytes(b"\xff\n")));
    }

    #[test]
    fn a_slot_gets_its_input_buffer_back_from_a_batch_of_text() {
        let mut b = batches("{}\n".repeat(100).as_bytes(), 64);
        let mut slot = b.remove(0);
        let kept = slot.text.capacity();
        assert!(kept >= 300);
        slot.recycle();
        assert!(slot.text.is_empty());
        assert_eq!(slot.input.capacity(), kept);
    }

    #[test]
    fn a_slot_keeps_its_buffers_unless_a_batch_made_them_huge() {
        let mut slot = Slot::default();
        slot.input.resize(1000, b'x');
        slot.output.resize(KEEP_BYTES + 1, b'y');
        slot.ends.push(1000);
        slot.verdicts.push(None);
        let kept = slot.input.capacity();
        slot.recycle();
        assert!(slot.output.is_empty());
        assert!(slot.ends.is_empty() && slot.verdicts.is_empty());
        assert_eq!(slot.input.capacity(), kept);
        assert_eq!(slot.output.capacity(), 0);
    }

    /// The bundled rules and JSON lines of the examples, with bad lines among them:
    /// enough lines for many batches in flight at once.
    fn rules_and_lines() -> (crate::compile::RuleSet, Vec<u8>) {
        let rules = crate::load::load(&crate::load::Origin::Bundled).unwrap().0;
        let mut examples = Vec::new();
        for e in std::fs::read_dir("examples").unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "yaml") {
                let v: serde_json::Value =
                    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                examples.push(serde_json::to_string(&v).unwrap());
            }
        }
        examples.sort();
        let mut input = Vec::new();
        for i in 0..12 * BATCH {
            match i % 97 {
                13 => input.extend_from_slice(b"{\"id\": \"bad\"}"),
                41 => input.extend_from_slice(b"\xff not text"),
                _ => input.extend_from_slice(examples[i % examples.len()].as_bytes()),
            }
            input.push(b'\n');
        }
        (rules, input)
    }

    /// Writes into memory until `room` bytes are written, then fails.
    struct Full {
        written: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written.len() + buf.len() > self.room {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "full"));
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Threads or inline, on any number of workers: the same bytes, every record once in
    /// input order, the same counts, and progress reported up to the last record.
    #[test]
    fn every_way_of_running_writes_the_same_bytes_in_input_order() {
        let (rules, input) = rules_and_lines();
        let opts = Options::default();
        let mut want = Vec::new();
        let mut held = None;
        for (i, line) in input.split_inclusive(|b| *b == b'\n').enumerate() {
            let mut verdicts = Vec::new();
            let line = std::str::from_utf8(line).map_or(Line::Bytes(line), Line::Text);
            record(
                &mut want,
                &mut verdicts,
                &mut held,
                &rules,
                opts,
                "in",
                i + 1,
                line,
            );
        }
        for io in [Io::Threads, Io::Inline] {
            for jobs in [1, 2, 3, 8] {
                let done = std::sync::atomic::AtomicU64::new(0);
                let progress = |n: u64| done.store(n, std::sync::atomic::Ordering::Relaxed);
                let mut out = Vec::new();
                let summary = run(
                    &rules,
                    &opts,
                    "in",
                    &input[..],
                    &mut out,
                    jobs,
                    io,
                    &progress,
                )
                .unwrap();
                assert!(out == want, "{io:?} with {jobs} jobs: other bytes");
                assert_eq!(summary.records, 12 * BATCH as u64, "{io:?} {jobs}");
                let bad = (0..12 * BATCH)
                    .filter(|i| [13, 41].contains(&(i % 97)))
                    .count();
                assert_eq!(summary.errors, bad as u64);
                assert_eq!(done.into_inner(), summary.records);
            }
        }
    }

    /// An output that fails ends the run with its error, whichever way it runs: no
    /// worker is left waiting for slots that are never given back.
    #[test]
    fn a_failing_output_ends_every_way_of_running() {
        let (rules, input) = rules_and_lines();
        let opts = Options::default();
        for io in [Io::Threads, Io::Inline] {
            for jobs in [1, 3] {
                let mut out = Full {
                    written: Vec::new(),
                    room: 10_000,
                };
                let e =
                    run(&rules, &opts, "in", &input[..], &mut out, jobs, io, &|_| {}).unwrap_err();
                assert!(
                    matches!(&e, RunError::Write(e) if e.kind() == std::io::ErrorKind::StorageFull),
                    "{io:?} {jobs}: {e}"
                );
            }
        }
    }
}
