//! The cast of the story (packages, people, devices) and the builder its
//! chapters are written with ([`super::chapters`]).

use std::collections::BTreeMap;

use super::{Action, Chapter, Planned, Release, Signer};
use crate::sample::build::{SampleDevice, github_publisher, trusted_github};
use gatelog_core::event::{
    ApprovalContext, DeviceChange, DeviceKind, EventBody, Integrity, MaintainerChange,
    PolicyChange, Publish, Publisher, Stage, StagedPublishing, TrustedPublisherMode, Via,
};
use gatelog_core::hash::Hash;

pub(super) const MINUTE: i64 = 60;
pub(super) const HOUR: i64 = 60 * MINUTE;
pub(super) const DAY: i64 = 24 * HOUR;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Pkg {
    Router,
    Query,
    Form,
    Table,
    TinyArgs,
}

pub(super) const PACKAGES: [Pkg; 5] = [
    Pkg::Router,
    Pkg::Query,
    Pkg::Form,
    Pkg::Table,
    Pkg::TinyArgs,
];

impl Pkg {
    pub(super) fn name(self) -> &'static str {
        match self {
            Pkg::Router => "@acme/router",
            Pkg::Query => "@acme/query",
            Pkg::Form => "@acme/form",
            Pkg::Table => "@acme/table",
            Pkg::TinyArgs => "tiny-args",
        }
    }

    pub(super) fn repo(self) -> &'static str {
        match self {
            Pkg::Router => "acme/router",
            Pkg::Query => "acme/query",
            Pkg::Form => "acme/form",
            Pkg::Table => "acme/table",
            Pkg::TinyArgs => "acme/tiny-args",
        }
    }

    /// Major and minor of the first ordinary release.
    pub(super) fn first_version(self) -> (u64, u64) {
        match self {
            Pkg::Router => (2, 1),
            Pkg::Query => (1, 2),
            Pkg::Form => (3, 0),
            Pkg::Table => (5, 2),
            Pkg::TinyArgs => (0, 4),
        }
    }

    /// Its maintainers from setup on; the first one created it.
    pub(super) fn maintainers(self) -> &'static [&'static str] {
        match self {
            Pkg::Router => &["alice", "bob"],
            Pkg::Query => &["alice", "carol"],
            Pkg::Form => &["bob", "carol"],
            Pkg::Table => &["bob", "alice"],
            Pkg::TinyArgs => &["carol"],
        }
    }

    /// The device that approves its ordinary releases (one per package, so
    /// no ordinary approval is a package's first use of a device).
    pub(super) fn usual(self) -> Dev {
        match self {
            Pkg::Router | Pkg::Query => Dev::AliceKey,
            Pkg::Form => Dev::BobKey,
            Pkg::Table => Dev::BobPhone,
            Pkg::TinyArgs => Dev::CarolPhone,
        }
    }

    /// The CI run of its trusted publisher for a release tag.
    pub(super) fn ci(self, version: &str) -> Publisher {
        github_publisher(self.repo(), &format!("refs/tags/v{version}"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Dev {
    AliceKey,
    BobKey,
    BobPhone,
    CarolPhone,
    CarolSms,
    /// Registered by whoever stole bob's session.
    BobNewKey,
    /// Never registered: an authenticator app (TOTP), which the log
    /// cannot check (an unregistered signing key's approval the log
    /// refuses outright).
    AliceSpare,
    MalloryKey,
    DaveKey,
}

impl Dev {
    pub(super) fn owner(self) -> &'static str {
        match self {
            Dev::AliceKey | Dev::AliceSpare => "alice",
            Dev::BobKey | Dev::BobPhone | Dev::BobNewKey => "bob",
            Dev::CarolPhone | Dev::CarolSms => "carol",
            Dev::MalloryKey => "mallory",
            Dev::DaveKey => "dave",
        }
    }

    pub(super) fn device(self) -> SampleDevice {
        let (signing, code) = (SampleDevice::signing, SampleDevice::code);
        match self {
            Dev::AliceKey => signing("yubikey-5c", DeviceKind::Ed25519, 1).labelled("YubiKey 5C"),
            Dev::BobKey => signing("titan", DeviceKind::Ed25519, 2).labelled("Titan Security Key"),
            Dev::BobPhone => code("pixel-totp", DeviceKind::Totp).labelled("Pixel authenticator"),
            Dev::CarolPhone => {
                code("iphone-totp", DeviceKind::Totp).labelled("iPhone authenticator")
            }
            Dev::CarolSms => code("sms-backup", DeviceKind::Sms).labelled("SMS to +44 7700 900142"),
            Dev::BobNewKey => signing("key-2", DeviceKind::Ed25519, 3).labelled("Security key"),
            Dev::AliceSpare => code("totp-spare", DeviceKind::Totp),
            Dev::MalloryKey => {
                signing("mallory-key", DeviceKind::Ed25519, 4).labelled("Laptop key")
            }
            Dev::DaveKey => signing("dave-key", DeviceKind::Ed25519, 5).labelled("Laptop key"),
        }
    }

    /// How a note names it after "from her" / "from his".
    pub(super) fn describe(self) -> &'static str {
        match self {
            Dev::AliceKey => "security key (YubiKey 5C)",
            Dev::BobKey => "security key (Titan)",
            Dev::BobPhone | Dev::CarolPhone => "phone's authenticator app (TOTP)",
            Dev::CarolSms => "backup SMS number",
            Dev::BobNewKey => "brand-new key \"key-2\"",
            Dev::AliceSpare => "authenticator app \"totp-spare\"",
            Dev::MalloryKey | Dev::DaveKey => "laptop key",
        }
    }

    pub(super) fn signer(self) -> Signer {
        if self.device().key.is_some() {
            Signer::Device
        } else {
            Signer::Nobody
        }
    }
}

pub(super) fn their(who: &str) -> &'static str {
    match who {
        "bob" | "dave" => "his",
        _ => "her",
    }
}

