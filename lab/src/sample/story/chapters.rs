//! The story's content: setup, six ordinary weeks and the attacks of May
//! 2026, chapter by chapter. The parent module lists what each chapter
//! fires; the times here are what makes those judgments true.

use super::Signer;
use super::script::{DAY, Dev, HOUR, MINUTE, PACKAGES, Pkg, Script, context, tarball};
use crate::sample::build::github_publisher;
use gatelog_core::event::{StagedPublishing, TrustedPublisherMode};

/// 2026-03-16T09:00:00Z, a Monday: setup.
const SETUP: i64 = 1_773_651_600;
/// 2026-03-30T00:00:00Z, a Monday: the first ordinary week.
const ORDINARY: i64 = 1_774_828_800;
/// 2026-05-11T00:00:00Z, a Monday: the first day of attacks.
const MAY_11: i64 = 1_778_457_600;

/// What `gatelog verify` reports on a direct publish of a package whose
/// staging is required.
const DIRECT: &[&str] = &["publish-without-approval"];

/// Ordinary releases, spread over the weekdays of six weeks.
const ORDINARY_RELEASES: usize = 70;
const ORDINARY_WEEKDAYS: usize = 30;
/// The ordinary release before which a broken build is staged and rejected.
const REJECTED_BEFORE: usize = 34;

/// Writes the whole script.
pub(super) fn write() -> Script {
    let mut s = Script::default();
    setup(&mut s);
    ordinary_weeks(&mut s);
    stolen_token(&mut s);
    worm(&mut s);
    infostealer(&mut s);
    sim_swap(&mut s);
    rubber_stamp(&mut s);
    switched_tarball(&mut s);
    unknown_devices(&mut s);
    not_a_maintainer(&mut s);
    forged_signature(&mut s);
    policy_downgrade(&mut s);
    new_maintainer(&mut s);
    s
}

fn setup(s: &mut Script) {
    s.chapter(
        "acme sets up its packages",
        None,
        &[],
        "Five packages get their maintainers and a policy: staged publishing required, and only \
         the package's own GitHub release workflow may stage it. The maintainers register the \
         second factors they will approve with, two weeks before they first need them.",
    );
    let mut t = SETUP;
    for pkg in PACKAGES {
        let maintainers = pkg.maintainers();
        for maintainer in maintainers {
            s.maintainer_add(t, pkg, maintainer, maintainers[0]);
            t += 30;
        }
        let note = format!(
            "{} requires staged publishing; only the release workflow of {} may stage it",
            pkg.name(),
            pkg.repo()
        );
        s.policy(
            t,
            pkg,
            StagedPublishing::Required,
            TrustedPublisherMode::StageOnly,
            note,
        );
        t += 10 * MINUTE;
    }
    // Device events belong to an account; each is logged under a package
    // its owner maintains.
    for (time, pkg, dev) in [
        (SETUP + HOUR, Pkg::Router, Dev::AliceKey),
        (SETUP + DAY + 2 * HOUR, Pkg::Router, Dev::BobKey),
        (
            SETUP + DAY + 2 * HOUR + 5 * MINUTE,
            Pkg::Table,
            Dev::BobPhone,
        ),
        (SETUP + 2 * DAY + 5 * HOUR, Pkg::TinyArgs, Dev::CarolPhone),
        (
            SETUP + 2 * DAY + 5 * HOUR + 3 * MINUTE,
            Pkg::TinyArgs,
            Dev::CarolSms,
        ),
    ] {
        let who = dev.owner();
        let note = format!(
            "{who} registers {} {}",
            super::script::their(who),
            dev.describe()
        );
        s.device_change(time, pkg, dev, true, note);
    }
}

