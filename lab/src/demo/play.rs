//! Plays the story into the log, one verified submission at a time, and
//! shows it: ordinary chapters as a heading, a few example events and a
//! count; attack chapters event by event, followed by the monitor's alerts
//! on their entries.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::sample::{Chapter, Story};
use gatelog_core::event::EventBody;
use gatelog_core::{Event, Hash};

use super::DemoError;
use super::processes::{Alert, Monitor};
use super::show::{Colour, Out, count, day, list, when};
use gatelog_client::logclient::{ClientError, LogClient};

/// How long the monitor may take to catch up after a chapter.
const MONITOR_WAIT: Duration = Duration::from_secs(10);

/// Example events shown for an ordinary chapter.
const EXAMPLES: usize = 3;

/// What happened to one chapter.
#[derive(Clone, Debug, Default)]
pub struct ChapterRun {
    /// Indexes of its logged entries.
    pub entries: Vec<u64>,
    /// What the log answered to the steps it refused.
    pub refusals: Vec<String>,
    /// Steps an honest log refuses that this log accepted (their notes).
    pub accepted_forgeries: Vec<String>,
    /// Whether the monitor caught up with the chapter in time.
    pub monitor_caught_up: bool,
}

/// An honest publish, for the inclusion proof checked by hand.
#[derive(Clone, Debug)]
pub struct Pick {
    /// Its index.
    pub index: u64,
    /// Its leaf hash, from the log's verified acknowledgement.
    pub leaf_hash: Hash,
    /// `publish of <package>@<version> (<day>)`.
    pub what: String,
}

/// The story, played.
#[derive(Debug)]
pub struct Played {
    /// One per chapter of the story.
    pub chapters: Vec<ChapterRun>,
    /// The chapter of each logged entry.
    pub chapter_of: BTreeMap<u64, usize>,
    /// The last honest publish.
    pub pick: Option<Pick>,
}

/// The chapter being played.
struct Current {
    chapter: usize,
    steps: usize,
    first_time: i64,
    last_time: i64,
    kinds: Vec<(&'static str, usize)>,
}

/// Submits every step of `story` to `log`, showing it on `out` and waiting
/// for `monitor` after each chapter.
pub async fn play(
    out: &Out,
    story: &mut Story,
    log: &LogClient,
    monitor: &mut Monitor,
) -> Result<Played, DemoError> {
    let chapters = story.chapters().to_vec();
    let mut played = Played {
        chapters: vec![ChapterRun::default(); chapters.len()],
        chapter_of: BTreeMap::new(),
        pick: None,
    };
    let mut current: Option<Current> = None;
    while let Some(step) = story.next_step() {
        if current.as_ref().map(|c| c.chapter) != Some(step.chapter) {
            if let Some(done) = current.take() {
                finish(out, &chapters, &done, &mut played, monitor).await?;
            }
            begin(out, &chapters[step.chapter]);
        }
        let cur = current.get_or_insert_with(|| Current {
            chapter: step.chapter,
            steps: 0,
            first_time: step.time,
            last_time: step.time,
            kinds: Vec::new(),
        });
        let chapter = &chapters[step.chapter];
        let event = Event::from_envelope(&step.envelope)
            .map_err(|e| DemoError::Failed(format!("the story's event is invalid: {e}")))?;
        let kind = event.event_type().as_str();
        match cur.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => cur.kinds.push((kind, 1)),
        }
        cur.steps += 1;
        cur.last_time = step.time;

        let answer = log
            .submit(std::slice::from_ref(&step.envelope))
            .await
            .and_then(|mut acks| {
                acks.pop()
                    .unwrap_or_else(|| Err(ClientError::Malformed("no answer".into())))
            });
        let run = &mut played.chapters[step.chapter];
        match answer {
            Ok(ack) => {
                story.logged(ack.index, ack.leaf_hash);
                run.entries.push(ack.index.0);
                played.chapter_of.insert(ack.index.0, step.chapter);
                if step.refused_by_honest_log {
                    run.accepted_forgeries.push(step.note.clone());
                    let first = format!("  {}  #{:<4} ", when(step.time), ack.index.0);
                    out.wrapped(&first, &step.note, Some(Colour::Dim));
                    out.line(&out.paint(
                        Colour::Red,
                        "    ✗ the log accepted this; an honest log refuses it",
                    ));
                } else if chapter.attack || cur.steps <= EXAMPLES {
                    let first = format!("  {}  #{:<4} ", when(step.time), ack.index.0);
                    out.wrapped(&first, &step.note, Some(Colour::Dim));
                } else {
                    out.progress(&format!("{} events logged…", cur.steps));
                }
                if !chapter.attack
                    && let EventBody::Publish(p) = &event.body
                {
                    played.pick = Some(Pick {
                        index: ack.index.0,
                        leaf_hash: ack.leaf_hash,
                        what: format!(
                            "publish of {}@{} ({})",
                            event.package.as_str(),
                            p.version,
                            day(step.time)
                        ),
                    });
                }
            }
            Err(ClientError::Status { status, message }) if step.refused_by_honest_log => {
                story.refused();
                let first = format!("  {}  {:<6}", when(step.time), "—");
                out.wrapped(&first, &step.note, Some(Colour::Dim));
                out.wrapped(
                    "    ✗ ",
                    &format!("refused by the log (HTTP {status}): {message}"),
                    Some(Colour::Red),
                );
                run.refusals.push(message);
            }
            Err(e) => {
                return Err(DemoError::Failed(format!(
                    "the log did not log \"{}\": {e}",
                    step.note
                )));
            }
        }
    }
    if let Some(done) = current.take() {
        finish(out, &chapters, &done, &mut played, monitor).await?;
    }
    Ok(played)
}