/// Where someone approves from: each person has one home network; `None`
/// is an attacker's.
pub(super) fn context(who: Option<&str>) -> ApprovalContext {
    let (asn, country, os) = match who {
        Some("alice") => (3320, "DE", "darwin arm64"),
        Some("bob") => (7922, "US", "linux x64"),
        Some("carol") => (2856, "GB", "win32 x64"),
        Some(_) => (16276, "FR", "linux x64"),
        None => (9009, "NL", "linux x64"),
    };
    ApprovalContext {
        asn: Some(asn),
        country: Some(country.to_owned()),
        user_agent: Some(format!("npm/11.6.0 node/v24.1.0 {os}")),
    }
}

/// The digest of a tarball; `what` tells builds of one version apart.
pub(super) fn tarball(pkg: Pkg, version: &str, what: &str) -> Integrity {
    Integrity::of(format!("{}-{version}.tgz{what}", pkg.name()).as_bytes())
}

pub(super) fn waited(seconds: i64) -> String {
    if seconds < MINUTE {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds / MINUTE)
    }
}

/// The script under construction.
#[derive(Default)]
pub(super) struct Script {
    pub(super) chapters: Vec<Chapter>,
    pub(super) plan: Vec<Planned>,
    pub(super) releases: Vec<Release>,
    /// Versions numbered so far, per package.
    numbered: BTreeMap<Pkg, u64>,
    now: i64,
}

