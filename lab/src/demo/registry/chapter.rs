//! The registry chapter, step by step: each npm command as a person types
//! it, what it did, and what the log recorded (entry indexes and event
//! types, each entry read back with its inclusion proof verified).
//!
//! 1. a maintainer (alice) with a stage-only CI token and a TOTP device,
//!    and staging required for `demo-widget` (admin commands);
//! 2. CI runs `npm stage publish`; `npm stage list` shows the item;
//!    `npm install` of it fails: it is not public;
//! 3. alice runs `npm stage approve --otp`; `npm install` works and
//!    `npm audit signatures` verifies the registry's signature;
//! 4. `gatelog verify` passes on the package-lock.json npm wrote;
//! 5. alice's publish token leaks: a direct `npm publish` of demo-widget
//!    is refused (403); one of demo-helper, whose staging nobody required
//!    in the registry, goes through, and the monitor and `gatelog verify`
//!    report `publish-without-approval`.

use std::path::Path;
use std::time::Duration;

use gatelog_client::logclient::LogClient;
use gatelog_core::VerifierKey;
use gatelog_core::event::EventBody;

use super::read::{Logged, has, last_line, locked_version, relative_to, staged_item};
use super::{Prepared, RegistryServer};
use crate::demo::DemoError;
use crate::demo::lockfiles::{Verified, VerifyCommand};
use crate::demo::npm::{self, Authenticator, Npm, Person, Ran};
use crate::demo::play::{entries, show_alerts};
use crate::demo::processes::{Alert, Monitor};
use crate::demo::show::{Colour, Out};
use crate::demo::tuf::TufMirror;

/// The package released through staging.
pub const WIDGET: &str = "demo-widget";
/// The package whose staging the registry does not enforce.
pub const HELPER: &str = "demo-helper";
/// The rule that catches the direct publish.
const RULE: &str = "publish-without-approval";

/// How long the monitor may take to catch up with a step.
const MONITOR_WAIT: Duration = Duration::from_secs(15);

/// What the chapter needs from the rest of the demo.
pub struct Setting<'a> {
    /// The log, as the demo reads it.
    pub log: &'a LogClient,
    /// Its base URL.
    pub log_url: &'a str,
    /// Its verifier key.
    pub log_key: &'a VerifierKey,
    /// The running monitor.
    pub monitor: &'a mut Monitor,
    /// The `gatelog` binary.
    pub gatelog: &'a Path,
    /// The demo's data folder.
    pub data: &'a Path,
}

/// How the chapter went.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The npm version that played it.
    pub npm_version: String,
    /// Checks that held.
    pub passed: usize,
    /// Checks that did not, each with what happened.
    pub failed: Vec<String>,
}

impl Outcome {
    /// One sentence for the summary.
    pub fn summary(&self) -> String {
        if self.failed.is_empty() {
            format!(
                "registry chapter with npm {}: staged, not installable before approval, approved \
                 with TOTP, installed, signatures verified, lockfile verified; the leaked token's \
                 direct publish refused with 403 where the registry requires staging, and caught \
                 as {RULE} by the monitor and gatelog verify where it does not",
                self.npm_version
            )
        } else {
            format!(
                "registry chapter with npm {}: {} of {} checks failed",
                self.npm_version,
                self.failed.len(),
                self.failed.len() + self.passed
            )
        }
    }
}

/// The chapter as it runs.
struct Chapter<'a, 'b> {
    out: &'a Out,
    set: &'a mut Setting<'b>,
    prepared: &'a Prepared,
    npm: Npm,
    /// The log's size before the current step.
    size: u64,
    /// Entries read by [`Chapter::recorded`], shown after the outcome.
    pending: Option<Vec<Logged>>,
    outcome: Outcome,
}

/// Plays the chapter; the registry it starts goes into `slot`, so it keeps
/// running (and is stopped) with the log and the monitor.
pub async fn play(
    out: &Out,
    prepared: &Prepared,
    set: &mut Setting<'_>,
    slot: &mut Option<RegistryServer>,
) -> Result<Outcome, DemoError> {
    let npm = Npm::new(prepared.npm.clone(), &prepared.npm_dir, &prepared.url())?;
    let size = log_size(set.log).await?;
    let mut c = Chapter {
        out,
        set,
        prepared,
        npm,
        size,
        pending: None,
        outcome: Outcome {
            npm_version: prepared.npm.version.clone(),
            ..Outcome::default()
        },
    };
    out.wrapped(
        "  ",
        &format!(
            "The story above was signed and submitted by a simulated registry. Here the real npm \
             CLI ({} {}) talks to gatelog-registry, gatelog's npm registry, which logs every \
             stage, approval and publish to the same log before it takes effect, and the same \
             monitor follows it. alice maintains {WIDGET} and {HELPER}; her CI holds a \
             stage-only token, her authenticator app a TOTP secret.",
            prepared.npm.bin.display(),
            prepared.npm.version
        ),
        None,
    );
    c.play(slot).await?;
    Ok(c.outcome)
}