/// The chapter's heading and summary.
fn begin(out: &Out, chapter: &Chapter) {
    let title = match chapter.incident {
        Some(incident) => format!("{} — {incident}", chapter.title),
        None => chapter.title.to_owned(),
    };
    if chapter.attack {
        out.heading(&format!("{} {title}", out.paint(Colour::Red, "ATTACK")));
    } else {
        out.heading(&title);
    }
    out.wrapped("  ", chapter.summary, None);
}

/// Counts an ordinary chapter, then waits for the monitor and shows its
/// alerts on the chapter's entries.
async fn finish(
    out: &Out,
    chapters: &[Chapter],
    cur: &Current,
    played: &mut Played,
    monitor: &mut Monitor,
) -> Result<(), DemoError> {
    let chapter = &chapters[cur.chapter];
    let run = &played.chapters[cur.chapter];
    if !chapter.attack {
        if cur.steps > EXAMPLES {
            out.line(&out.paint(Colour::Dim, "…"));
        }
        let kinds: Vec<String> = cur.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let span = match (run.entries.first(), run.entries.last()) {
            (Some(a), Some(b)) => format!("entries {a}–{b}"),
            _ => "no entries".to_owned(),
        };
        let dates = if day(cur.first_time) == day(cur.last_time) {
            day(cur.first_time)
        } else {
            format!("{} to {}", day(cur.first_time), day(cur.last_time))
        };
        let text = format!(
            "{} logged, {dates} ({span}): {}",
            count(cur.steps, "event", "events"),
            list(&kinds)
        );
        out.wrapped("  ✓ ", &text, Some(Colour::Green));
    }
    let Some(&last) = run.entries.last() else {
        played.chapters[cur.chapter].monitor_caught_up = true;
        return Ok(());
    };
    out.progress("waiting for the monitor…");
    let caught_up = monitor.catch_up(last + 1, MONITOR_WAIT).await?;
    played.chapters[cur.chapter].monitor_caught_up = caught_up;
    let alerts = alerts_of(&monitor.alerts(), played, cur.chapter);
    if !caught_up {
        out.line(&out.paint(
            Colour::Red,
            &format!(
                "✗ the monitor had not checked these entries after {} s",
                MONITOR_WAIT.as_secs()
            ),
        ));
    }
    if chapter.attack {
        show_alerts(out, &alerts);
        Verdict::of(chapter, &played.chapters[cur.chapter], &alerts).show(out);
    } else if alerts.is_empty() {
        if caught_up {
            out.line(&format!(
                "{} the monitor checked them: no alerts",
                out.paint(Colour::Green, "✓")
            ));
        }
    } else {
        out.line(&out.paint(
            Colour::Yellow,
            "! the monitor alerted on an ordinary chapter (unexpected):",
        ));
        show_alerts(out, &alerts);
    }
    Ok(())
}

/// The alerts triggered by entries of chapter `chapter`.
pub fn alerts_of(all: &[Alert], played: &Played, chapter: usize) -> Vec<Alert> {
    all.iter()
        .filter(|a| {
            a.trigger()
                .and_then(|t| played.chapter_of.get(&t))
                .is_some_and(|c| *c == chapter)
        })
        .cloned()
        .collect()
}

