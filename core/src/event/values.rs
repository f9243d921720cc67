//! Validated value types used in events: each can only hold a valid value,
//! so code that receives one never checks it again.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::EventError;

/// Longest npm package name, in bytes (npm's own limit).
pub const MAX_PACKAGE_NAME_LEN: usize = 214;

/// Longest registry origin accepted, in bytes.
pub const MAX_REGISTRY_LEN: usize = 256;

/// Longest `integrity` string accepted before decoding, in bytes.
const MAX_INTEGRITY_LEN: usize = 128;

/// Longest `time` string accepted before parsing, in bytes.
const MAX_TIME_LEN: usize = 64;

/// An npm package name: any name the npm registry can hold, legacy names
/// included. These are the rules of `validate-npm-package-name` for
/// `validForOldPackages` (names published before today's rules, such as
/// `JSONStream`, `Base64`, `events`, or names with `~'!()*`), minus what
/// is dangerous in a path, a URL or a terminal:
///
/// - at most 214 bytes (npm only warns about longer legacy names; the
///   registry has none that gatelog needs to read, and keys stay bounded);
/// - optionally `@scope/name`, with no other `/`;
/// - each part non-empty, not starting with `.` or `_`, without `..`;
/// - only URL-safe characters: what `encodeURIComponent` leaves alone
///   (`A-Z a-z 0-9 - . _ ~ ' ! ( ) *`), so no whitespace, control
///   characters, `%`, `:` or non-ASCII;
/// - not `node_modules` or `favicon.ico` (in any case).
///
/// Names that only legacy packages may have (capital letters, `~'!()*`,
/// Node.js core module names) pass; [`PackageName::check_new`] tells a
/// registry whether a name is also allowed for a *new* package. Names are
/// case-sensitive: `JSONStream` and `jsonstream` are two packages.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(transparent)]
pub struct PackageName(String);

/// Node.js core module names: legacy packages may have them (`events`,
/// `buffer`, `util`, `punycode` are real, much-used packages), new ones
/// may not (validate-npm-package-name's `builtins`).
const NODE_BUILTINS: &[&str] = &[
    "_http_agent",
    "_http_client",
    "_http_common",
    "_http_incoming",
    "_http_outgoing",
    "_http_server",
    "_stream_duplex",
    "_stream_passthrough",
    "_stream_readable",
    "_stream_transform",
    "_stream_wrap",
    "_stream_writable",
    "_tls_common",
    "_tls_wrap",
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
    "test",
    "sea",
    "sqlite",
    "test/reporters",
    "assert/strict",
    "dns/promises",
    "fs/promises",
    "path/posix",
    "path/win32",
    "stream/promises",
];

impl PackageName {
    /// Checks `name` against the rules for names the registry holds
    /// (legacy names included).
    pub fn parse(name: &str) -> Result<PackageName, EventError> {
        let fail = |reason: &'static str| {
            Err(EventError::InvalidPackageName {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return fail("empty");
        }
        if name.len() > MAX_PACKAGE_NAME_LEN {
            return fail("longer than 214 bytes");
        }
        let lower = name.to_ascii_lowercase();
        if lower == "node_modules" || lower == "favicon.ico" {
            return fail("a reserved name");
        }
        let parts = match name.strip_prefix('@') {
            Some(scoped) => match scoped.split_once('/') {
                Some((scope, bare)) => [Some(scope), Some(bare)],
                None => return fail("a scoped name must look like `@scope/name`"),
            },
            None => [None, Some(name)],
        };
        for part in parts.into_iter().flatten() {
            if let Err(reason) = check_name_part(part) {
                return fail(reason);
            }
        }
        Ok(PackageName(name.to_owned()))
    }

    /// Whether a registry may accept this name for a *new* package
    /// (validate-npm-package-name's `validForNewPackages`): lowercase only,
    /// none of `~'!()*` in the name part, and not a Node.js core module
    /// name. The log, monitors and clients never ask this: they read
    /// whatever the registry holds.
    pub fn check_new(&self) -> Result<(), &'static str> {
        if self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err("new package names cannot contain capital letters");
        }
        let bare = self.0.rsplit('/').next().unwrap_or(&self.0);
        if bare.contains(['~', '\'', '!', '(', ')', '*']) {
            return Err("new package names cannot contain any of ~'!()*");
        }
        if NODE_BUILTINS.contains(&self.0.as_str()) {
            return Err("new package names cannot be a Node.js core module name");
        }
        Ok(())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scope without `@`, for scoped names.
    pub fn scope(&self) -> Option<&str> {
        self.0
            .strip_prefix('@')
            .and_then(|s| s.split_once('/'))
            .map(|(scope, _)| scope)
    }
}