impl Chapter<'_, '_> {
    async fn play(&mut self, slot: &mut Option<RegistryServer>) -> Result<(), DemoError> {
        let (ci, alice, secret) = self.set_up(slot).await?;
        let mut authenticator = Authenticator::new(&secret)?;
        let consumer = self.prepared.npm_dir.join("consumer-app");
        npm::project(&consumer)?;
        let reader = self.npm.person("a consumer", None)?;

        // 2. CI stages; the item is listed and not installable.
        self.step(&format!("2. CI stages {WIDGET}@1.0.0"));
        let widget = npm::package(&self.prepared.npm_dir, WIDGET, "1.0.0")?;
        let staged = self.npm(&ci, &widget, &["stage", "publish"], None).await?;
        let logged = self.recorded().await?;
        let stage_logged = has(&logged, "stage", &format!("{WIDGET}@1.0.0"));
        if !self.expect(
            staged.ok() && stage_logged,
            &format!("exit 0: {}", last_line(&staged.stdout)),
            format!("npm stage publish: {}", staged.error()),
        ) {
            return Ok(());
        }
        let listed = self
            .npm(&alice, &widget, &["stage", "list", "--json"], None)
            .await?;
        let item = staged_item(&listed.stdout, WIDGET, "1.0.0");
        let Some((id, actor)) = item else {
            self.expect(
                false,
                "",
                format!(
                    "npm stage list --json does not list {WIDGET}@1.0.0: {}",
                    listed.stdout.trim()
                ),
            );
            return Ok(());
        };
        self.expect(
            listed.ok(),
            &format!(
                "exit 0: {WIDGET}@1.0.0 is staged (id {id}, by {actor}), waiting for approval"
            ),
            String::new(),
        );
        let install = format!("{WIDGET}@1.0.0");
        let early = self
            .npm(&reader, &consumer, &["install", &install], None)
            .await?;
        let logged = self.recorded().await?;
        self.expect(
            !early.ok()
                && !consumer.join("node_modules").join(WIDGET).exists()
                && logged.is_empty(),
            &format!("install refused before approval: {}", early.error()),
            format!(
                "npm install of a staged, unapproved version succeeded (exit {}) or logged \
                 something",
                early.code
            ),
        );

        // 3. alice approves with a TOTP code; it installs, signatures verify.
        self.step(&format!(
            "3. alice approves {WIDGET}@1.0.0 with a TOTP code"
        ));
        let code = authenticator.code().await;
        let otp = format!("--otp={code}");
        let approved = self
            .npm(&alice, &widget, &["stage", "approve", &id, &otp], None)
            .await?;
        let from = self.size;
        let logged = self.recorded().await?;
        let published = has(&logged, "publish", &format!("{WIDGET}@1.0.0 (via: staged)"));
        self.expect(
            approved.ok() && published,
            &format!("exit 0: {}", last_line(&approved.stdout)),
            format!("npm stage approve: {}", approved.error()),
        );
        let installed = self
            .npm(&reader, &consumer, &["install", &install], None)
            .await?;
        let locked = locked_version(&consumer, WIDGET);
        self.expect(
            installed.ok() && locked.as_deref() == Some("1.0.0"),
            &format!(
                "install ok after approval: {}",
                last_line(&installed.stdout)
            ),
            format!("npm install after approval: {}", installed.error()),
        );
        self.audit(&reader, &consumer).await?;
        let honest = self.alerts_since(from).await?;
        if honest.iter().any(|a| a.rule == RULE) {
            self.expect(
                false,
                "",
                format!("the monitor raised {RULE} on the approved release"),
            );
        }
        if !honest.is_empty() {
            show_alerts(self.out, &honest);
            self.out.wrapped(
                "  ",
                "(An honest release, played in seconds: the device was registered at its first \
                 approval and the approval came seconds after the stage. Real releases show \
                 neither.)",
                None,
            );
        }

        // 4. gatelog verify on the lockfile npm wrote.
        self.step("4. gatelog verify on the package-lock.json npm wrote");
        let state = self.prepared.npm_dir.join("verify-state");
        let first = self.verify(&consumer, &state).await?;
        let passed = first.code == 0
            && first
                .report
                .as_ref()
                .is_some_and(|r| r.counts.verified == 1);
        self.expect(
            passed,
            &format!("exit 0: verified {WIDGET}@1.0.0: staged, approved and published as logged"),
            format!("gatelog verify (exit {}): {}", first.code, first.stderr),
        );

        // 5. The leaked token.
        self.attack(&alice, &reader, &consumer, &state).await
    }

