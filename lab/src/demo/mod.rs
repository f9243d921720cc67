//! `gatelog-lab demo` (`make demo`): what gatelog is for, in a few minutes, with the real
//! binaries. It starts a `gatelog-server` and a `gatelog-monitor` on
//! loopback, plays the scripted story of [`crate::sample::story`]
//! into the log (six ordinary weeks of an npm organisation, then the
//! attacks of May 2026), shows the monitor's alerts after each attack,
//! checks an honest and an attacked lockfile with `gatelog verify`, and
//! checks one inclusion proof by hand. When the pinned npm CLI is
//! installed (`make tools`), a registry chapter follows: the real npm
//! stages, approves, installs and publishes through a real
//! `gatelog-registry` that logs into the same log.
//!
//! - [`processes`]: the server and monitor child processes (killed on drop);
//! - [`play`]: submitting the story and judging each attack chapter;
//! - [`lockfiles`]: the two `package-lock.json` files and `gatelog verify`;
//! - [`proof`]: the inclusion proof checked step by step;
//! - [`registry`], [`npm`], [`tuf`]: the registry chapter, the npm CLI it
//!   runs and the local TUF mirror `npm audit signatures` asks;
//! - [`show`]: output for a person.
//!
//! The exit code is 0 when every attack chapter was caught (its expected
//! monitor rules raised, or its forged step refused by the log), the honest
//! lockfile verified and the attacked one failed exactly where the story
//! says (and the registry chapter, when it ran, went as it should); 1
//! otherwise, with what went missing; 2 when the demo could not be
//! set up; 130 after Ctrl-C.

pub mod lockfiles;
pub mod npm;
pub mod play;
pub mod processes;
pub mod proof;
pub mod registry;
pub mod show;
pub mod tuf;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sample::Story;
use crate::sample::story::STORY_LOG_ORIGIN;

use gatelog_client::keygen::{self, KeyRole};
use gatelog_client::logclient::LogClient;
use lockfiles::VerifyCommand;
use play::{Played, Verdict};
use processes::{LogServer, LogSetup, Monitor, MonitorSetup};
use registry::RegistryServer;
use show::{Colour, Out, count};

/// The file that marks a folder as the demo's own, so a later run may
/// remove it.
const MARKER: &str = ".gatelog-demo";

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

/// What `gatelog-lab demo` was asked to do.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// The data folder (log, monitor state, lockfiles, logs).
    pub data: PathBuf,
    /// Keep the log and monitor running until Ctrl-C at the end.
    pub wait: bool,
    /// The npm CLI of the registry chapter; default: `tools/` in the
    /// working folder or above it (the chapter is skipped without one).
    pub npm: Option<PathBuf>,
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// It could not be set up: missing binaries, an unusable folder.
    #[error("{0}")]
    Setup(String),
    /// Something failed while it ran.
    #[error("{0}")]
    Failed(String),
}

impl DemoError {
    /// The exit code: 2 for setup, 1 otherwise.
    pub fn exit_code(&self) -> gatelog_client::exit::Exit {
        use gatelog_client::exit::Exit;
        match self {
            DemoError::Setup(_) => Exit::Usage,
            DemoError::Failed(_) => Exit::Failed,
        }
    }
}

/// The children while they run; dropping it stops them.
#[derive(Default)]
struct Running {
    server: Option<LogServer>,
    monitor: Option<Monitor>,
    registry: Option<RegistryServer>,
}

impl Running {
    /// Why a child stopped on its own, if one did.
    fn exited(&mut self) -> Option<String> {
        let server = self.server.as_mut().and_then(LogServer::exited);
        server
            .or_else(|| self.monitor.as_mut().and_then(Monitor::exited))
            .or_else(|| self.registry.as_mut().and_then(RegistryServer::exited))
    }

    /// Stops them all; returns whether any was running.
    fn stop(&mut self) -> bool {
        let any = self.server.is_some() || self.monitor.is_some() || self.registry.is_some();
        // The registry and the monitor first: they use the server.
        self.registry = None;
        self.monitor = None;
        self.server = None;
        any
    }
}