fn check_name_part(part: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err("empty scope or name part");
    }
    if part.starts_with('.') || part.starts_with('_') {
        return Err("starts with `.` or `_`");
    }
    if part.contains("..") {
        return Err("contains `..`");
    }
    for c in part.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '.' | '_' => {}
            '~' | '\'' | '!' | '(' | ')' | '*' => {}
            '/' => return Err("contains `/` other than after the scope"),
            c if c.is_whitespace() || c.is_control() => {
                return Err("contains whitespace or control characters");
            }
            _ => {
                return Err("contains characters that are not URL-safe \
                            (only A-Z a-z 0-9 - . _ ~ ' ! ( ) *)");
            }
        }
    }
    Ok(())
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The origin of a registry, e.g. `https://registry.npmjs.org`: the scheme
/// `https://` (or `http://`, for local registries), a lowercase host name,
/// a bracketed IPv6 address or an IPv4 address, an optional port, and
/// nothing else — no user info, path (not even `/`), query or fragment.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Registry(String);

impl Registry {
    /// Checks `origin`.
    pub fn parse(origin: &str) -> Result<Registry, EventError> {
        let fail = |reason: &'static str| {
            Err(EventError::InvalidRegistry {
                value: origin.to_owned(),
                reason,
            })
        };
        if origin.len() > MAX_REGISTRY_LEN {
            return fail("longer than 256 bytes");
        }
        let Some(authority) = origin
            .strip_prefix("https://")
            .or(origin.strip_prefix("http://"))
        else {
            return fail("must start with `https://` or `http://`");
        };
        if authority.contains(['/', '?', '#']) {
            return fail("must be an origin, without path (not even `/`), query or fragment");
        }
        if authority.contains('@') {
            return fail("must not contain user info");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => {
                (host, Some(port))
            }
            _ => (authority, None),
        };
        if let Some(port) = port {
            let valid = !port.is_empty()
                && port.len() <= 5
                && !port.starts_with('0')
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok();
            if !valid {
                return fail("port must be a number from 1 to 65535");
            }
        }
        if let Some(ip) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            if ip.parse::<std::net::Ipv6Addr>().is_err() {
                return fail("invalid IPv6 address");
            }
        } else if !host.split('.').all(is_host_label) {
            return fail("host must be lowercase labels of a-z 0-9 - separated by `.`");
        }
        Ok(Registry(origin.to_owned()))
    }

    /// The origin.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, with its port if the origin has one: the name a registry's
    /// signing key must carry (a registry speaks only for itself).
    pub fn host(&self) -> &str {
        self.0
            .strip_prefix("https://")
            .or_else(|| self.0.strip_prefix("http://"))
            .unwrap_or(&self.0)
    }
}

fn is_host_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tarball digest in Subresource Integrity form: exactly one
/// `sha512-<standard padded base64 of 64 bytes>` value (npm's `integrity`),
/// without options and without other algorithms.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Integrity([u8; 64]);

impl Integrity {
    /// Checks and decodes an SRI string.
    pub fn parse(text: &str) -> Result<Integrity, EventError> {
        let fail = |reason: String| Err(EventError::InvalidIntegrity { reason });
        if text.contains(|c: char| c.is_whitespace()) {
            return fail("must be a single sha512 value".into());
        }
        if text.len() > MAX_INTEGRITY_LEN {
            return fail(format!("longer than {MAX_INTEGRITY_LEN} bytes"));
        }
        let Some(encoded) = text.strip_prefix("sha512-") else {
            return match text.split_once('-') {
                Some((algorithm, _)) => {
                    fail(format!("only sha512 is accepted, found {algorithm:?}"))
                }
                None => fail("must start with `sha512-`".into()),
            };
        };
        match STANDARD.decode(encoded) {
            Ok(bytes) => match <[u8; 64]>::try_from(bytes.as_slice()) {
                Ok(digest) => Ok(Integrity(digest)),
                Err(_) => fail(format!("digest is {} bytes, expected 64", bytes.len())),
            },
            Err(_) => fail("digest is not canonical standard base64".into()),
        }
    }

    /// The integrity of `tarball`.
    pub fn of(tarball: &[u8]) -> Integrity {
        Integrity(Sha512::digest(tarball).into())
    }

    /// Wraps a raw SHA-512 digest.
    pub fn from_digest(digest: [u8; 64]) -> Integrity {
        Integrity(digest)
    }