/// Shows alerts grouped by rule; a message that only repeats an earlier
/// one of its rule for another package is left out.
pub fn show_alerts(out: &Out, alerts: &[Alert]) {
    if alerts.is_empty() {
        return;
    }
    out.line(&out.paint(Colour::Bold, "monitor alerts:"));
    let mut rules: Vec<&str> = Vec::new();
    for a in alerts {
        if !rules.contains(&a.rule.as_str()) {
            rules.push(&a.rule);
        }
    }
    let mut shown: BTreeSet<(String, String)> = BTreeSet::new();
    for rule in rules {
        for a in alerts.iter().filter(|a| a.rule == rule) {
            let what = match (&a.package, &a.version) {
                (Some(p), Some(v)) => format!("{p}@{v}"),
                (Some(p), None) => p.clone(),
                _ => String::new(),
            };
            let colour = if matches!(a.severity.as_str(), "critical" | "high") {
                Colour::Red
            } else {
                Colour::Yellow
            };
            out.line(&format!(
                "  {} {}  {what}  {}",
                out.paint(colour, &format!("{:<8}", a.severity.to_uppercase())),
                out.paint(Colour::Bold, &a.rule),
                out.paint(Colour::Dim, &entries(&a.evidence))
            ));
            let mut generic = a.message.clone();
            if let Some(p) = &a.package {
                generic = generic.replace(p.as_str(), "<package>");
            }
            if shown.insert((a.rule.clone(), generic)) {
                out.wrapped("             ", &a.message, None);
            }
        }
    }
}

/// `entry 7` / `entries 3, 7`.
pub fn entries(indexes: &[u64]) -> String {
    let list: Vec<String> = indexes.iter().map(u64::to_string).collect();
    match list.len() {
        0 => String::new(),
        1 => format!("entry {}", list[0]),
        _ => format!("entries {}", list.join(", ")),
    }
}

/// Whether an attack chapter was caught, and by what.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Rules the chapter is written to fire.
    pub expected: Vec<String>,
    /// Rules the monitor raised on its entries.
    pub alerted: BTreeSet<String>,
    /// Expected rules not raised.
    pub missing: Vec<String>,
    /// The log refused one of its steps (so the rules of that step had
    /// nothing to fire on: the attack never entered the log).
    pub refused: bool,
}

impl Verdict {
    /// Judges chapter `chapter` from its run and the alerts on its entries.
    pub fn of(chapter: &Chapter, run: &ChapterRun, alerts: &[Alert]) -> Verdict {
        let alerted: BTreeSet<String> = alerts.iter().map(|a| a.rule.clone()).collect();
        let expected: Vec<String> = chapter
            .expected_rules
            .iter()
            .map(|r| (*r).to_owned())
            .collect();
        let missing = expected
            .iter()
            .filter(|r| !alerted.contains(*r))
            .cloned()
            .collect();
        Verdict {
            expected,
            alerted,
            missing,
            refused: !run.refusals.is_empty() && run.accepted_forgeries.is_empty(),
        }
    }

    /// Every expected rule was raised by the monitor.
    pub fn caught_by_monitor(&self) -> bool {
        self.missing.is_empty()
    }

    /// The rules that did not fire belong to a step the log refused.
    pub fn refused_by_log(&self) -> bool {
        !self.missing.is_empty() && self.refused
    }

    /// Caught one way or the other.
    pub fn caught(&self) -> bool {
        self.caught_by_monitor() || self.refused_by_log()
    }

    /// Shows the verdict in one (wrapped) line.
    pub fn show(&self, out: &Out) {
        if self.caught_by_monitor() {
            let text = format!("caught by the monitor: {}", self.expected.join(", "));
            out.wrapped("  ✓ ", &text, Some(Colour::Green));
        } else if self.refused_by_log() {
            let text = format!(
                "stopped by the log itself: what it refuses never enters the history (had it \
                 been logged, the monitor would raise {})",
                self.missing.join(", ")
            );
            out.wrapped("  ✓ ", &text, Some(Colour::Green));
        } else {
            let text = format!("the monitor did not raise {}", self.missing.join(", "));
            out.wrapped("  ✗ ", &text, Some(Colour::Red));
        }
    }
}