    /// Step 1: the registry's users, tokens, TOTP and policy, then the
    /// registry itself. Returns CI, alice and her TOTP secret.
    async fn set_up(
        &mut self,
        slot: &mut Option<RegistryServer>,
    ) -> Result<(Person, Person, String), DemoError> {
        self.step(&format!(
            "1. A maintainer, a CI token, a TOTP device, and staging required for {WIDGET}"
        ));
        let p = self.prepared;
        let admin = |args: &str| {
            format!(
                "$ gatelog-registry admin --data {} {args}",
                p.data.display()
            )
        };
        self.command(&admin("user-add alice"), None);
        p.admin(&["user-add", "alice"]).await?;
        self.command(
            &admin("token-create alice --kind stage-only"),
            Some("for CI"),
        );
        let ci = p
            .admin(&["token-create", "alice", "--kind", "stage-only"])
            .await?;
        self.command(
            &admin("token-create alice --kind publish"),
            Some("alice's own"),
        );
        let publish = p
            .admin(&["token-create", "alice", "--kind", "publish"])
            .await?;
        self.command(&admin("totp-enrol alice"), Some("her authenticator app"));
        let totp = p.admin(&["totp-enrol", "alice"]).await?;
        let secret = totp
            .lines()
            .find_map(|l| l.strip_prefix("secret: "))
            .ok_or_else(|| DemoError::Failed(format!("totp-enrol printed no secret: {totp}")))?
            .trim()
            .to_owned();
        let tokens = [ci.trim(), publish.trim()];
        self.done(&format!(
            "a stage-only token for CI ({}…), a publish token ({}…), a TOTP secret",
            &tokens[0][..tokens[0].len().min(10)],
            &tokens[1][..tokens[1].len().min(10)]
        ));
        self.command(
            &admin(&format!(
                "policy-set {WIDGET} --staged-publishing required --log {} --log-key \"$LOG_KEY\"",
                self.set.log_url
            )),
            None,
        );
        let said = p
            .admin(&[
                "policy-set",
                WIDGET,
                "--staged-publishing",
                "required",
                "--log",
                self.set.log_url,
                "--log-key",
                &self.set.log_key.to_string(),
            ])
            .await?;
        let logged = self.recorded().await?;
        self.expect(
            has(&logged, "policy-change", WIDGET),
            said.trim(),
            format!("policy-set logged no policy-change: {said}"),
        );

        let server = slot.insert(RegistryServer::start(
            p,
            self.set.log_url,
            self.set.log_key,
            &self.set.data.join("registry.log"),
        )?);
        self.out.line(&format!(
            "registry  gatelog-registry on {}, logging to {} (its log: registry.log)",
            server.url, self.set.log_url
        ));
        self.out
            .line(&format!("          NPM_REGISTRY_KEY={}", p.key));
        let ci = self.npm.person("CI", Some(tokens[0]))?;
        let alice = self.npm.person("alice", Some(tokens[1]))?;
        Ok((ci, alice, secret))
    }

    /// `npm audit signatures` in `consumer`, with the local TUF mirror.
    async fn audit(&mut self, reader: &Person, consumer: &Path) -> Result<(), DemoError> {
        let tuf = TufMirror::start(&self.prepared.npm_dir, &self.npm.cache())
            .map_err(DemoError::Setup)?;
        let audit = self
            .npm(reader, consumer, &["audit", "signatures"], Some(&tuf.env()))
            .await?;
        let said = format!("{}\n{}", audit.stdout, audit.stderr);
        self.expect(
            audit.ok() && said.contains("verified registry signature"),
            &format!("audit signatures ok: {}", last_line(&audit.stdout)),
            format!("npm audit signatures: {}", audit.error()),
        );
        self.out.wrapped(
            "    ",
            "(npm asks Sigstore's TUF repository for a registry's keys first; offline, the demo \
             answers for it with an empty repository of its own, so npm takes the registry's \
             /-/npm/v1/keys, as it does for any registry TUF does not list.)",
            Some(Colour::Dim),
        );
        Ok(())
    }