    /// The raw SHA-512 digest.
    pub fn digest(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha512-{}", STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Integrity({self})")
    }
}

impl serde::Serialize for Integrity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An RFC 3339 timestamp (`2026-05-12T09:30:00Z`, any offset, optional
/// fraction). Its text is fixed when it is made, so printing it cannot fail.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Timestamp {
    at: OffsetDateTime,
    text: String,
}

impl Timestamp {
    /// Parses RFC 3339 text.
    pub fn parse(text: &str) -> Result<Timestamp, EventError> {
        let fail = |reason: String| {
            Err(EventError::InvalidTime {
                value: text.to_owned(),
                reason,
            })
        };
        if text.len() > MAX_TIME_LEN {
            return fail(format!("longer than {MAX_TIME_LEN} bytes"));
        }
        // The `time` crate also takes the space that RFC 3339 §5.6 mentions
        // in prose; the grammar, and so gatelog, wants `T`.
        if text.contains(' ') {
            return fail("date and time must be separated by `T`".into());
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| EventError::InvalidTime {
                value: text.to_owned(),
                reason: e.to_string(),
            })
            .and_then(Timestamp::new)
    }

    /// Wraps a date-time that RFC 3339 can express (years 0000 to 9999,
    /// offsets in whole minutes).
    pub fn new(at: OffsetDateTime) -> Result<Timestamp, EventError> {
        match at.format(&Rfc3339) {
            Ok(text) => Ok(Timestamp { at, text }),
            Err(e) => Err(EventError::InvalidTime {
                value: at.to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The date-time.
    pub fn get(&self) -> OffsetDateTime {
        self.at
    }

    /// The RFC 3339 text (normalized: the fraction, if any, without
    /// trailing zeros).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real names the npm registry serves that only the legacy rules
    /// allow, each with the reason a new package could not take it.
    const REAL_LEGACY_NAMES: [(&str, &str); 13] = [
        ("JSONStream", "capital"),
        ("Base64", "capital"),
        ("LiveScript", "capital"),
        ("Faker", "capital"),
        ("jQuery", "capital"),
        ("events", "core module"),
        ("buffer", "core module"),
        ("util", "core module"),
        ("punycode", "core module"),
        ("process", "core module"),
        ("string_decoder", "core module"),
        ("querystring", "core module"),
        ("assert", "core module"),
    ];

    #[test]
    fn legacy_names_are_read() {
        for (name, why_not_new) in REAL_LEGACY_NAMES {
            let parsed = PackageName::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.as_str(), name);
            let refused = parsed.check_new().expect_err(name);
            assert!(refused.contains(why_not_new), "{name}: {refused}");
        }
        // Legacy special characters: valid for old packages only.
        for name in ["a~b", "it's", "wow!", "x(y)", "star*", "@scope/a~b"] {
            let parsed = PackageName::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(parsed.check_new().unwrap_err().contains("~'!()*"), "{name}");
        }
        // A scope's special characters are allowed for new packages too.
        assert_eq!(PackageName::parse("@a~b/c").unwrap().check_new(), Ok(()));
        assert_eq!(
            PackageName::parse("@Acme/Widget").unwrap().scope(),
            Some("Acme")
        );
        for new in ["left-pad", "@acme/widget", "x.js", "events-polyfill"] {
            assert_eq!(
                PackageName::parse(new).unwrap().check_new(),
                Ok(()),
                "{new}"
            );
        }
        // Case matters: two names.
        assert_ne!(
            PackageName::parse("JSONStream").unwrap(),
            PackageName::parse("jsonstream").unwrap()
        );
    }

    #[test]
    fn package_names() {
        for good in [
            "a",
            "left-pad",
            "@scope/pkg",
            "@a/b.c_d-e",
            "x.js",
            "0",
            "a_b",
            "Foo",
            "@Scope/Pkg",
        ] {
            assert_eq!(
                PackageName::parse(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
        }
        let cases = [
            ("", "empty"),
            (".x", "starts with"),
            ("_x", "starts with"),
            ("@a/.x", "starts with"),
            ("@_a/x", "starts with"),
            ("..", "starts with"),
            ("a..b", "`..`"),
            ("@a/..", "starts with"),
            ("@a/b/c", "`/`"),
            ("a/b", "`/`"),
            ("../x", "starts with"),
            ("@a/../x", "starts with"),
            ("a b", "whitespace"),
            (" a", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\u{7f}", "control"),
            ("a\u{0}b", "control"),
            ("a\u{1b}[31m", "control"),
            ("@a", "@scope/name"),
            ("@/x", "empty"),
            ("@a/", "empty"),
            ("é", "URL-safe"),
            ("a%20b", "URL-safe"),
            ("%2e%2e", "URL-safe"),
            ("a:b", "URL-safe"),
            ("a\\b", "URL-safe"),
            ("a?b", "URL-safe"),
            ("a#b", "URL-safe"),
            ("a\"b", "URL-safe"),
            ("<script>", "URL-safe"),
            ("a\u{202e}b", "URL-safe"),
            ("node_modules", "reserved"),
            ("Node_Modules", "reserved"),
            ("FAVICON.ICO", "reserved"),
        ];
        for (bad, why) in cases {
            match PackageName::parse(bad) {
                Err(e @ EventError::InvalidPackageName { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains(why), "{bad:?}: {message}");
                    assert!(message.contains("`package`"), "{message}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(PackageName::parse(&"a".repeat(214)).is_ok());
        assert!(PackageName::parse(&"A".repeat(214)).is_ok());
        assert!(PackageName::parse(&"a".repeat(215)).is_err());
        assert!(PackageName::parse(&format!("@s/{}", "a".repeat(212))).is_err());
        assert_eq!(PackageName::parse("@s/p").unwrap().scope(), Some("s"));
        assert_eq!(PackageName::parse("p").unwrap().scope(), None);
    }

    #[test]
    fn registries() {
        for good in [
            "https://registry.npmjs.org",
            "http://localhost:4873",
            "https://10.0.0.1:8443",
            "http://[::1]:4873",
            "https://[2001:db8::1]",
        ] {
            assert!(Registry::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "registry.npmjs.org",
            "ftp://registry.npmjs.org",
            "HTTPS://registry.npmjs.org",
            "https://registry.npmjs.org/",
            "https://registry.npmjs.org/npm",
            "https://registry.npmjs.org?x",
            "https://registry.npmjs.org#x",
            "https://user@registry.npmjs.org",
            "https://Registry.npmjs.org",
            "https://",
            "https://a..b",
            "https://a:0",
            "https://a:65536",
            "https://a:",
            "https://a:08",
            "https://[::1",
            "https://[zz::1]",
            "https://a b",
        ] {
            assert!(
                matches!(
                    Registry::parse(bad),
                    Err(EventError::InvalidRegistry { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn integrity() {
        let good = Integrity::of(b"tarball");
        assert_eq!(Integrity::parse(&good.to_string()), Ok(good));
        assert_eq!(
            good.digest(),
            Integrity::from_digest(*good.digest()).digest()
        );
        let b64_63 = STANDARD.encode([7u8; 63]);
        let b64_64 = STANDARD.encode([7u8; 64]);
        for (bad, why) in [
            (
                format!("sha256-{}", STANDARD.encode([7u8; 32])),
                "only sha512",
            ),
            (format!("sha512-{b64_63}"), "63 bytes"),
            (format!("sha512-{b64_64} sha512-{b64_64}"), "single"),
            (format!("sha512-{}", b64_64.trim_end_matches('=')), "base64"),
            (format!("sha512-{b64_64}?opt"), "base64"),
            ("sha512".to_owned(), "start with"),
            (format!("sha512-{}", "A".repeat(200)), "longer"),
        ] {
            match Integrity::parse(&bad) {
                Err(e @ EventError::InvalidIntegrity { .. }) => {
                    assert!(e.to_string().contains(why), "{bad}: {e}");
                    assert!(e.to_string().contains("`integrity`"), "{e}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse("2026-05-12T09:30:00.500+02:00").unwrap();
        assert_eq!(t.as_str(), "2026-05-12T09:30:00.5+02:00");
        assert_eq!(Timestamp::parse(t.as_str()), Ok(t.clone()));
        assert_eq!(t.get().unix_timestamp(), 1_778_571_000);
        for bad in [
            "2026-05-12",
            "2026-05-12 09:30:00Z",
            "2026-13-01T00:00:00Z",
            "yesterday",
        ] {
            assert!(
                matches!(Timestamp::parse(bad), Err(EventError::InvalidTime { .. })),
                "{bad}"
            );
        }
        // RFC 3339 has no negative years and no offsets with seconds.
        let negative = OffsetDateTime::UNIX_EPOCH.replace_year(-1).unwrap();
        assert!(matches!(
            Timestamp::new(negative),
            Err(EventError::InvalidTime { .. })
        ));
        let odd = time::UtcOffset::from_hms(0, 0, 30).unwrap();
        assert!(Timestamp::new(OffsetDateTime::UNIX_EPOCH.to_offset(odd)).is_err());
    }
}
