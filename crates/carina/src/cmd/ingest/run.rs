//! The parallel part of `carina ingest`: at most `jobs` files in flight,
//! each read and sent on its own task, a progress bar (or, when standard
//! error is not a terminal, a plain line every few seconds), and a stop
//! that lets the files in flight finish and sends no new one.

use super::target::{Outcome, Target};
use super::walk::Item;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The counts of a run.
#[derive(Debug, Default)]
pub struct Tally {
    pub stored: usize,
    pub already: usize,
    /// Relative path and why.
    pub refused: Vec<(String, String)>,
    pub skipped: BTreeMap<String, usize>,
    /// Files not attempted because the run was interrupted.
    pub not_attempted: usize,
    pub interrupted: bool,
    /// The error that stopped the run (server gone, token refused), if any.
    pub fatal: Option<anyhow::Error>,
    pub elapsed: Duration,
}

impl Tally {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// Progress on standard error.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    start: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
                    .expect("valid template"),
            );
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            total,
            start: now,
            last_line: now,
        }
    }

    fn update(&mut self, t: &Tally, quiet: bool) {
        let done = t.stored + t.already + t.refused.len();
        let msg = format!(
            "stored {} · already {} · refused {}",
            t.stored,
            t.already,
            t.refused.len()
        );
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
            bar.set_position(done as u64);
        } else if !quiet
            && (self.last_line.elapsed() >= Duration::from_secs(2) || done == self.total)
        {
            self.last_line = Instant::now();
            let rate = t.stored as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "ingest: {done}/{} files, {msg} ({rate:.1} images/s)",
                self.total
            );
        }
    }

    fn note(&self, line: &str, quiet: bool) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None if !quiet => eprintln!("{line}"),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Sends `items` to `target` with `jobs` in flight; `stop` turning true
/// (Ctrl-C) stops sending new files, and so does a fatal error of the
/// target (kept in [`Tally::fatal`]).
pub async fn send_all(
    target: Arc<Target>,
    items: Vec<Item>,
    jobs: usize,
    mut tally: Tally,
    mut stop: watch::Receiver<bool>,
    quiet: bool,
) -> Tally {
    let start = Instant::now();
    let mut progress = Progress::new(items.len(), quiet);
    let mut queue = items.into_iter();
    let mut set: JoinSet<(String, anyhow::Result<Outcome>)> = JoinSet::new();
    loop {
        while set.len() < jobs.max(1) && !tally.interrupted && tally.fatal.is_none() {
            let Some(item) = queue.next() else { break };
            set.spawn(one(target.clone(), item));
        }
        if set.is_empty() {
            break;
        }
        tokio::select! {
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                let (rel, result) = joined.unwrap_or_else(|e| {
                    (String::from("?"), Err(anyhow::anyhow!("a worker failed: {e}")))
                });
                match result {
                    Ok(Outcome::Stored) => tally.stored += 1,
                    Ok(Outcome::Already) => tally.already += 1,
                    Ok(Outcome::Refused(why)) => {
                        progress.note(&format!("refused {rel}: {why}"), quiet);
                        tally.refused.push((rel, why));
                    }
                    Err(e) => {
                        tally.fatal.get_or_insert(e);
                    }
                }
                progress.update(&tally, quiet);
            }
            changed = stop.changed(), if !tally.interrupted => {
                if changed.is_err() || *stop.borrow() {
                    tally.interrupted = true;
                    progress.note(
                        &format!("interrupted: finishing the {} file(s) in flight (Ctrl-C again to quit at once)", set.len()),
                        false,
                    );
                }
            }
        }
    }
    progress.finish();
    tally.not_attempted = queue.count();
    tally.elapsed = start.elapsed();
    tally
}

/// Reads one file (refusing it unread when it is over the target's limit) and sends it.
async fn one(target: Arc<Target>, item: Item) -> (String, anyhow::Result<Outcome>) {
    let Item { path, rel } = item;
    if let Some((max, setting)) = target.max_bytes()
        && let Ok(meta) = tokio::fs::metadata(&path).await
        && meta.len() > max
    {
        let why = format!(
            "{} bytes, over the upload limit of {} MiB ({setting})",
            meta.len(),
            max >> 20
        );
        return (rel, Ok(Outcome::Refused(why)));
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) => return (rel, Ok(Outcome::Refused(format!("cannot read it: {e}")))),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    let result = target.send(name, bytes).await;
    (rel, result)
}