    /// Step 5: alice's publish token leaks.
    async fn attack(
        &mut self,
        alice: &Person,
        reader: &Person,
        consumer: &Path,
        state: &Path,
    ) -> Result<(), DemoError> {
        self.step("5. The attack: alice's publish token leaks");
        let attacker = Person {
            who: "the attacker, with alice's leaked publish token".to_owned(),
            ..alice.clone()
        };
        let widget = npm::package(&self.prepared.npm_dir, WIDGET, "1.0.1")?;
        let refused = self.npm(&attacker, &widget, &["publish"], None).await?;
        let logged = self.recorded().await?;
        self.expect(
            !refused.ok() && refused.stderr.contains("403") && logged.is_empty(),
            &format!("refused by the registry: {}", refused.error()),
            format!(
                "a direct npm publish of {WIDGET}, which requires staging, was not refused \
                 (exit {}) or was logged",
                refused.code
            ),
        );
        self.out.wrapped(
            "  ",
            &format!(
                "{HELPER} is alice's too, but nobody set its staging policy in the registry, so \
                 the registry takes a direct publish. The organisation's monitor and gatelog \
                 verify expect staging for every {} package:",
                super::PACKAGES
            ),
            None,
        );
        let helper = npm::package(&self.prepared.npm_dir, HELPER, "1.0.0")?;
        let direct = self.npm(&attacker, &helper, &["publish"], None).await?;
        let from = self.size;
        let logged = self.recorded().await?;
        self.expect(
            direct.ok() && has(&logged, "publish", &format!("{HELPER}@1.0.0 (via: direct)")),
            &format!("exit 0: {}", last_line(&direct.stdout)),
            format!("the direct npm publish of {HELPER}: {}", direct.error()),
        );
        let alerts = self.alerts_since(from).await?;
        show_alerts(self.out, &alerts);
        let caught = alerts
            .iter()
            .any(|a| a.rule == RULE && a.package.as_deref() == Some(HELPER));
        self.expect(
            caught,
            &format!("caught by the monitor: {RULE}"),
            format!("the monitor did not raise {RULE} for {HELPER}@1.0.0"),
        );

        let install = format!("{HELPER}@1.0.0");
        let installed = self
            .npm(reader, consumer, &["install", &install], None)
            .await?;
        self.expect(
            installed.ok() && locked_version(consumer, HELPER).as_deref() == Some("1.0.0"),
            &format!("exit 0: {}", last_line(&installed.stdout)),
            format!("npm install {install}: {}", installed.error()),
        );
        let run = self.verify(consumer, state).await?;
        let (failed, rules) = match &run.report {
            Some(r) => {
                for p in r.packages.iter().filter(|p| p.status == "failed") {
                    for f in &p.findings {
                        self.out.line(&format!(
                            "  {}  {}  {}",
                            self.out
                                .paint(Colour::Bold, &format!("{}@{}", p.name, p.version)),
                            self.out.paint(Colour::Red, &f.rule),
                            self.out.paint(Colour::Dim, &entries(&f.entries))
                        ));
                        self.out.wrapped("      ", &f.message, None);
                    }
                }
                let failed: Vec<String> = r
                    .packages
                    .iter()
                    .filter(|p| p.status == "failed")
                    .map(|p| format!("{}@{}", p.name, p.version))
                    .collect();
                let rules: Vec<String> = r
                    .packages
                    .iter()
                    .flat_map(|p| p.findings.iter().map(|f| f.rule.clone()))
                    .collect();
                (failed, rules)
            }
            None => (Vec::new(), Vec::new()),
        };
        self.expect(
            run.code == 1 && failed == [format!("{HELPER}@1.0.0")] && rules == [RULE],
            &format!(
                "exit 1 as it should: {HELPER}@1.0.0 fails {RULE}; {WIDGET}@1.0.0 still passes"
            ),
            format!(
                "gatelog verify on the attacked lockfile: exit {}, failed {failed:?} with {rules:?} {}",
                run.code, run.stderr
            ),
        );
        Ok(())
    }