fn ordinary_weeks(s: &mut Script) {
    const TITLES: [&str; 3] = [
        "Ordinary releases, weeks 1 and 2",
        "Ordinary releases, weeks 3 and 4",
        "Ordinary releases, weeks 5 and 6",
    ];
    let mut day_seen = usize::MAX;
    let mut slot = 0;
    for r in 0..ORDINARY_RELEASES {
        let weekday = r * ORDINARY_WEEKDAYS / ORDINARY_RELEASES;
        if weekday == day_seen {
            slot += 1;
        } else {
            if weekday.is_multiple_of(10) {
                s.chapter(
                    TITLES[weekday / 10],
                    None,
                    &[],
                    "Each release is staged by its package's release workflow, approved 3 to 29 \
                     minutes later by the maintainer and device that always approve it, and \
                     published through staging. Nothing here should raise an alert.",
                );
            }
            day_seen = weekday;
            slot = 0;
        }
        // Up to three releases a weekday, three hours apart, none overlapping.
        let day = (weekday / 5 * 7 + weekday % 5) as i64;
        let n = r as i64;
        let mut staged =
            ORDINARY + day * DAY + 9 * HOUR + slot * 3 * HOUR + n * 37 % 50 * MINUTE + n * 17 % 60;
        let pkg = PACKAGES[r % PACKAGES.len()];
        if r == REJECTED_BEFORE {
            rejected_build(s, pkg, staged);
            staged += HOUR;
        }
        let wait = (3 + n * 11 % 27) * MINUTE + n * 13 % 60;
        s.ordinary_release(pkg, staged, wait, 40 + n * 7 % 80);
    }
}

/// A broken build, staged and rejected by the package's usual approver.
fn rejected_build(s: &mut Script, pkg: Pkg, staged: i64) {
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " without dist");
    let stage = s.ci_stage(staged, pkg, &version, integrity);
    let why = "the tarball lacks its dist/ folder";
    s.reject(staged + 12 * MINUTE, pkg, &version, stage, pkg.usual(), why);
}

fn stolen_token(s: &mut Script) {
    s.chapter(
        "Stolen OIDC token publishes directly",
        Some("TanStack, 2026-05-11"),
        &["publish-without-approval"],
        "A CI token stolen from @acme/router's release workflow publishes a new version \
         straight to the registry: valid provenance, but no stage and no human approval.",
    );
    let pkg = Pkg::Router;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " with a credential stealer");
    let note = format!(
        "{}@{version} is published directly with a token stolen from {}'s release workflow: no stage, no approval",
        pkg.name(),
        pkg.repo()
    );
    s.publish_direct(
        MAY_11 + 19 * HOUR + 20 * MINUTE,
        pkg,
        &version,
        integrity,
        note,
        DIRECT,
    );
}

fn worm(s: &mut Script) {
    s.chapter(
        "Worm spreads across packages",
        Some("Mini Shai-Hulud"),
        &[
            "publish-without-approval",
            "publisher-burst",
            "unexpected-publisher",
        ],
        "Using the stolen @acme/router workflow identity, a worm stages a new version of all \
         five packages within ten minutes and publishes each one directly.",
    );
    let worm = github_publisher(Pkg::Router.repo(), "refs/heads/main");
    let start = MAY_11 + DAY + 2 * HOUR + 14 * MINUTE;
    for (n, pkg) in PACKAGES.into_iter().enumerate() {
        let t = start + n as i64 * 2 * MINUTE;
        let version = s.next_version(pkg);
        let integrity = tarball(pkg, &version, " with a worm");
        let note = format!(
            "the stolen {} workflow identity stages {}@{version}",
            Pkg::Router.repo(),
            pkg.name()
        );
        s.stage(t, pkg, &version, integrity, worm.clone(), note);
        let note = format!("{}@{version} goes public directly, unapproved", pkg.name());
        s.publish_direct(t + 40, pkg, &version, integrity, note, DIRECT);
    }
}