/// Runs the demo; returns its exit code.
pub fn run(opts: &DemoOptions) -> Result<u8, DemoError> {
    let out = Out::stdout();
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| DemoError::Setup(format!("cannot start the runtime: {e}")))?;
    let mut running = Running::default();
    let result = runtime.block_on(async {
        let interrupt = interrupted();
        tokio::pin!(interrupt);
        let outcome = tokio::select! {
            r = demo(&out, opts, &mut running) => Some(r),
            () = &mut interrupt => None,
        };
        match outcome {
            Some(Ok(ending)) if opts.wait => {
                ending.show_next_steps(&out, &opts.data);
                tokio::select! {
                    () = &mut interrupt => out.blank(),
                    why = watch(&mut running) => {
                        out.line(&out.paint(Colour::Red, &why));
                        return Ok(1);
                    }
                }
                Ok(ending.code)
            }
            Some(Ok(ending)) => Ok(ending.code),
            Some(Err(e)) => Err(e),
            None => {
                out.blank();
                out.line("interrupted");
                Ok(EXIT_INTERRUPTED)
            }
        }
    });
    let registry = running.registry.is_some();
    if running.stop() {
        out.line(if registry {
            "stopped the log server, the monitor and the registry"
        } else {
            "stopped the log server and the monitor"
        });
    }
    result
}