    /// `gatelog verify` on the consumer's lockfile, shown.
    async fn verify(&mut self, consumer: &Path, state: &Path) -> Result<Verified, DemoError> {
        let key = self.prepared.key.to_string();
        let log_key = self.set.log_key.to_string();
        let verify = VerifyCommand {
            exe: self.set.gatelog,
            log: self.set.log_url,
            log_key: &log_key,
            registry_key: &key,
            state_dir: state,
        };
        self.command(
            &format!(
                "$ gatelog verify --lockfile {} --log {} --log-key \"$LOG_KEY\" --registry-key \
                 \"$NPM_REGISTRY_KEY\"",
                consumer.join("package-lock.json").display(),
                self.set.log_url
            ),
            None,
        );
        verify.run(consumer).await
    }

    /// The alerts the monitor raised on entries from `from` on, once it
    /// caught up with the log.
    async fn alerts_since(&mut self, from: u64) -> Result<Vec<Alert>, DemoError> {
        let caught_up = self.set.monitor.catch_up(self.size, MONITOR_WAIT).await?;
        if !caught_up {
            self.expect(false, "", "the monitor did not catch up in time".to_owned());
        }
        Ok(self
            .set
            .monitor
            .alerts()
            .into_iter()
            .filter(|a| a.trigger().is_some_and(|t| t >= from && t < self.size))
            .collect())
    }

    /// Runs npm, showing the command first.
    async fn npm(
        &mut self,
        person: &Person,
        cwd: &Path,
        args: &[&str],
        env: Option<&[(&'static str, String)]>,
    ) -> Result<Ran, DemoError> {
        let folder = relative_to(cwd, &self.prepared.npm_dir);
        self.command(
            &format!("$ npm {}", args.join(" ")),
            Some(&format!("{}, in {folder}", person.who)),
        );
        self.npm
            .run(person, cwd, args, env.unwrap_or_default())
            .await
    }

    /// The entries logged since the last call; they are shown after the
    /// next outcome.
    async fn recorded(&mut self) -> Result<Vec<Logged>, DemoError> {
        let size = log_size(self.set.log).await?;
        let mut logged = Vec::new();
        for index in self.size..size {
            let (_, event) = self
                .set
                .log
                .verified_entry(index)
                .await
                .map_err(|e| DemoError::Failed(format!("entry {index}: {e}")))?;
            let mut what = match event.version() {
                Some(v) => format!("{}@{v}", event.package),
                None => event.package.to_string(),
            };
            if let EventBody::Publish(p) = &event.body {
                what.push_str(&format!(" (via: {})", p.via.as_str()));
            }
            logged.push(Logged {
                index,
                kind: event.event_type().as_str().to_owned(),
                what,
            });
        }
        self.size = size;
        self.pending = Some(logged.clone());
        Ok(logged)
    }

    /// Shows the entries [`Chapter::recorded`] read, once.
    fn show_recorded(&mut self) {
        let Some(logged) = self.pending.take() else {
            return;
        };
        // One entry a line, so each reads whole.
        let lines: Vec<String> = if logged.is_empty() {
            vec!["nothing".to_owned()]
        } else {
            logged
                .iter()
                .map(|l| format!("#{} {} {}", l.index, l.kind, l.what))
                .collect()
        };
        for (i, line) in lines.iter().enumerate() {
            let head = if i == 0 {
                "  log recorded: "
            } else {
                "                "
            };
            self.out
                .line(&self.out.paint(Colour::Dim, &format!("{head}{line}")));
        }
    }

    fn step(&self, title: &str) {
        self.out.blank();
        self.out.line(&self.out.paint(Colour::Bold, title));
    }

    fn command(&self, line: &str, note: Option<&str>) {
        let note = note.map_or_else(String::new, |n| {
            format!("  {}", self.out.paint(Colour::Dim, &format!("({n})")))
        });
        self.out
            .line(&format!("{}{note}", self.out.paint(Colour::Cyan, line)));
    }

    fn done(&self, text: &str) {
        self.out.wrapped("  ✓ ", text, Some(Colour::Green));
    }

    /// Shows `good` when `ok`, else `bad`, and counts it; returns `ok`.
    fn expect(&mut self, ok: bool, good: &str, bad: String) -> bool {
        if ok {
            self.done(good);
            self.outcome.passed += 1;
        } else {
            self.out.wrapped("  ✗ ", &bad, Some(Colour::Red));
            self.outcome.failed.push(bad);
        }
        self.show_recorded();
        ok
    }
}

async fn log_size(log: &LogClient) -> Result<u64, DemoError> {
    Ok(log
        .size()
        .await
        .map_err(|e| DemoError::Failed(format!("the log's checkpoint: {e}")))?
        .0)
}