fn infostealer(s: &mut Script) {
    s.chapter(
        "Infostealer: a new device approves minutes later",
        Some("Megalodon"),
        &["new-device"],
        "With a session stolen from bob's machine, the attacker registers a key of their own on \
         bob's account and six minutes later approves a malicious build of @acme/form with it. \
         Every signature is valid; only the device's age gives it away.",
    );
    let pkg = Pkg::Form;
    let t = MAY_11 + 2 * DAY + 14 * HOUR;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " with an infostealer");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let note = "bob's stolen session registers a brand-new key \"key-2\" on his account".to_owned();
    s.device_change(t + 2 * MINUTE + 10, pkg, Dev::BobNewKey, true, note);
    let dev = Dev::BobNewKey;
    let approve = s.approve(
        t + 8 * MINUTE + 10,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Device,
        context(None),
    );
    s.amend_note(", registered 6 min ago");
    s.publish(
        t + 9 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &[],
    );
}

fn sim_swap(s: &mut Script) {
    s.chapter(
        "SIM-swapped account approves with SMS",
        None,
        &["new-device", "weak-second-factor"],
        "After taking over carol's phone number, the attacker approves a build of tiny-args with \
         the SMS code sent to carol's backup number, a device that never approved it before.",
    );
    let pkg = Pkg::TinyArgs;
    let t = MAY_11 + 3 * DAY + 3 * HOUR + 30 * MINUTE;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " with a cryptominer");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let dev = Dev::CarolSms;
    let approve = s.approve(
        t + 11 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Nobody,
        context(None),
    );
    s.amend_note(": the code went to the attacker's SIM");
    s.publish(
        t + 12 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &["weak-second-factor"],
    );
}

fn rubber_stamp(s: &mut Script) {
    s.chapter(
        "Rubber-stamp approval",
        None,
        &["rubber-stamp"],
        "alice approves a build of @acme/query four seconds after CI staged it, from her usual \
         key: nobody could have looked at the tarball in that time.",
    );
    let pkg = Pkg::Query;
    let t = MAY_11 + 3 * DAY + 16 * HOUR;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " with an unreviewed postinstall script");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let dev = Dev::AliceKey;
    let approve = s.approve(
        t + 4,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Device,
        context(Some("alice")),
    );
    s.publish(t + 70, pkg, &version, integrity, stage, approve, &[]);
}

fn switched_tarball(s: &mut Script) {
    s.chapter(
        "Tarball switched after approval",
        None,
        &["integrity-mismatch", "publish-without-approval"],
        "bob approves a staged build of @acme/table as usual; then another tarball goes public \
         under the same version. An honest log refuses a staged publish whose references carry \
         another digest, so the switch shows as a direct publish.",
    );
    let pkg = Pkg::Table;
    let t = MAY_11 + 4 * DAY + 10 * HOUR;
    let version = s.next_version(pkg);
    let approved = tarball(pkg, &version, "");
    let switched = tarball(pkg, &version, " switched after approval");
    let stage = s.ci_stage(t, pkg, &version, approved);
    let dev = Dev::BobPhone;
    s.approve(
        t + 11 * MINUTE,
        pkg,
        &version,
        approved,
        stage,
        dev,
        Signer::Nobody,
        context(Some("bob")),
    );
    let note = format!(
        "a different tarball of {}@{version} is published directly, not the one bob approved",
        pkg.name()
    );
    s.publish_direct(
        t + 16 * MINUTE,
        pkg,
        &version,
        switched,
        note,
        &["publish-without-approval", "integrity-mismatch"],
    );
}

fn unknown_devices(s: &mut Script) {
    s.chapter(
        "Approvals from unknown devices",
        None,
        &["unknown-device"],
        "An approval of @acme/router names an authenticator app of alice's that was never \
         registered (the log cannot check a code, only a registered key's signature). Then bob \
         revokes his old phone, and a day later an approval of @acme/table arrives from it.",
    );
    let t = MAY_11 + 7 * DAY + 9 * HOUR + 30 * MINUTE;
    let pkg = Pkg::Router;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " from an unknown key");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let dev = Dev::AliceSpare;
    let approve = s.approve(
        t + 8 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Nobody,
        context(None),
    );
    s.amend_note(", a device the log has never seen registered");
    s.publish(
        t + 9 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &["unknown-device"],
    );

    let note = "bob replaces his phone and revokes the old authenticator".to_owned();
    s.device_change(t + 90 * MINUTE, Pkg::Table, Dev::BobPhone, false, note);

    let t = MAY_11 + 8 * DAY + 9 * HOUR;
    let pkg = Pkg::Table;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " from a revoked phone");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let dev = Dev::BobPhone;
    let approve = s.approve(
        t + 7 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Nobody,
        context(None),
    );
    s.amend_note(": the phone he revoked yesterday");
    s.publish(
        t + 8 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &["unknown-device"],
    );
}