impl Script {
    pub(super) fn chapter(
        &mut self,
        title: &'static str,
        incident: Option<&'static str>,
        expected_rules: &'static [&'static str],
        summary: &'static str,
    ) {
        // Setup and the ordinary weeks expect nothing; everything else attacks.
        let attack = !expected_rules.is_empty();
        self.chapters.push(Chapter {
            title,
            incident,
            attack,
            summary,
            expected_rules,
            packages: Vec::new(),
        });
    }

    pub(super) fn push(&mut self, time: i64, pkg: Pkg, note: String, action: Action) -> usize {
        assert!(time >= self.now, "the script goes back in time at {note:?}");
        self.now = time;
        let chapter = self.chapters.len() - 1;
        let packages = &mut self.chapters[chapter].packages;
        if !packages.iter().any(|p| p == pkg.name()) {
            packages.push(pkg.name().to_owned());
        }
        self.plan.push(Planned {
            chapter,
            package: pkg.name(),
            time,
            note,
            refused_by_honest_log: false,
            action,
        });
        self.plan.len() - 1
    }

    /// The next version of `pkg`: five patches per minor.
    pub(super) fn next_version(&mut self, pkg: Pkg) -> String {
        let n = self.numbered.entry(pkg).or_default();
        let (major, minor) = pkg.first_version();
        let version = format!("{major}.{}.{}", minor + *n / 5, *n % 5);
        *n += 1;
        version
    }

    pub(super) fn maintainer_add(&mut self, time: i64, pkg: Pkg, maintainer: &str, by: &str) {
        let note = if maintainer == by {
            format!("{by} creates {} and becomes its maintainer", pkg.name())
        } else {
            format!("{by} adds {maintainer} as a maintainer of {}", pkg.name())
        };
        let change = MaintainerChange {
            maintainer: maintainer.to_owned(),
            by: by.to_owned(),
        };
        self.push(
            time,
            pkg,
            note,
            Action::Fixed(EventBody::MaintainerAdd(change)),
        );
    }

    pub(super) fn policy(
        &mut self,
        time: i64,
        pkg: Pkg,
        staged: StagedPublishing,
        mode: TrustedPublisherMode,
        note: String,
    ) {
        let change = PolicyChange {
            staged_publishing: staged,
            trusted_publishers: vec![trusted_github(pkg.repo(), mode)],
        };
        self.push(
            time,
            pkg,
            note,
            Action::Fixed(EventBody::PolicyChange(change)),
        );
    }

    pub(super) fn device_change(
        &mut self,
        time: i64,
        pkg: Pkg,
        dev: Dev,
        register: bool,
        note: String,
    ) {
        let change = DeviceChange {
            maintainer: dev.owner().to_owned(),
            device: dev.device().device(),
        };
        let body = if register {
            EventBody::DeviceRegister(change)
        } else {
            EventBody::DeviceRevoke(change)
        };
        self.push(time, pkg, note, Action::Fixed(body));
    }

    pub(super) fn stage(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
        publisher: Publisher,
        note: String,
    ) -> usize {
        let stage = Stage {
            version: version.parse().expect("script versions are SemVer"),
            integrity,
            provenance: Some(Hash::sha256(integrity.digest())),
            publisher,
            dist_tag: Some("latest".to_owned()),
        };
        self.push(time, pkg, note, Action::Fixed(EventBody::Stage(stage)))
    }

    /// A stage by `pkg`'s own release workflow.
    pub(super) fn ci_stage(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
    ) -> usize {
        let note = format!(
            "CI ({} release workflow) stages {}@{version}",
            pkg.repo(),
            pkg.name()
        );
        self.stage(time, pkg, version, integrity, pkg.ci(version), note)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn approve(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
        stage: usize,
        dev: Dev,
        signer: Signer,
        context: ApprovalContext,
    ) -> usize {
        let who = dev.owner();
        let note = format!(
            "{who} approves {}@{version} from {} {}, {} after staging",
            pkg.name(),
            their(who),
            dev.describe(),
            waited(time - self.plan[stage].time)
        );
        let action = Action::Approve {
            version: version.to_owned(),
            integrity,
            stage,
            maintainer: who,
            device: Box::new(dev.device()),
            signer,
            context,
        };
        self.push(time, pkg, note, action)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn publish(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
        stage: usize,
        approve: usize,
        verify_rules: &'static [&'static str],
    ) {
        let note = format!("{}@{version} goes public through staging", pkg.name());
        let action = Action::Publish {
            version: version.to_owned(),
            integrity,
            stage,
            approve,
        };
        self.push(time, pkg, note, action);
        self.released(pkg, version, integrity, verify_rules);
    }

    pub(super) fn publish_direct(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
        note: String,
        verify_rules: &'static [&'static str],
    ) {
        let publish = Publish {
            version: version.parse().expect("script versions are SemVer"),
            integrity,
            dist_tag: "latest".to_owned(),
            stage: None,
            approve: None,
            via: Via::Direct,
        };
        self.push(time, pkg, note, Action::Fixed(EventBody::Publish(publish)));
        // Staging is required (default policy), so the publish fails on
        // that; a version approved as another tarball fails on the digest too.
        self.released(pkg, version, integrity, verify_rules);
    }

    pub(super) fn released(
        &mut self,
        pkg: Pkg,
        version: &str,
        integrity: Integrity,
        verify_rules: &'static [&'static str],
    ) {
        self.releases.push(Release {
            package: pkg.name().to_owned(),
            version: version.to_owned(),
            integrity,
            chapter: self.chapters.len() - 1,
            verify_rules,
        });
    }

    /// `who` rejects the stage made by step `stage` from `dev`, saying why.
    pub(super) fn reject(
        &mut self,
        time: i64,
        pkg: Pkg,
        version: &str,
        stage: usize,
        dev: Dev,
        why: &str,
    ) {
        let who = dev.owner();
        let note = format!(
            "{who} rejects {}@{version} from {} {}: {why}",
            pkg.name(),
            their(who),
            dev.describe()
        );
        let action = Action::Reject {
            version: version.to_owned(),
            stage,
            maintainer: who,
            device: Box::new(dev.device()),
        };
        self.push(time, pkg, note, action);
    }

    /// Adds `more` to the last step's note.
    pub(super) fn amend_note(&mut self, more: &str) {
        if let Some(last) = self.plan.last_mut() {
            last.note.push_str(more);
        }
    }

    /// Marks the last step as one an honest log refuses.
    pub(super) fn refused_by_honest_log(&mut self) {
        if let Some(last) = self.plan.last_mut() {
            last.refused_by_honest_log = true;
        }
    }

    /// Staged by CI, approved `wait` seconds later by the package's usual
    /// maintainer and device, published `publish_wait` seconds after that.
    pub(super) fn ordinary_release(&mut self, pkg: Pkg, staged: i64, wait: i64, publish_wait: i64) {
        let version = self.next_version(pkg);
        let integrity = tarball(pkg, &version, "");
        let stage = self.ci_stage(staged, pkg, &version, integrity);
        let dev = pkg.usual();
        let owner = Some(dev.owner());
        let approve = self.approve(
            staged + wait,
            pkg,
            &version,
            integrity,
            stage,
            dev,
            dev.signer(),
            context(owner),
        );
        self.publish(
            staged + wait + publish_wait,
            pkg,
            &version,
            integrity,
            stage,
            approve,
            &[],
        );
    }
}