/// Resolves on Ctrl-C (never, if it cannot be listened for).
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Resolves when a child stops on its own, saying why.
async fn watch(running: &mut Running) -> String {
    loop {
        if let Some(why) = running.exited() {
            return why;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the run ended with, and what a person can try next.
struct Ending {
    code: u8,
    log_url: String,
    log_key: String,
    registry_key: String,
    metrics_url: String,
    attacked_lockfile: PathBuf,
    example: (String, String),
    /// The registry chapter's registry, when it ran.
    npm: Option<NpmEnding>,
}

/// The registry chapter's registry and consumer project.
struct NpmEnding {
    url: String,
    key: String,
    consumer: PathBuf,
}

impl Ending {
    fn show_next_steps(&self, out: &Out, data: &Path) {
        out.heading(if self.npm.is_some() {
            "The log, the monitor and the registry keep running. Try:"
        } else {
            "The log and the monitor keep running. Try:"
        });
        let exe = processes::sibling("gatelog")
            .ok()
            .map(|p| relative(&p))
            .unwrap_or_else(|| "gatelog".to_owned());
        let (package, version) = &self.example;
        let commands = [
            format!("curl {}/checkpoint", self.log_url),
            format!(
                "curl '{}/v1/bundle?registry={}&package={}&version={version}'",
                self.log_url,
                crate::sample::story::STORY_REGISTRY_HOST,
                package.replace('@', "%40").replace('/', "%2F")
            ),
            format!("curl {}", self.metrics_url),
            format!("export LOG_KEY='{}'", self.log_key),
            format!("export REGISTRY_KEY='{}'", self.registry_key),
            format!(
                "{exe} verify --lockfile {} --log {} --log-key \"$LOG_KEY\" --registry-key \"$REGISTRY_KEY\" --no-state",
                self.attacked_lockfile.display(),
                self.log_url
            ),
        ];
        for c in commands {
            out.line(&out.paint(Colour::Cyan, &c));
        }
        let mut logs = vec![data.join("log-server.log"), data.join("monitor.log")];
        if let Some(npm) = &self.npm {
            let commands = [
                format!("curl {}/{}", npm.url, registry::chapter::WIDGET),
                format!("export NPM_REGISTRY_KEY='{}'", npm.key),
                format!(
                    "{exe} verify --lockfile {} --log {} --log-key \"$LOG_KEY\" --registry-key \"$NPM_REGISTRY_KEY\" --no-state",
                    npm.consumer.display(),
                    self.log_url
                ),
            ];
            for c in commands {
                out.line(&out.paint(Colour::Cyan, &c));
            }
            logs.push(data.join("registry.log"));
        }
        let logs: Vec<String> = logs.iter().map(|l| l.display().to_string()).collect();
        out.line(&format!(
            "Their logs: {}. Press Ctrl-C to stop them.",
            logs.join(", ")
        ));
    }
}

/// `path` relative to the working folder when it is inside it.
fn relative(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_owned())
        .display()
        .to_string()
}

/// Empties `data` for a new run: creates it, or removes a previous demo
/// (marked by [`MARKER`]); refuses any other non-empty folder. Returns
/// whether a previous demo was removed.
fn prepare(data: &Path) -> Result<bool, DemoError> {
    let setup = |e: std::io::Error| DemoError::Setup(format!("{}: {e}", data.display()));
    let previous = data.join(MARKER).is_file();
    if previous {
        std::fs::remove_dir_all(data).map_err(setup)?;
    } else if data.exists() {
        let empty = std::fs::read_dir(data).map_err(setup)?.next().is_none();
        if !empty {
            return Err(DemoError::Setup(format!(
                "{} exists and is not a gatelog demo folder (it has no {MARKER} file); \
                 remove it or pass another --data",
                data.display()
            )));
        }
    }
    std::fs::create_dir_all(data).map_err(setup)?;
    std::fs::write(
        data.join(MARKER),
        "made by `gatelog-lab demo`; the next demo run removes this folder\n",
    )
    .map_err(setup)?;
    Ok(previous)
}

/// Everything up to the summary; the children it starts live in `running`.
async fn demo(out: &Out, opts: &DemoOptions, running: &mut Running) -> Result<Ending, DemoError> {
    let data = &opts.data;
    let exe = processes::sibling("gatelog")?;
    let server_bin = processes::sibling("gatelog-server")?;
    let monitor_bin = processes::sibling("gatelog-monitor")?;
    let mut story = Story::new();
    let registry_key = story.registry().verifier_key();
    let found = npm::find(opts.npm.as_deref()).await?;
    let removed = prepare(data)?;
    // The registry's key is made first: the log allows it from the start.
    let npm_registry = match found {
        Ok(found) => Ok(registry::Prepared::new(found, data).await?),
        Err(why) => Err(why),
    };
    let mut submitters = vec![registry_key.clone()];
    if let Ok(p) = &npm_registry {
        submitters.push(p.key.clone());
    }

    out.heading("gatelog demo");
    out.wrapped(
        "  ",
        "gatelog is a transparency log for staged, human-approved npm releases. This demo \
         starts a real log server and a real monitor on this machine, logs the releases of a \
         small npm organisation (six ordinary weeks, then the attacks of May 2026) one event \
         at a time, and checks two lockfiles against the log with `gatelog verify`.",
        None,
    );
    out.heading("Starting");
    if removed {
        out.line(&format!("removed the previous demo in {}", data.display()));
    }
    let log_key = keygen::generate(STORY_LOG_ORIGIN, KeyRole::Log)
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let server = running.server.insert(LogServer::start(&LogSetup {
        binary: &server_bin,
        data: &data.join("log"),
        stderr: &data.join("log-server.log"),
        key: &log_key,
        submitters: &submitters,
    })?);
    let log_url = server.url.clone();
    let log_vkey = server.key.clone();
    out.line(&format!(
        "log       gatelog-server on {log_url}, origin {STORY_LOG_ORIGIN}"
    ));
    out.line(&format!("          LOG_KEY={log_vkey}"));
    let monitor = running.monitor.insert(Monitor::start(&MonitorSetup {
        binary: &monitor_bin,
        state: &data.join("monitor"),
        stderr: &data.join("monitor.log"),
        log_url: &log_url,
        log_key: &log_vkey,
        registries: &submitters,
    })?);
    out.line(&format!(
        "monitor   gatelog-monitor follows the log from entry 0; metrics on {}",
        monitor.metrics_url
    ));
    out.line(&format!(
        "registry  {} signs every event; the log accepts only its key:",
        story.registry().origin
    ));
    out.line(&format!("          REGISTRY_KEY={registry_key}"));
    match &npm_registry {
        Ok(p) => out.line(&format!(
            "npm       npm {} ({}) plays the registry chapter after the story",
            p.npm.version,
            p.npm.bin.display()
        )),
        // One line, even a long one: it is the one thing to act on.
        Err(why) => out.line(&format!("npm       {why}")),
    }
    out.line(&format!(
        "files     {} (server and monitor logs: log-server.log, monitor.log)",
        data.display()
    ));
    out.wrapped(
        "  ",
        "Each event below is signed by the registry and submitted to the log, which answers \
         with an inclusion proof and a signed checkpoint; both are verified before the next \
         event.",
        None,
    );

    let log =
        LogClient::new(&log_url, log_vkey.clone()).map_err(|e| DemoError::Setup(e.to_string()))?;
    let played = play::play(out, &mut story, &log, monitor).await?;
    let mut problems = Vec::new();
    let verdicts = judge(&story, &played, &monitor.alerts(), &mut problems);

    out.heading("Lockfiles, checked with gatelog verify");
    let verify = VerifyCommand {
        exe: &exe,
        log: &log_url,
        log_key: &log_vkey.to_string(),
        registry_key: &registry_key.to_string(),
        state_dir: &data.join("client"),
    };
    let checked = lockfiles::check(out, &story, &verify, data, &mut problems).await?;

    out.heading("An inclusion proof, checked by hand");
    match &played.pick {
        Some(pick) => {
            if !proof::by_hand(out, &log, &log_url, pick).await? {
                problems.push("the inclusion proof checked by hand did not match".to_owned());
            }
        }
        None => problems.push("no honest publish to prove".to_owned()),
    }

    let mut npm_ending = None;
    let chapter = match &npm_registry {
        Ok(prepared) => {
            out.heading("The registry chapter: the real npm CLI through gatelog-registry");
            let mut setting = registry::chapter::Setting {
                log: &log,
                log_url: &log_url,
                log_key: &log_vkey,
                monitor: &mut *monitor,
                gatelog: &exe,
                data,
            };
            let outcome =
                registry::chapter::play(out, prepared, &mut setting, &mut running.registry).await?;
            problems.extend(outcome.failed.iter().cloned());
            npm_ending = Some(NpmEnding {
                url: prepared.url(),
                key: prepared.key.to_string(),
                consumer: prepared.npm_dir.join("consumer-app"),
            });
            Some(outcome)
        }
        Err(_) => None,
    };

    out.heading("Summary");
    let attacks = verdicts.len();
    let by_monitor = verdicts.iter().filter(|v| v.caught_by_monitor()).count();
    let by_log = verdicts.iter().filter(|v| v.refused_by_log()).count();
    let refused = if by_log > 0 {
        format!(" and {by_log} refused by the log itself")
    } else {
        String::new()
    };
    let lockfiles = format!(
        "honest lockfile {}; attacked lockfile {}",
        if checked.honest_passed {
            "passed"
        } else {
            "did not pass"
        },
        match checked.attacked_failed {
            Some(n) => format!("failed ({})", count(n, "package", "packages")),
            None => "did not fail as expected".to_owned(),
        }
    );
    out.wrapped(
        "  ",
        &format!("{attacks} attacks, {by_monitor} caught by the monitor{refused}; {lockfiles}"),
        None,
    );
    match &chapter {
        Some(outcome) => out.wrapped("  ", &outcome.summary(), None),
        None => out.line("registry chapter not played: npm was not found (`make tools`)"),
    }
    for p in &problems {
        out.wrapped("  ✗ ", p, Some(Colour::Red));
    }
    if problems.is_empty() {
        out.line(&out.paint(Colour::Green, "✓ everything happened as the story says"));
    }

    let example = story
        .attacked_releases()
        .first()
        .map(|r| (r.package.clone(), r.version.clone()))
        .unwrap_or_default();
    Ok(Ending {
        code: u8::from(!problems.is_empty()),
        log_url,
        log_key: log_vkey.to_string(),
        registry_key: registry_key.to_string(),
        metrics_url: monitor.metrics_url.clone(),
        attacked_lockfile: checked.attacked_dir,
        example,
        npm: npm_ending,
    })
}

/// Judges every attack chapter from all alerts; records what went wrong.
fn judge(
    story: &Story,
    played: &Played,
    alerts: &[processes::Alert],
    problems: &mut Vec<String>,
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for (i, chapter) in story.chapters().iter().enumerate() {
        let run = &played.chapters[i];
        for note in &run.accepted_forgeries {
            problems.push(format!(
                "{}: the log accepted \"{note}\", which an honest log refuses",
                chapter.title
            ));
        }
        if !run.monitor_caught_up {
            problems.push(format!(
                "{}: the monitor did not catch up in time",
                chapter.title
            ));
        }
        if !chapter.attack {
            continue;
        }
        let verdict = Verdict::of(chapter, run, &play::alerts_of(alerts, played, i));
        if !verdict.caught() {
            problems.push(format!(
                "{}: the monitor did not raise {}",
                chapter.title,
                verdict.missing.join(", ")
            ));
        }
        verdicts.push(verdict);
    }
    verdicts
}