fn not_a_maintainer(s: &mut Script) {
    s.chapter(
        "Approval by someone who is not a maintainer",
        None,
        &["new-device", "not-a-maintainer"],
        "mallory, who maintains nothing at acme, registers a key and approves a build of \
         @acme/form with it. The signatures are valid; the approver is not a maintainer.",
    );
    let t = MAY_11 + 9 * DAY + 13 * HOUR;
    let pkg = Pkg::Form;
    let note = "mallory registers her laptop key".to_owned();
    s.device_change(t, pkg, Dev::MalloryKey, true, note);
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " approved by mallory");
    let stage = s.ci_stage(t + 5 * MINUTE, pkg, &version, integrity);
    let dev = Dev::MalloryKey;
    let approve = s.approve(
        t + 12 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Device,
        context(Some("mallory")),
    );
    s.publish(
        t + 13 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &[],
    );
}

fn forged_signature(s: &mut Script) {
    s.chapter(
        "Forged device signature",
        None,
        &["bad-device-signature"],
        "An approval of @acme/router claims alice's security key, but its device signature was \
         made with another key. An honest log refuses it; a static golden log keeps it so \
         monitors can be tested on it. Nothing is published.",
    );
    let t = MAY_11 + 10 * DAY + 10 * HOUR;
    let pkg = Pkg::Router;
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " with a forged approval");
    let stage = s.ci_stage(t, pkg, &version, integrity);
    let forger = Signer::Other(66);
    s.approve(
        t + 6 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        Dev::AliceKey,
        forger,
        context(None),
    );
    s.amend_note(", but the device signature was made with another key");
    s.refused_by_honest_log();
}

fn policy_downgrade(s: &mut Script) {
    s.chapter(
        "Policy quietly downgraded",
        None,
        &["policy-downgrade"],
        "@acme/query stops requiring staged publishing, and @acme/form's release workflow is \
         allowed to publish without an approval.",
    );
    let t = MAY_11 + 10 * DAY + 15 * HOUR;
    let note = "@acme/query no longer requires staged publishing".to_owned();
    let (staged, optional) = (StagedPublishing::Required, StagedPublishing::Optional);
    let (stage_only, publish) = (
        TrustedPublisherMode::StageOnly,
        TrustedPublisherMode::Publish,
    );
    s.policy(t, Pkg::Query, optional, stage_only, note);
    let note = "@acme/form's release workflow may now publish without approval".to_owned();
    s.policy(t + 5 * MINUTE, Pkg::Form, staged, publish, note);
}

fn new_maintainer(s: &mut Script) {
    s.chapter(
        "New maintainer publishes within minutes",
        None,
        &["new-device", "policy-downgrade"],
        "bob adds dave to @acme/table; dave registers a key, and ten minutes after joining he has \
         approved a release that goes public.",
    );
    let t = MAY_11 + 11 * DAY + 9 * HOUR;
    let pkg = Pkg::Table;
    s.maintainer_add(t, pkg, "dave", "bob");
    let note = "dave registers his laptop key".to_owned();
    s.device_change(t + MINUTE, pkg, Dev::DaveKey, true, note);
    let version = s.next_version(pkg);
    let integrity = tarball(pkg, &version, " approved by dave");
    let stage = s.ci_stage(t + 2 * MINUTE, pkg, &version, integrity);
    let dev = Dev::DaveKey;
    let approve = s.approve(
        t + 7 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        dev,
        Signer::Device,
        context(Some("dave")),
    );
    s.publish(
        t + 10 * MINUTE,
        pkg,
        &version,
        integrity,
        stage,
        approve,
        &[],
    );
}
