//! Which registry a lockfile entry comes from, as the log names it: the
//! registry's host (with its port, if not the scheme's default).
//!
//! The log keys every index by (registry host, package), so `gatelog verify`
//! asks for each release at its registry and ignores any event of another
//! registry that a log puts into a bundle. `http://` and `https://` origins
//! of the same host are the same registry; so are `https://host` and
//! `https://host:443`.

use gatelog_core::event::Registry;

/// The registry used for entries that do not say where they come from
/// (no `resolved` URL), unless `--registry` or the policy file says
/// otherwise.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";

/// The registry host of `text`: an origin (`https://registry.npmjs.org`), a
/// URL on the registry (a `resolved` tarball URL), or a bare host
/// (`registry.npmjs.org`, `localhost:4873`). Host names are compared in
/// lowercase; the scheme's default port is dropped.
pub fn host_of(text: &str) -> Result<String, String> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, text),
    };
    if let Some(scheme) = &scheme
        && scheme != "https"
        && scheme != "http"
    {
        return Err(format!("{text:?} is not an http(s) registry URL"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!("{text:?}: a registry URL must not hold user info"));
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_deref() {
        Some("http") => ":80",
        _ => ":443",
    };
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(&authority)
        .to_owned();
    // The event schema's own rules for a registry origin.
    Registry::parse(&format!("https://{authority}"))
        .map_err(|e| format!("{text:?} does not name a registry: {e}"))?;
    Ok(authority)
}

/// The host of a logged event's registry, normalised as [`host_of`].
pub fn host_of_registry(registry: &Registry) -> String {
    host_of(registry.as_str()).unwrap_or_else(|_| registry.host().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_urls_and_hosts_name_the_same_registry() {
        for text in [
            "https://registry.npmjs.org",
            "http://registry.npmjs.org",
            "https://registry.npmjs.org/",
            "https://registry.npmjs.org:443",
            "HTTPS://Registry.NPMJS.org",
            "registry.npmjs.org",
            "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "http://registry.npmjs.org:80/@scope%2fa/-/a-1.0.0.tgz?x#y",
        ] {
            assert_eq!(host_of(text).unwrap(), "registry.npmjs.org", "{text}");
        }
        assert_eq!(
            host_of("http://localhost:4873/a/-/a-1.0.0.tgz").unwrap(),
            "localhost:4873"
        );
        assert_eq!(host_of("https://r.example:80").unwrap(), "r.example:80");
        for bad in [
            "ftp://registry.npmjs.org",
            "https://user@registry.npmjs.org/x",
            "https://",
            "https://bad host/",
            "https://r.example:99999",
        ] {
            assert!(host_of(bad).is_err(), "{bad}");
        }
        let r = Registry::parse("http://registry.example:443").unwrap();
        assert_eq!(host_of_registry(&r), "registry.example:443");
        let r = Registry::parse("https://registry.example:443").unwrap();
        assert_eq!(host_of_registry(&r), "registry.example");
    }
}
